//! `pvm`: run a kernel on inputs without a network, the way kernel authors test (the seeds'
//! `octez-wasm-repl`, non-interactive).
//!
//! ```text
//! pvm run --kernel K.wasm --inputs inputs.json [--engine fast|reference] [--preimages DIR] [--rollup 0x<20 bytes>] [--json]
//! pvm trace --kernel K.wasm --inputs inputs.json --level L [--run R] --tick T [--around N]
//! pvm states --kernel K.wasm --inputs inputs.json --level L [--run R] --ticks T1,T2,...
//! pvm prove  --kernel K.wasm --inputs inputs.json --level L [--run R] --tick T [--out proof.bin]
//! pvm validate K.wasm
//! pvm genesis K.wasm [--rollup 0x<20 bytes>]
//! ```

mod inputs;

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::sync::Arc;

use anyhow::{Context, Result};
use clap::{Parser, Subcommand};
use protocol::{Address, InfoPerLevel, RollupMetadata};
use pvm::{Compiler, EngineKind, Key, LevelInput, Pvm, PvmConfig, PvmError, RunEnd};
use serde_json::json;

#[derive(Parser)]
#[command(name = "pvm", version, about = "Run and check PVM kernels without a network")]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(clap::Args)]
struct RollupArgs {
    /// The rollup address `reveal_metadata` reports.
    #[arg(long, default_value = "0x0000000000000000000000000000000000000000")]
    rollup: Address,
    /// The origination level `reveal_metadata` reports.
    #[arg(long, default_value_t = 0)]
    origination_level: u32,
    /// Ticks per kernel_run.
    #[arg(long, default_value_t = pvm::state::DEFAULT_TICK_BUDGET)]
    tick_budget: u64,
    /// The machine that runs the kernel: `fast` (wasmer) or `reference` (the tick-level
    /// reference machine). Both print the same results.
    #[arg(long, default_value = "fast")]
    engine: EngineKind,
    /// wasmer compiler for the fast engine: cranelift or singlepass.
    #[arg(long, default_value = "cranelift")]
    compiler: Compiler,
}

#[derive(clap::Args)]
struct ReplayArgs {
    /// The kernel, binary (.wasm) or text (.wat).
    #[arg(long)]
    kernel: PathBuf,
    /// The seeds' inputs file (levels up to `--level` are run first if the state lacks them).
    #[arg(long)]
    inputs: PathBuf,
    /// The level (from 1).
    #[arg(long)]
    level: u32,
    /// The run of that level (from 0).
    #[arg(long, default_value_t = 0)]
    run: usize,
    /// Directory of reveal pages.
    #[arg(long)]
    preimages: Option<PathBuf>,
    /// A state directory (a `pvm run --state-dir`, or a rollup node's PVM state) to start from.
    #[arg(long)]
    state_dir: Option<PathBuf>,
    /// One JSON object per line.
    #[arg(long)]
    json: bool,
    #[command(flatten)]
    rollup: RollupArgs,
}

