//! Deploys the rollup's L1 contracts and originates a rollup, on anvil or any RPC URL.
//!
//! The `rollup-deploy` binary reads a TOML config ([`DeployConfig`]; `deploy/rollup/devnet.toml`
//! is the devnet's) with `--set` and flag overrides, deploys the sequencer verifier (committee,
//! permissioned or permissionless) and the factory unless it is told to reuse them, originates
//! the rollup, and writes the deployment JSON ([`Deployment`]) that the bridge, the sequencer's
//! poster, the proposer, the challenger and the devnet read with [`Deployment::load`].

pub mod config;
mod deployer;
pub mod deployment;

pub use config::{DeployConfig, VerifierKind};
pub use deployer::{committee_from_config, deploy, deploy_with, DeployError};
pub use deployment::{CommitteeDeployment, Deployment, DeploymentFileError, RollupParameters, VerifierDeployment};
