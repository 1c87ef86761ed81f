//! What every service of the rollup (sequencer node, bridge, proposer, challenger) shares, so
//! operators meet the same conventions everywhere:
//!
//! - [`config`]: a TOML file plus `--set key.path=value` overrides from the command line;
//! - [`telemetry`]: `tracing` logs (filter from `RUST_LOG`), a Prometheus registry, and the
//!   `/health` and `/metrics` routes to merge into the service's own HTTP router;
//! - [`shutdown`]: a token cancelled on SIGTERM or Ctrl-C, for graceful shutdown.

pub mod config;
pub mod shutdown;
pub mod telemetry;

pub use config::{load_config, string_override, ConfigArgs, ConfigError};
pub use shutdown::shutdown_token;
pub use telemetry::{init_tracing, ops_router, serve, Health, Metrics};
