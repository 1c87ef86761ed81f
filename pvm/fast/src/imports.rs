//! The `smart_rollup_core` imports: each host function bound to the shared semantics in
//! `pvm_host`, with the signature the kernel declared.

use pvm_host::{Abort, GuestMemory, HostFn, HostState, OutOfBounds};
use pvm_validate::HostImport;
use wasmer::{Extern, Function, FunctionEnv, FunctionEnvMut, Memory, MemoryView, RuntimeError, Store};

/// What host functions reach during a run.
pub(crate) struct Env {
    /// The state host calls act on; taken back by the engine after the run.
    pub host: Option<HostState>,
    /// The kernel's memory, set right after instantiation.
    pub memory: Option<Memory>,
    /// Set when a host call could not be answered by this node.
    pub abort: Option<Abort>,
}

struct View<'a>(MemoryView<'a>);

impl GuestMemory for View<'_> {
    fn size(&self) -> u64 {
        self.0.data_size()
    }

    fn read(&self, addr: u32, buf: &mut [u8]) -> Result<(), OutOfBounds> {
        if !self.contains(addr, buf.len() as u64) {
            return Err(OutOfBounds);
        }
        self.0.read(u64::from(addr), buf).map_err(|_| OutOfBounds)
    }

    fn write(&mut self, addr: u32, data: &[u8]) -> Result<(), OutOfBounds> {
        if !self.contains(addr, data.len() as u64) {
            return Err(OutOfBounds);
        }
        self.0.write(u64::from(addr), data).map_err(|_| OutOfBounds)
    }
}

/// Runs one host call against the environment; an abort is recorded and unwinds the kernel.
fn call<R>(ctx: &mut FunctionEnvMut<Env>, f: impl FnOnce(&mut HostState, &mut View<'_>) -> Result<R, Abort>) -> Result<R, RuntimeError> {
    let (env, store) = ctx.data_and_store_mut();
    let (Some(host), Some(memory)) = (env.host.as_mut(), env.memory.as_ref()) else {
        return Err(RuntimeError::new("host function called outside a kernel run"));
    };
    let mut view = View(memory.view(&store));
    match f(host, &mut view) {
        Ok(r) => Ok(r),
        Err(abort) => {
            env.abort = Some(abort);
            Err(RuntimeError::new("the node cannot complete this host call"))
        }
    }
}

type Ctx<'a> = FunctionEnvMut<'a, Env>;
type Ret = Result<i32, RuntimeError>;

fn u(x: i32) -> u32 {
    x as u32
}

/// The imports of a kernel, in import order.
pub(crate) fn externs(store: &mut Store, env: &FunctionEnv<Env>, imports: &[HostImport]) -> Vec<Extern> {
    imports.iter().map(|i| Extern::Function(function(store, env, i))).collect()
}

fn function(store: &mut Store, env: &FunctionEnv<Env>, import: &HostImport) -> Function {
    match (import.func, import.signature) {
        (HostFn::ReadInput, _) => Function::new_typed_with_env(store, env, |mut c: Ctx, level: i32, id: i32, dst: i32, max: i32| -> Ret {
            call(&mut c, |h, m| h.read_input(m, u(level), u(id), u(dst), u(max)))
        }),
        (HostFn::WriteOutput, _) => Function::new_typed_with_env(store, env, |mut c: Ctx, src: i32, n: i32| -> Ret {
            call(&mut c, |h, m| h.write_output(m, u(src), u(n)))
        }),
        (HostFn::WriteDebug, 0) => Function::new_typed_with_env(store, env, |mut c: Ctx, src: i32, n: i32| -> Result<(), RuntimeError> {
            call(&mut c, |h, m| h.write_debug(m, u(src), u(n))).map(|_| ())
        }),
        (HostFn::WriteDebug, _) => Function::new_typed_with_env(store, env, |mut c: Ctx, src: i32, n: i32| -> Ret {
            call(&mut c, |h, m| h.write_debug(m, u(src), u(n)))
        }),
        (HostFn::StoreHas, _) => Function::new_typed_with_env(store, env, |mut c: Ctx, p: i32, l: i32| -> Ret {
            call(&mut c, |h, m| h.store_has(m, u(p), u(l)))
        }),
        (HostFn::StoreDelete, _) => Function::new_typed_with_env(store, env, |mut c: Ctx, p: i32, l: i32| -> Ret {
            call(&mut c, |h, m| h.store_delete(m, u(p), u(l)))
        }),
        (HostFn::StoreCopy, _) => Function::new_typed_with_env(store, env, |mut c: Ctx, s: i32, sl: i32, d: i32, dl: i32| -> Ret {
            call(&mut c, |h, m| h.store_copy(m, u(s), u(sl), u(d), u(dl)))
        }),
        (HostFn::StoreMove, _) => Function::new_typed_with_env(store, env, |mut c: Ctx, s: i32, sl: i32, d: i32, dl: i32| -> Ret {
            call(&mut c, |h, m| h.store_move(m, u(s), u(sl), u(d), u(dl)))
        }),
        (HostFn::StoreRead, _) => Function::new_typed_with_env(store, env, |mut c: Ctx, p: i32, l: i32, off: i32, dst: i32, n: i32| -> Ret {
            call(&mut c, |h, m| h.store_read(m, u(p), u(l), u(off), u(dst), u(n)))
        }),
        (HostFn::StoreWrite, _) => Function::new_typed_with_env(store, env, |mut c: Ctx, p: i32, l: i32, off: i32, src: i32, n: i32| -> Ret {
            call(&mut c, |h, m| h.store_write(m, u(p), u(l), u(off), u(src), u(n)))
        }),
        (HostFn::StoreValueSize, _) => Function::new_typed_with_env(store, env, |mut c: Ctx, p: i32, l: i32| -> Ret {
            call(&mut c, |h, m| h.store_value_size(m, u(p), u(l)))
        }),
        (HostFn::StoreListSize, _) => Function::new_typed_with_env(store, env, |mut c: Ctx, p: i32, l: i32| -> Result<i64, RuntimeError> {
            call(&mut c, |h, m| h.store_list_size(m, u(p), u(l)))
        }),
        (HostFn::StoreGetNthKey, _) => Function::new_typed_with_env(store, env, |mut c: Ctx, p: i32, l: i32, i: i64, dst: i32, max: i32| -> Ret {
            call(&mut c, |h, m| h.store_get_nth_key(m, u(p), u(l), i, u(dst), u(max)))
        }),
        (HostFn::RevealPreimage, 0) => Function::new_typed_with_env(store, env, |mut c: Ctx, hash: i32, dst: i32, max: i32| -> Ret {
            call(&mut c, |h, m| h.reveal_preimage(m, u(hash), u(dst), u(max)))
        }),
        (HostFn::RevealPreimage, _) => Function::new_typed_with_env(store, env, |mut c: Ctx, hash: i32, len: i32, dst: i32, max: i32| -> Ret {
            call(&mut c, |h, m| h.reveal_preimage_sized(m, u(hash), u(len), u(dst), u(max)))
        }),
        (HostFn::RevealMetadata, _) => Function::new_typed_with_env(store, env, |mut c: Ctx, dst: i32, max: i32| -> Ret {
            call(&mut c, |h, m| h.reveal_metadata(m, u(dst), u(max)))
        }),
    }
}
