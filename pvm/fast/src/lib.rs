//! Fast execution of kernels with wasmer.
//!
//! [`FastEngine`] validates and compiles kernels (cranelift by default, singlepass as an option),
//! caches compiled modules by kernel hash, and runs `kernel_run` on a fresh instance each time
//! (the seeds' transient state), metered with the tick cost table against a fixed budget and
//! limited to the seeds' 300-frame call stack. It does not decide what a failed run means for
//! the state: that is the PVM's level driver (crate `pvm`), which rolls a failed run back.

mod imports;
mod metering;
mod tunables;

use std::fmt;
use std::str::FromStr;
use std::sync::{Arc, Mutex};

use pvm_host::HostState;
pub use pvm_host::{Failure, RunOutcome, RunReport};
use pvm_validate::{KernelCache, KernelInfo};
pub use pvm_validate::LoadError;
use wasmer::sys::{BaseTunables, CompilerConfig, Cranelift, EngineBuilder, Singlepass};
use wasmer::{FunctionEnv, Instance, Module, Store, Value};

use crate::imports::Env;
use crate::metering::{MeterGlobals, Metering, STOP_CALL_DEPTH, STOP_OUT_OF_TICKS};

/// The wasmer compiler fast execution uses. The choice changes speed, never results.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub enum Compiler {
    /// Optimising compiler: slower to compile, faster code. The default.
    #[default]
    Cranelift,
    /// One-pass compiler: compiles in linear time, slower code.
    Singlepass,
}

impl fmt::Display for Compiler {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Compiler::Cranelift => "cranelift",
            Compiler::Singlepass => "singlepass",
        })
    }
}

impl FromStr for Compiler {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s {
            "cranelift" => Ok(Compiler::Cranelift),
            "singlepass" => Ok(Compiler::Singlepass),
            other => Err(format!("unknown compiler `{other}`: expected `cranelift` or `singlepass`")),
        }
    }
}

/// A validated, compiled kernel.
pub struct Kernel {
    hash: [u8; 32],
    module: Module,
    info: KernelInfo,
    globals: MeterGlobals,
}

impl Kernel {
    /// The hash it was loaded under.
    pub fn hash(&self) -> [u8; 32] {
        self.hash
    }

    /// What validation learned about it.
    pub fn info(&self) -> &KernelInfo {
        &self.info
    }
}

impl fmt::Debug for Kernel {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Kernel").field("hash", &hex(&self.hash)).finish()
    }
}

fn hex(b: &[u8]) -> String {
    b.iter().map(|x| format!("{x:02x}")).collect()
}

/// Compiles and runs kernels with one compiler.
pub struct FastEngine {
    compiler: Compiler,
    engine: wasmer::Engine,
    metering: Arc<Metering>,
    /// Compiles one module at a time (the metering middleware tracks the module it compiles).
    compile_lock: Mutex<()>,
    cache: KernelCache<Kernel>,
}

impl fmt::Debug for FastEngine {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("FastEngine").field("compiler", &self.compiler).finish()
    }
}

impl FastEngine {
    /// An engine compiling with `compiler`.
    pub fn new(compiler: Compiler) -> Self {
        wasmer::sys::vm::set_stack_size(tunables::WASM_STACK_SIZE);
        let metering = metering::new();
        let mut config: Box<dyn CompilerConfig> = match compiler {
            Compiler::Cranelift => Box::new(Cranelift::new()),
            Compiler::Singlepass => Box::new(Singlepass::new()),
        };
        config.push_middleware(metering.clone());
        // Every feature validation accepts that the compiler supports (singlepass lacks
        // multi-value; a kernel using it then fails to compile, see `LoadError::Compile`).
        let mut features = wasmer::sys::Features::new();
        features.bulk_memory(true).reference_types(true).multi_value(compiler == Compiler::Cranelift);
        let mut sys = EngineBuilder::new(config).set_features(Some(features)).engine();
        let base = BaseTunables::for_target(sys.target());
        sys.set_tunables(tunables::PvmTunables::new(base));
        FastEngine {
            compiler,
            engine: sys.into(),
            metering,
            compile_lock: Mutex::new(()),
            cache: KernelCache::default(),
        }
    }

