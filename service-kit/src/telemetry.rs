//! Logs, metrics and health.

use std::net::SocketAddr;
use std::sync::{Arc, Mutex};

use axum::extract::State;
use axum::http::{header, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::{Json, Router};
use prometheus_client::registry::Registry;
use tokio_util::sync::CancellationToken;

/// Sets up `tracing` for a service: human-readable lines on stderr, filtered by `RUST_LOG`
/// (default `default_filter`, e.g. `"info"`). Safe to call more than once (later calls no-op).
pub fn init_tracing(default_filter: &str) {
    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new(default_filter));
    let _ = tracing_subscriber::fmt().with_env_filter(filter).with_writer(std::io::stderr).try_init();
}

/// A service's Prometheus registry. Register metrics at start-up through [`Metrics::register`];
/// `/metrics` renders them in the text exposition format.
#[derive(Clone, Default)]
pub struct Metrics(Arc<Mutex<Registry>>);

impl Metrics {
    /// A registry whose metric names all start with `prefix_`.
    pub fn new(prefix: &str) -> Self {
        Metrics(Arc::new(Mutex::new(Registry::with_prefix(prefix))))
    }

    /// Registers a metric (a `Counter`, `Gauge`, `Histogram` or `Family` of them).
    pub fn register(&self, name: &str, help: &str, metric: impl prometheus_client::registry::Metric) {
        self.0.lock().unwrap_or_else(|e| e.into_inner()).register(name, help, metric);
    }

    /// The text exposition.
    pub fn render(&self) -> String {
        let mut out = String::new();
        let reg = self.0.lock().unwrap_or_else(|e| e.into_inner());
        // Writing to a String cannot fail.
        let _ = prometheus_client::encoding::text::encode(&mut out, &reg);
        out
    }
}

/// What `/health` reports: a status that says whether the service is doing its job, and
/// details (heights, peers, lag...) for operators.
#[derive(Clone)]
pub struct Health(Arc<dyn Fn() -> (bool, serde_json::Value) + Send + Sync>);

impl Health {
    /// A health check computed on each request: `(healthy, details)`.
    pub fn new(f: impl Fn() -> (bool, serde_json::Value) + Send + Sync + 'static) -> Self {
        Health(Arc::new(f))
    }

    /// Always healthy, no details.
    pub fn always_ok() -> Self {
        Health::new(|| (true, serde_json::json!({})))
    }
}

#[derive(Clone)]
struct OpsState {
    metrics: Metrics,
    health: Health,
}

/// `/health` (200 or 503, JSON) and `/metrics` (Prometheus text), to merge into a service router.
pub fn ops_router(metrics: Metrics, health: Health) -> Router {
    Router::new()
        .route("/health", get(health_handler))
        .route("/metrics", get(metrics_handler))
        .with_state(OpsState { metrics, health })
}

async fn health_handler(State(s): State<OpsState>) -> Response {
    let (ok, details) = (s.health.0)();
    let status = if ok { StatusCode::OK } else { StatusCode::SERVICE_UNAVAILABLE };
    let body = serde_json::json!({ "status": if ok { "ok" } else { "unhealthy" }, "details": details });
    (status, Json(body)).into_response()
}

async fn metrics_handler(State(s): State<OpsState>) -> Response {
    (
        [(header::CONTENT_TYPE, "application/openmetrics-text; version=1.0.0; charset=utf-8")],
        s.metrics.render(),
    )
        .into_response()
}

/// Serves `router` on `addr` until `shutdown` is cancelled, then drains open requests. Returns
/// the bound address (useful with port 0) once listening, and the server task.
pub async fn serve(
    addr: SocketAddr,
    router: Router,
    shutdown: CancellationToken,
) -> anyhow::Result<(SocketAddr, tokio::task::JoinHandle<()>)> {
    let listener = tokio::net::TcpListener::bind(addr)
        .await
        .map_err(|e| anyhow::anyhow!("cannot listen on {addr}: {e}"))?;
    let local = listener.local_addr()?;
    let task = tokio::spawn(async move {
        let res = axum::serve(listener, router).with_graceful_shutdown(async move { shutdown.cancelled().await }).await;
        if let Err(e) = res {
            tracing::error!("HTTP server on {local} failed: {e}");
        }
    });
    Ok((local, task))
}