#[derive(Subcommand)]
enum Command {
    /// Run a kernel (.wasm or .wat) on levels of inputs and print, per level, the debug output,
    /// the outbox and the state hash, then the durable storage.
    Run {
        /// The kernel, binary (.wasm) or text (.wat).
        #[arg(long)]
        kernel: PathBuf,
        /// The seeds' inputs file: a JSON array of levels, each an array of messages.
        #[arg(long)]
        inputs: Option<PathBuf>,
        /// Directory of reveal pages, each in a file named by its hash in hex.
        #[arg(long)]
        preimages: Option<PathBuf>,
        /// Print one JSON object per line instead of text.
        #[arg(long)]
        json: bool,
        /// Keep the state here (and continue from it if it exists) instead of a temporary
        /// directory.
        #[arg(long)]
        state_dir: Option<PathBuf>,
        #[command(flatten)]
        rollup: RollupArgs,
    },
    /// Replay one run of a level on the reference machine and print its ticks around a given
    /// tick: instruction, stack top, call depth, memory written.
    Trace {
        #[command(flatten)]
        replay: ReplayArgs,
        /// The tick (within the run) to show.
        #[arg(long)]
        tick: u64,
        /// Ticks shown before and after it.
        #[arg(long, default_value_t = 8)]
        around: u64,
    },
    /// Print the state hashes of one run of a level at the given ticks (within the run): the
    /// points a dissection of that run asks for.
    States {
        #[command(flatten)]
        replay: ReplayArgs,
        /// Ticks within the run, increasing, comma-separated.
        #[arg(long, value_delimiter = ',', required = true)]
        ticks: Vec<u64>,
    },
    /// Prove one tick of a run: writes the proof (docs/pvm.md section 9.5) and prints the
    /// state hashes before and after it, checked by the Rust verifier.
    Prove {
        #[command(flatten)]
        replay: ReplayArgs,
        /// The tick (within the run).
        #[arg(long)]
        tick: u64,
        /// Where to write the proof.
        #[arg(long, default_value = "proof.bin")]
        out: PathBuf,
    },
    /// Check that a module is a valid kernel, saying what is wrong if not.
    Validate {
        /// The kernel, binary (.wasm) or text (.wat).
        kernel: PathBuf,
    },
    /// Print the genesis state hash of a rollup running this kernel (for origination).
    Genesis {
        /// The kernel, binary (.wasm) or text (.wat).
        kernel: PathBuf,
        #[command(flatten)]
        rollup: RollupArgs,
    },
}

fn read_kernel(path: &Path) -> Result<Vec<u8>> {
    let bytes = std::fs::read(path).with_context(|| format!("reading kernel {}", path.display()))?;
    if bytes.starts_with(b"\0asm") {
        return Ok(bytes);
    }
    wat::parse_bytes(&bytes).map(|b| b.into_owned()).with_context(|| format!("{} is neither binary WebAssembly nor valid WAT", path.display()))
}

fn config(r: &RollupArgs, preimages: Option<&Path>) -> PvmConfig {
    let mut c = PvmConfig::new(RollupMetadata { address: r.rollup, origination_level: r.origination_level });
    c.tick_budget = r.tick_budget;
    c.compiler = r.compiler;
    c.engine = r.engine;
    if let Some(dir) = preimages {
        c.preimages = Arc::new(pvm::PreimageDir::new(dir));
    }
    c
}

/// Text when UTF-8 (as kernels print), hex otherwise.
fn debug_text(b: &[u8]) -> String {
    match std::str::from_utf8(b) {
        Ok(s) => s.to_string(),
        Err(_) => hex::encode(b),
    }
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    // Replays report their progress (info); runs only warnings.
    let default = if matches!(cli.command, Command::Trace { .. } | Command::States { .. } | Command::Prove { .. }) { "info" } else { "warn" };
    tracing_subscriber::fmt()
        .with_env_filter(tracing_subscriber::EnvFilter::try_from_default_env().unwrap_or_else(|_| default.into()))
        .with_writer(std::io::stderr)
        .init();
    match cli.command {
        Command::Validate { kernel } => match read_kernel(&kernel).and_then(|b| Ok(pvm_validate::validate(&b)?)) {
            Ok(info) => {
                let imports: Vec<String> = info.imports.iter().map(|i| i.to_string()).collect();
                println!("{}: valid kernel (memory exported as \"{}\"; imports: {})", kernel.display(), info.memory_export, if imports.is_empty() { "none".into() } else { imports.join(", ") });
                ExitCode::SUCCESS
            }
            Err(e) => {
                eprintln!("{}: {e:#}", kernel.display());
                ExitCode::FAILURE
            }
        },
        Command::Genesis { kernel, rollup } => match read_kernel(&kernel).and_then(|b| Ok(Pvm::genesis(&b, &config(&rollup, None))?)) {
            Ok(r) => {
                println!("{}", json!({"state_hash": r.state_hash.to_string(), "pvm_root": r.pvm_root.to_string(), "outbox_root": r.outbox_root.to_string()}));
                ExitCode::SUCCESS
            }
            Err(e) => {
                eprintln!("error: {e:#}");
                ExitCode::FAILURE
            }
        },
        Command::Trace { replay, tick, around } => replayed(trace(&replay, tick, around)),
        Command::Prove { replay, tick, out } => replayed(prove(&replay, tick, &out)),
        Command::States { replay, ticks } => replayed(states(&replay, &ticks)),
        Command::Run { kernel, inputs, preimages, json, state_dir, rollup } => {
            match run(&kernel, inputs.as_deref(), preimages.as_deref(), json, state_dir.as_deref(), &rollup) {
                Ok(code) => code,
                Err(e) => {
                    eprintln!("error: {e:#}");
                    ExitCode::from(2)
                }
            }
        }
    }
}

