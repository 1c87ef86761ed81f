//! `rollup`: the user client of the transfer rollup. `rollup --help` lists the commands.

use std::path::PathBuf;
use std::time::Duration;

use alloy::signers::local::PrivateKeySigner;
use anyhow::{Context, Result};
use clap::{Parser, Subcommand};
use rollup_client::{parse_account, parse_amount, Client, Endpoints, KeyFile};
use transfer_tx::Operation;

/// The user client of the rollup: L2 keys, deposits, transfers, withdrawals, outbox execution.
#[derive(Parser, Debug)]
#[command(version, about)]
struct Cli {
    /// The bridge's API.
    #[arg(long, env = "ROLLUP_BRIDGE", default_value = "http://127.0.0.1:7100", global = true)]
    bridge: String,
    /// A sequencer node's API.
    #[arg(long, env = "ROLLUP_SEQUENCER", default_value = "http://127.0.0.1:7200", global = true)]
    sequencer: String,
    /// A rollup node's RPC.
    #[arg(long, env = "ROLLUP_NODE", default_value = "http://127.0.0.1:7300", global = true)]
    node: String,
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand, Debug)]
enum Command {
    /// Creates an L2 key and writes it to a file (default `rollup-key.json`).
    Keygen {
        /// Where to write it.
        #[arg(long, default_value = "rollup-key.json")]
        out: PathBuf,
    },
    /// Shows an account's balance and nonce.
    Balance {
        /// The account (hex); or use --key.
        account: Option<String>,
        /// A key file whose account to show.
        #[arg(long)]
        key: Option<PathBuf>,
    },
    /// Deposits ETH from an L1 account into an L2 account.
    Deposit {
        /// The L1 private key paying (hex, or env:VAR).
        #[arg(long, env = "ROLLUP_L1_KEY")]
        l1_key: String,
        /// Amount: wei, or e.g. 1.5eth.
        #[arg(long)]
        amount: String,
        /// The L2 account credited (hex); or use --key.
        #[arg(long)]
        to: Option<String>,
        /// A key file whose account is credited.
        #[arg(long)]
        key: Option<PathBuf>,
        /// Wait until the rollup node shows the credit.
        #[arg(long)]
        wait: bool,
    },
    /// Sends a signed transfer to another L2 account.
    Transfer {
        /// The key file of the paying account.
        #[arg(long)]
        key: PathBuf,
        /// The recipient account (hex).
        #[arg(long)]
        to: String,
        /// Amount: wei, or e.g. 0.1eth.
        #[arg(long)]
        amount: String,
        /// Wait until the rollup node executed it.
        #[arg(long)]
        wait: bool,
    },
    /// Withdraws to an L1 address: executable on the L1 once its level is cemented.
    Withdraw {
        /// The key file of the paying account.
        #[arg(long)]
        key: PathBuf,
        /// The L1 address receiving the ETH.
        #[arg(long)]
        l1_recipient: String,
        /// Amount: wei, or e.g. 0.1eth.
        #[arg(long)]
        amount: String,
        /// Wait until the rollup node executed it.
        #[arg(long)]
        wait: bool,
    },
    /// Lists outbox messages with their status (executable, executed, not cemented).
    Outbox {
        /// First level.
        #[arg(long)]
        from: Option<u32>,
        /// Last level.
        #[arg(long)]
        to: Option<u32>,
    },
    /// Executes an outbox message on the L1 (a withdrawal pays out).
    Execute {
        /// Its level.
        #[arg(long)]
        level: u32,
        /// Its index in the level.
        #[arg(long)]
        index: u32,
        /// Pay the L1 gas from this key (hex, or env:VAR) instead of the bridge's execute key.
        #[arg(long)]
        l1_key: Option<String>,
    },
}

fn load_l1_key(spec: &str) -> Result<PrivateKeySigner> {
    bridge::config::load_key(spec)
}

fn account_arg(account: Option<String>, key: Option<PathBuf>) -> Result<transfer_tx::AccountId> {
    match (account, key) {
        (Some(a), _) => parse_account(&a),
        (None, Some(k)) => KeyFile::load(&k)?.account(),
        (None, None) => anyhow::bail!("give an account (hex) or --key FILE"),
    }
}

