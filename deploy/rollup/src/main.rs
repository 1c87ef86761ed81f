//! `rollup-deploy`: deploy the L1 contracts and originate a rollup, then write the deployment
//! JSON. `rollup-deploy --help` lists the flags; the config is documented in `docs/contracts.md`.

use std::path::PathBuf;

use clap::Parser;
use rollup_deploy::{deploy, DeployConfig, VerifierKind};

#[derive(Parser, Debug)]
#[command(name = "rollup-deploy", about = "Deploy the rollup's L1 contracts and originate a rollup")]
struct Cli {
    #[command(flatten)]
    config: service_kit::ConfigArgs,
    /// The L1 JSON-RPC URL (l1.rpc_url).
    #[arg(long)]
    rpc_url: Option<String>,
    /// The deployer's private key, hex (l1.private_key).
    #[arg(long, env = "DEPLOYER_KEY", hide_env_values = true)]
    private_key: Option<String>,
    /// The kernel wasm file (rollup.kernel).
    #[arg(long)]
    kernel: Option<PathBuf>,
    /// The genesis state hash (rollup.genesis_state_hash).
    #[arg(long)]
    genesis_state_hash: Option<String>,
    /// committee, permissioned or permissionless (verifier.kind).
    #[arg(long)]
    verifier: Option<String>,
    /// Where to write the deployment JSON (output.deployment_json).
    #[arg(long)]
    out: Option<PathBuf>,
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    service_kit::init_tracing("info");
    let cli = Cli::parse();
    let path = |p: &Option<PathBuf>| p.as_ref().map(|p| p.display().to_string());
    let shorthands = [
        service_kit::string_override("l1.rpc_url", cli.rpc_url.as_ref()),
        service_kit::string_override("rollup.kernel", path(&cli.kernel)),
        service_kit::string_override("rollup.genesis_state_hash", cli.genesis_state_hash.as_ref()),
        service_kit::string_override("verifier.kind", cli.verifier.as_ref()),
        service_kit::string_override("output.deployment_json", path(&cli.out)),
    ];
    let config: DeployConfig = cli.config.load(shorthands.into_iter().flatten())?;
    let key = cli
        .private_key
        .clone()
        .or_else(|| config.l1.private_key.clone())
        .ok_or_else(|| anyhow::anyhow!("no deployer key: pass --private-key, set $DEPLOYER_KEY or l1.private_key"))?;
    if config.verifier.kind == VerifierKind::Committee && config.verifier.dev_seed.is_some() {
        tracing::warn!("using a development committee (verifier.dev_seed): anyone who knows the seed can sign batches");
    }
    let deployment = deploy(&config, &key).await?;
    deployment.save(&config.output.deployment_json)?;
    tracing::info!(path = %config.output.deployment_json.display(), rollup = %deployment.rollup, "deployment written");
    println!("{}", serde_json::to_string_pretty(&deployment)?);
    Ok(())
}
