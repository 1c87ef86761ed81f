//! What a kernel sees of the PVM: the `smart_rollup_core` catalogue (names, wasm signatures,
//! error codes, limits) and the durable-storage keys the PVM itself reads and writes.
//!
//! `no_std`, so the PVM (crate `pvm-host`, `pvm`) and the kernel SDK share one definition.
#![no_std]

use core::fmt;

/// The module name every kernel import must come from.
pub const MODULE: &str = "smart_rollup_core";

/// The most bytes one `read_input`, `write_output`, `store_read` or `store_write` moves.
pub const MAX_IO_SIZE: usize = 4096;

/// Reveal hashes are 33 bytes: tag `0x00`, then blake2b-256.
pub const REVEAL_HASH_SIZE: usize = protocol::reveal::RevealHash::SIZE;

/// A wasm value type in a host function signature (hosts functions use integers only).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ValType {
    /// `i32` (pointers and sizes are `i32` on wasm32).
    I32,
    /// `i64`.
    I64,
}

impl fmt::Display for ValType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            ValType::I32 => "i32",
            ValType::I64 => "i64",
        })
    }
}

/// A function type.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Signature {
    /// Parameter types.
    pub params: &'static [ValType],
    /// Result types.
    pub results: &'static [ValType],
}

impl fmt::Display for Signature {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let list = |f: &mut fmt::Formatter<'_>, v: &[ValType]| -> fmt::Result {
            for (i, t) in v.iter().enumerate() {
                write!(f, "{}{t}", if i == 0 { "" } else { " " })?;
            }
            Ok(())
        };
        f.write_str("(param ")?;
        list(f, self.params)?;
        f.write_str(") (result ")?;
        list(f, self.results)?;
        f.write_str(")")
    }
}

use ValType::{I32, I64};

const fn sig(params: &'static [ValType], results: &'static [ValType]) -> Signature {
    Signature { params, results }
}

/// The fourteen host functions of the seeds.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum HostFn {
    /// Next inbox message of the level.
    ReadInput,
    /// Append to the level's outbox.
    WriteOutput,
    /// Log bytes (not part of the state).
    WriteDebug,
    /// What a key holds.
    StoreHas,
    /// Remove a subtree.
    StoreDelete,
    /// Copy a subtree.
    StoreCopy,
    /// Move a subtree.
    StoreMove,
    /// Read part of a value.
    StoreRead,
    /// Write part of a value.
    StoreWrite,
    /// Size of a value.
    StoreValueSize,
    /// Number of entries under a key.
    StoreListSize,
    /// Name of the n-th entry under a key.
    StoreGetNthKey,
    /// A reveal page by hash.
    RevealPreimage,
    /// The rollup's address and origination level.
    RevealMetadata,
}

impl HostFn {
    /// Every host function.
    pub const ALL: [HostFn; 14] = [
        HostFn::ReadInput,
        HostFn::WriteOutput,
        HostFn::WriteDebug,
        HostFn::StoreHas,
        HostFn::StoreDelete,
        HostFn::StoreCopy,
        HostFn::StoreMove,
        HostFn::StoreRead,
        HostFn::StoreWrite,
        HostFn::StoreValueSize,
        HostFn::StoreListSize,
        HostFn::StoreGetNthKey,
        HostFn::RevealPreimage,
        HostFn::RevealMetadata,
    ];

    /// The import name.
    pub fn name(self) -> &'static str {
        match self {
            HostFn::ReadInput => "read_input",
            HostFn::WriteOutput => "write_output",
            HostFn::WriteDebug => "write_debug",
            HostFn::StoreHas => "store_has",
            HostFn::StoreDelete => "store_delete",
            HostFn::StoreCopy => "store_copy",
            HostFn::StoreMove => "store_move",
            HostFn::StoreRead => "store_read",
            HostFn::StoreWrite => "store_write",
            HostFn::StoreValueSize => "store_value_size",
            HostFn::StoreListSize => "store_list_size",
            HostFn::StoreGetNthKey => "store_get_nth_key",
            HostFn::RevealPreimage => "reveal_preimage",
            HostFn::RevealMetadata => "reveal_metadata",
        }
    }

    /// The host function imported under `name`, if there is one.
    pub fn from_name(name: &str) -> Option<HostFn> {
        HostFn::ALL.into_iter().find(|f| f.name() == name)
    }

    /// The signatures a kernel may import it with; the first is the seeds' Rust signature.
    ///
    /// Two functions accept a second form: `write_debug` with an `i32` result (as the seeds'
    /// `hello, world!` kernel declares it; the host returns 0), and `reveal_preimage` with an
    /// explicit hash length `(hash_addr, hash_len, dst, max_bytes)`, the later Tezos form
    /// (`hash_len` must be 33).
    pub fn signatures(self) -> &'static [Signature] {
        const PTR_LEN: &[ValType] = &[I32, I32];
        const RET: &[ValType] = &[I32];
        const READ_INPUT: &[Signature] = &[sig(&[I32, I32, I32, I32], RET)];
        const PTR_LEN_RET: &[Signature] = &[sig(PTR_LEN, RET)];
        const DEBUG: &[Signature] = &[sig(PTR_LEN, &[]), sig(PTR_LEN, RET)];
        const TWO_KEYS: &[Signature] = &[sig(&[I32, I32, I32, I32], RET)];
        const KEY_IO: &[Signature] = &[sig(&[I32, I32, I32, I32, I32], RET)];
        const LIST_SIZE: &[Signature] = &[sig(PTR_LEN, &[I64])];
        const NTH_KEY: &[Signature] = &[sig(&[I32, I32, I64, I32, I32], RET)];
        const PREIMAGE: &[Signature] = &[sig(&[I32, I32, I32], RET), sig(&[I32, I32, I32, I32], RET)];
        match self {
            HostFn::ReadInput => READ_INPUT,
            HostFn::WriteOutput | HostFn::RevealMetadata => PTR_LEN_RET,
            HostFn::WriteDebug => DEBUG,
            HostFn::StoreHas | HostFn::StoreDelete | HostFn::StoreValueSize => PTR_LEN_RET,
            HostFn::StoreCopy | HostFn::StoreMove => TWO_KEYS,
            HostFn::StoreRead | HostFn::StoreWrite => KEY_IO,
            HostFn::StoreListSize => LIST_SIZE,
            HostFn::StoreGetNthKey => NTH_KEY,
            HostFn::RevealPreimage => PREIMAGE,
        }
    }
}