    /// The compiler in use.
    pub fn compiler(&self) -> Compiler {
        self.compiler
    }

    /// The kernel compiled under `hash`, if it is cached.
    pub fn cached(&self, hash: &[u8; 32]) -> Option<Arc<Kernel>> {
        self.cache.get(hash)
    }

    /// Validates, compiles and test-instantiates `bytes`, caching the result under `hash` (the
    /// caller's name for these bytes: the PVM uses the durable value hash of the kernel).
    pub fn load(&self, hash: [u8; 32], bytes: &[u8]) -> Result<Arc<Kernel>, LoadError> {
        if let Some(k) = self.cached(&hash) {
            return Ok(k);
        }
        let info = pvm_validate::validate(bytes)?;
        let (module, globals) = {
            let _guard = self.compile_lock.lock().unwrap_or_else(|e| e.into_inner());
            let module = Module::new(&self.engine, bytes).map_err(|e| LoadError::Compile(e.to_string()))?;
            let globals = self.metering.last_globals().ok_or_else(|| LoadError::Compile("metering did not run".into()))?;
            (module, globals)
        };
        let kernel = Kernel { hash, module, info, globals };
        // Instantiation runs no code (kernels have no start function), so whether it succeeds
        // is a property of the module: check it once, here.
        let mut store = Store::new(self.engine.clone());
        let env = FunctionEnv::new(&mut store, Env { host: None, memory: None, abort: None });
        let externs = imports::externs(&mut store, &env, &kernel.info.imports);
        Instance::new_by_index(&mut store, &kernel.module, &externs).map_err(|e| LoadError::Initialise(e.to_string()))?;
        let kernel = self.cache.insert(hash, kernel);
        tracing::debug!(kernel = %hex(&hash), compiler = %self.compiler, "kernel compiled");
        Ok(kernel)
    }

    /// Runs `kernel_run` once on a fresh instance with at most `budget` ticks.
    pub fn run(&self, kernel: &Kernel, host: HostState, budget: u64) -> RunReport {
        let mut store = Store::new(self.engine.clone());
        let env = FunctionEnv::new(&mut store, Env { host: Some(host), memory: None, abort: None });
        let (outcome, ticks) =
            Self::execute(&mut store, &env, kernel, budget).unwrap_or_else(|e| (RunOutcome::EngineError(e), 0));
        let host = env.as_mut(&mut store).host.take().expect("the environment owns the host state until the run ends");
        RunReport { host, outcome, ticks }
    }

    fn execute(store: &mut Store, env: &FunctionEnv<Env>, kernel: &Kernel, budget: u64) -> Result<(RunOutcome, u64), String> {
        let externs = imports::externs(store, env, &kernel.info.imports);
        let instance = Instance::new_by_index(store, &kernel.module, &externs).map_err(|e| format!("instantiation: {e}"))?;
        let memory = instance.exports.get_memory(&kernel.info.memory_export).map_err(|e| e.to_string())?.clone();
        env.as_mut(store).memory = Some(memory);
        let remaining = instance.exports.get_global(&kernel.globals.remaining).map_err(|e| e.to_string())?.clone();
        let stop = instance.exports.get_global(&kernel.globals.stop).map_err(|e| e.to_string())?.clone();
        remaining.set(store, Value::I64(budget.min(i64::MAX as u64) as i64)).map_err(|e| e.to_string())?;
        let run = instance.exports.get_function("kernel_run").map_err(|e| e.to_string())?.clone();
        let result = run.call(store, &[]);
        let left = match remaining.get(store) {
            Value::I64(v) => v.max(0) as u64,
            _ => 0,
        };
        let outcome = match result {
            Ok(_) => RunOutcome::Completed,
            Err(trap) => match env.as_mut(store).abort.take() {
                Some(abort) => RunOutcome::Aborted(abort),
                None => match stop.get(store) {
                    Value::I32(STOP_OUT_OF_TICKS) => RunOutcome::Failed(Failure::OutOfTicks),
                    Value::I32(STOP_CALL_DEPTH) => RunOutcome::Failed(Failure::CallStackExhausted),
                    _ => RunOutcome::Failed(Failure::Trap(trap.message())),
                },
            },
        };
        Ok((outcome, budget.saturating_sub(left)))
    }
}