#[tokio::main]
async fn main() {
    if let Err(e) = run().await {
        eprintln!("error: {e:#}");
        std::process::exit(1);
    }
}

async fn run() -> Result<()> {
    let cli = Cli::parse();
    let client = Client::new(Endpoints { bridge: cli.bridge, sequencer: cli.sequencer, node: cli.node });
    match cli.command {
        Command::Keygen { out } => {
            if out.exists() {
                anyhow::bail!("{} exists; refusing to overwrite a key", out.display());
            }
            let k = KeyFile::generate()?;
            std::fs::write(&out, serde_json::to_string_pretty(&k)?).with_context(|| format!("writing {}", out.display()))?;
            println!("account {}\nkey written to {}", k.account, out.display());
        }
        Command::Balance { account, key } => {
            let a = account_arg(account, key)?;
            let b = client.balance(&a).await?;
            println!("account {}\nbalance {} wei\nnonce   {}\n(at level {})", hex::encode(a.0), b.balance, b.nonce, b.level);
        }
        Command::Deposit { l1_key, amount, to, key, wait } => {
            let signer = load_l1_key(&l1_key)?;
            let to = account_arg(to, key)?;
            let amount = parse_amount(&amount)?;
            let before = client.balance(&to).await.map(|b| b.balance).unwrap_or(0);
            let index = client.deposit(&signer, &to, amount).await?;
            println!("deposited {amount} wei from {} (delayed message {index})", signer.address());
            if wait {
                let start = std::time::Instant::now();
                loop {
                    let b = client.balance(&to).await?;
                    if b.balance >= before + amount {
                        println!("credited: balance {} wei at level {}", b.balance, b.level);
                        break;
                    }
                    if start.elapsed() > Duration::from_secs(120) {
                        anyhow::bail!("not credited after 2 minutes (is the poster including delayed messages?)");
                    }
                    tokio::time::sleep(Duration::from_millis(250)).await;
                }
            }
        }
        Command::Transfer { key, to, amount, wait } => {
            let k = KeyFile::load(&key)?;
            let op = Operation::Transfer { to: parse_account(&to)?, amount: parse_amount(&amount)? };
            let (hash, nonce) = client.send(&k, op).await?;
            println!("submitted transfer {hash} (nonce {nonce})");
            if wait {
                let b = client.wait_nonce(&k.account()?, nonce, Duration::from_secs(60)).await?;
                println!("executed at level {}: balance {} wei", b.level, b.balance);
            }
        }
        Command::Withdraw { key, l1_recipient, amount, wait } => {
            let k = KeyFile::load(&key)?;
            let recipient: protocol::Address = l1_recipient.parse().map_err(|e| anyhow::anyhow!("--l1-recipient: {e}"))?;
            let op = Operation::Withdrawal { recipient, amount: parse_amount(&amount)? };
            let (hash, nonce) = client.send(&k, op).await?;
            println!("submitted withdrawal {hash} (nonce {nonce})");
            if wait {
                let b = client.wait_nonce(&k.account()?, nonce, Duration::from_secs(60)).await?;
                println!("executed at level {}: balance {} wei; `rollup outbox` shows when it becomes executable", b.level, b.balance);
            }
        }
        Command::Outbox { from, to } => {
            let list = client.outbox(from, to).await?;
            if list.is_empty() {
                println!("no outbox messages");
            }
            for m in list {
                let calls = m
                    .entry
                    .calls
                    .map(|cs| cs.iter().map(|c| format!("{} wei -> {}", c.value, c.destination)).collect::<Vec<_>>().join(", "))
                    .unwrap_or_else(|| "not a valid L1 call batch".into());
                println!("level {:>6} index {:>3}  {:<13} {}", m.level, m.entry.index, m.status, calls);
            }
        }
        Command::Execute { level, index, l1_key } => {
            let key = l1_key.as_deref().map(load_l1_key).transpose()?;
            let mined = client.execute(level, index, key.as_ref()).await?;
            println!("executed outbox message {index} of level {level} in L1 block {} (tx {})", mined.l1_block, mined.tx_hash);
        }
    }
    Ok(())
}