impl fmt::Display for HostFn {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// The seeds' error codes, returned (negative) by host functions.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[repr(i32)]
pub enum HostError {
    /// -1: the key is longer than 250 bytes.
    KeyTooLarge = -1,
    /// -2: the key does not parse (see the key grammar).
    InvalidKey = -2,
    /// -3: there is no value (or no entry) under the key.
    NotFound = -3,
    /// -4: offset outside the value.
    InvalidAccess = -4,
    /// -5: the value would exceed 2^31 - 1 bytes.
    ValueSizeExceeded = -5,
    /// -6: a guest pointer range lies outside the kernel's memory.
    MemoryInvalidAccess = -6,
    /// -7: more than 4,096 bytes written to the outbox or the durable storage in one call.
    InputOutputTooLarge = -7,
    /// -8: any other invalid access: full outbox, malformed reveal hash.
    GenericInvalidAccess = -8,
    /// -9: attempt to modify a key under `/readonly`.
    ReadOnly = -9,
}

impl HostError {
    /// The code the kernel sees.
    pub fn code(self) -> i32 {
        self as i32
    }

    /// `Ok(value)` for a non-negative host-function result, the error for a negative one
    /// (a negative code the PVM does not define counts as -8, "unknown error").
    pub fn check(ret: i64) -> Result<u64, HostError> {
        if ret >= 0 {
            Ok(ret as u64)
        } else {
            Err(HostError::from_code(ret).unwrap_or(HostError::GenericInvalidAccess))
        }
    }

    /// The error for a code, if it is one.
    pub fn from_code(code: i64) -> Option<HostError> {
        Some(match code {
            -1 => HostError::KeyTooLarge,
            -2 => HostError::InvalidKey,
            -3 => HostError::NotFound,
            -4 => HostError::InvalidAccess,
            -5 => HostError::ValueSizeExceeded,
            -6 => HostError::MemoryInvalidAccess,
            -7 => HostError::InputOutputTooLarge,
            -8 => HostError::GenericInvalidAccess,
            -9 => HostError::ReadOnly,
            _ => return None,
        })
    }
}

impl fmt::Display for HostError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let what = match self {
            HostError::KeyTooLarge => "key too large",
            HostError::InvalidKey => "invalid key",
            HostError::NotFound => "no value under the key",
            HostError::InvalidAccess => "offset outside the value",
            HostError::ValueSizeExceeded => "value size limit exceeded",
            HostError::MemoryInvalidAccess => "memory access out of bounds",
            HostError::InputOutputTooLarge => "more than 4096 bytes in one call",
            HostError::GenericInvalidAccess => "invalid access",
            HostError::ReadOnly => "key is read-only",
        };
        write!(f, "{what} ({})", self.code())
    }
}

impl core::error::Error for HostError {}

/// Keys the PVM itself reads or writes (docs/pvm.md section 2.2).
pub mod keys {
    /// The kernel that runs; a kernel upgrades itself by writing here.
    pub const BOOT: &str = "/kernel/boot.wasm";
    /// The last kernel that loaded, restored to `BOOT` when an upgrade fails to load.
    pub const FALLBACK: &str = "/readonly/kernel/fallback.wasm";
    /// Written by a kernel to be called again without yielding (removed before every run).
    pub const REBOOT: &str = "/kernel/env/reboot";
    /// Present iff the previous `kernel_run` did not end normally (its one byte says why,
    /// see [`super::stuck`]).
    pub const STUCK: &str = "/kernel/env/stuck";
    /// How many reboots happened in this level before the current run (u32, big-endian).
    pub const REBOOT_COUNTER: &str = "/readonly/kernel/env/reboot_counter";
    /// The prefix kernels can read but not modify.
    pub const READONLY: &str = "/readonly";
}

/// Values of [`keys::STUCK`].
pub mod stuck {
    /// The previous `kernel_run` failed: it trapped, ran out of ticks or exceeded the call
    /// stack. Its durable and outbox writes were undone.
    pub const RUN_FAILED: u8 = 1;
    /// The previous level asked for more than 1,000 reboots; its unread inputs were dropped.
    pub const TOO_MANY_REBOOTS: u8 = 2;
    /// The kernel at `/kernel/boot.wasm` failed to validate or initialise; the previous kernel
    /// was put back and runs instead.
    pub const UPGRADE_REJECTED: u8 = 3;
}

/// The most reboots per level (so at most 1,001 `kernel_run`s per level).
pub const MAX_REBOOTS_PER_LEVEL: u32 = 1000;