/// The exit code of a replay command: 0, or 2 with the error on standard error.
fn replayed(result: Result<()>) -> ExitCode {
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e:#}");
            ExitCode::from(2)
        }
    }
}

/// The inbox of `level` as `pvm run` frames it: start of level, info per level (timestamp 0,
/// zero block hash), the file's messages, end of level.
fn level_input(level: u32, messages: Vec<Vec<u8>>) -> LevelInput {
    let input = LevelInput::new(level, InfoPerLevel { timestamp_ms: 0, block_hash: protocol::Hash32::ZERO }, &[], &[]);
    let mut all = input.messages;
    let eol = all.pop().unwrap_or_default();
    all.extend(messages);
    all.push(eol);
    LevelInput { level, messages: all }
}

/// The inputs file's levels.
fn read_inputs(args: &ReplayArgs) -> Result<Vec<Vec<Vec<u8>>>> {
    Ok(inputs::parse(&std::fs::read_to_string(&args.inputs).with_context(|| format!("reading inputs {}", args.inputs.display()))?)?)
}

/// A PVM that has processed `args.level`, running the inputs' levels it lacks (with progress
/// on standard error), and that level's inbox.
fn prepare(args: &ReplayArgs, levels: &[Vec<Vec<u8>>]) -> Result<(Pvm, LevelInput, Option<tempfile::TempDir>)> {
    let bytes = read_kernel(&args.kernel)?;
    anyhow::ensure!(args.level >= 1, "levels are numbered from 1");
    let Some(messages) = levels.get(args.level as usize - 1).cloned() else {
        anyhow::bail!("the inputs have {} levels; there is no level {}", levels.len(), args.level)
    };
    let (dir, tmp) = match &args.state_dir {
        Some(d) => (d.clone(), None),
        None => {
            let t = tempfile::tempdir().context("creating a temporary state directory")?;
            (t.path().to_path_buf(), Some(t))
        }
    };
    let mut pvm = Pvm::open_or_create(&dir, &bytes, config(&args.rollup, args.preimages.as_deref()))?;
    while pvm.head().level < args.level {
        let level = pvm.head().level + 1;
        eprintln!("running level {level} of {}...", args.level);
        pvm.run_level(level_input(level, levels[level as usize - 1].clone()))?;
    }
    Ok((pvm, level_input(args.level, messages), tmp))
}

fn trace(args: &ReplayArgs, tick: u64, around: u64) -> Result<()> {
    let (mut pvm, input, _tmp) = prepare(args, &read_inputs(args)?)?;
    let lines = pvm.trace_run(input, args.run, tick.saturating_sub(around), tick.saturating_add(around).saturating_add(1))?;
    let out = std::io::stdout();
    let mut out = out.lock();
    for l in lines {
        let instr = match (l.instr, l.driver) {
            (Some(i), _) => format!("{:?} {:#x}", i.op, i.imm),
            (None, Some(d)) => format!("(driver: {d})"),
            (None, None) => "(padding)".into(),
        };
        let mem: Vec<String> = l.memory_written.iter().map(|a| format!("{a:#x}")).collect();
        if args.json {
            writeln!(out, "{}", json!({"tick": l.run_tick, "pc": l.pc, "instruction": instr, "stack_top": l.stack_top, "depth": l.depth, "memory_written": mem, "ended": l.ended}))?;
        } else {
            let mark = if l.run_tick == tick { ">" } else { " " };
            let stack: Vec<String> = l.stack_top.iter().map(|v| format!("{v:#x}")).collect();
            write!(out, "{mark}{:>12} pc {:>7} depth {:>3}  {instr:<28} stack [{}]", l.run_tick, l.pc, l.depth, stack.join(", "))?;
            if !mem.is_empty() {
                write!(out, " wrote {}", mem.join(" "))?;
            }
            if let Some(e) = &l.ended {
                write!(out, "  => {e}")?;
            }
            writeln!(out)?;
        }
    }
    Ok(())
}

fn prove(args: &ReplayArgs, tick: u64, out_path: &Path) -> Result<()> {
    let levels = read_inputs(args)?;
    let (mut pvm, input, _tmp) = prepare(args, &levels)?;
    // No L1 here: the levels are posted to a synthetic one, a batch each, so that `read_input`
    // steps can be proven against its accumulator (levels of another shape cannot be).
    let mut l1 = pvm::SyntheticL1::new();
    for (level, messages) in (1..=args.level).zip(levels) {
        if let Err(e) = l1.post_level(level, &level_input(level, messages).messages) {
            tracing::debug!("level {level} is not an L1 level: {e}");
        }
    }
    let started = std::time::Instant::now();
    let p = pvm.prove_tick(input, args.run, tick, l1.level(args.level))?;
    let seconds = started.elapsed().as_secs_f64();
    // The kernel registry the L1 would hold: the module root of the kernel the state runs.
    let kernels = pvm.module_roots(args.level)?;
    let config = pvm.config();
    let ctx = pvm::StepContext { tick_budget: config.tick_budget, metadata: config.metadata, inbox: &l1, preimages: config.preimages.as_ref(), kernels: &kernels };
    let verified = pvm::verify_step(&p.pre.state_hash, &p.proof, &ctx).context("the Rust verifier rejects the proof")?;
    anyhow::ensure!(verified == p.post.state_hash, "the Rust verifier disagrees with the machine on tick {tick}");
    std::fs::write(out_path, &p.proof).with_context(|| format!("writing {}", out_path.display()))?;
    let (pre, post) = (protocol::Hash32(p.pre.state_hash), protocol::Hash32(p.post.state_hash));
    if args.json {
        println!("{}", json!({"tick": tick, "pre_state_hash": pre.to_string(), "post_state_hash": post.to_string(), "proof": out_path.display().to_string(), "bytes": p.proof.len(), "seconds": seconds}));
    } else {
        println!("tick {tick}: {pre} -> {post}; proof of {} bytes in {} (verified, {seconds:.2} s)", p.proof.len(), out_path.display());
    }
    Ok(())
}

fn states(args: &ReplayArgs, ticks: &[u64]) -> Result<()> {
    let (mut pvm, input, _tmp) = prepare(args, &read_inputs(args)?)?;
    let started = std::time::Instant::now();
    let states = pvm.run_states(input, args.run, ticks)?;
    eprintln!("{} states in {:.2} s", states.len(), started.elapsed().as_secs_f64());
    let out = std::io::stdout();
    let mut out = out.lock();
    let status = |s: u8| match s {
        0 => "level",
        1 => "running",
        2 => "returned",
        3 => "failed",
        _ => "next-run",
    };
    for s in states {
        let h = protocol::Hash32(s.state_hash);
        if args.json {
            writeln!(out, "{}", json!({"run_tick": s.run_tick, "tick": s.tick, "status": status(s.status), "state_hash": h.to_string()}))?;
        } else {
            writeln!(out, "{:>12} (tick {:>14}) {:<8} {h}", s.run_tick, s.tick, status(s.status))?;
        }
    }
    Ok(())
}

fn run(kernel: &Path, inputs: Option<&Path>, preimages: Option<&Path>, json_out: bool, state_dir: Option<&Path>, rollup: &RollupArgs) -> Result<ExitCode> {
    let bytes = read_kernel(kernel)?;
    let levels = match inputs {
        Some(p) => inputs::parse(&std::fs::read_to_string(p).with_context(|| format!("reading inputs {}", p.display()))?)?,
        None => vec![],
    };
    let tmp;
    let dir = match state_dir {
        Some(d) => d.to_path_buf(),
        None => {
            tmp = tempfile::tempdir().context("creating a temporary state directory")?;
            tmp.path().to_path_buf()
        }
    };
    let mut pvm = Pvm::open_or_create(&dir, &bytes, config(rollup, preimages))?;
    let out = std::io::stdout();
    let mut out = out.lock();
    let mut code = ExitCode::SUCCESS;
    for messages in levels {
        let level = pvm.head().level + 1;
        match pvm.run_level(level_input(level, messages)) {
            Ok(o) => {
                if json_out {
                    let debug: Vec<String> = o.debug.iter().map(|d| debug_text(d)).collect();
                    let outbox: Vec<String> = o.outbox.iter().map(hex::encode).collect();
                    writeln!(out, "{}", json!({"level": level, "debug": debug, "outbox": outbox, "state_hash": o.record.state_hash.to_string()}))?;
                } else {
                    writeln!(out, "level {level}: state hash {}", o.record.state_hash)?;
                    for r in &o.runs {
                        match &r.end {
                            RunEnd::Completed { reboot: true } => writeln!(out, "  kernel_run: rebooted after reading {} inputs ({} ticks)", r.inputs_read, r.metered_ticks)?,
                            RunEnd::Completed { reboot: false } => writeln!(out, "  kernel_run: yielded after reading {} inputs ({} ticks)", r.inputs_read, r.metered_ticks)?,
                            RunEnd::Failed(why) => writeln!(out, "  kernel_run: FAILED ({why}); rolled back, stuck flag set")?,
                        }
                    }
                    for c in &o.kernel_changes {
                        writeln!(out, "  kernel: {c:?}")?;
                    }
                    for d in &o.debug {
                        writeln!(out, "  debug: {}", debug_text(d))?;
                    }
                    for m in &o.outbox {
                        writeln!(out, "  outbox: {}", hex::encode(m))?;
                    }
                }
            }
            Err(e @ (PvmError::Aborted { .. } | PvmError::Engine { .. })) => {
                // The level cannot be computed here (a missing preimage, say); the state stays
                // at the previous level, which is what gets printed below.
                if json_out {
                    writeln!(out, "{}", json!({"level": level, "error": e.to_string()}))?;
                } else {
                    writeln!(out, "level {level}: NOT COMPUTED: {e}")?;
                }
                code = ExitCode::from(3);
                break;
            }
            Err(e) => return Err(e.into()),
        }
    }
    let head = pvm.head();
    let mut view = pvm.view(head.level)?;
    let values = view.values_under(&Key::root())?;
    if json_out {
        let durable: serde_json::Map<String, serde_json::Value> =
            values.iter().map(|(k, v)| (k.to_string(), serde_json::Value::String(hex::encode(v)))).collect();
        writeln!(out, "{}", json!({ "durable": durable }))?;
    } else {
        writeln!(out, "durable storage after level {}:", head.level)?;
        for (k, v) in &values {
            let shown = if v.len() > 64 { format!("{}... ({} bytes)", hex::encode(&v[..64]), v.len()) } else { hex::encode(v) };
            writeln!(out, "  {k} = {shown}")?;
        }
    }
    Ok(code)
}
