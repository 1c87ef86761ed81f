//! What the level driver writes to the durable storage around each `kernel_run`
//! (docs/pvm.md section 2.1): one definition that the PVM's driver, the reference machine's
//! replay and the one-step verifier all run, so the driver's two ticks of every run
//! (section 9.3) prove exactly what the node does.

use pvm_durable::{AccessError, DurableError, Hash, Key, NodeKind, Tree};

use crate::abi::{keys, stuck, MAX_REBOOTS_PER_LEVEL};

fn key(k: &'static str) -> Key {
    // The PVM's own keys are constants and valid.
    Key::new(k).unwrap_or_else(|_| Key::root())
}

fn stored(e: AccessError) -> DurableError {
    match e {
        AccessError::Backend(b) => b,
        // Only the driver's own small values are written here: anything else is a bug.
        _ => DurableError::Corrupt { hash: String::new(), reason: "could not be written by the level driver" },
    }
}

/// Which kernel the next run uses, as the durable storage says before it (section 2.3).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Selection {
    /// `/kernel/boot.wasm` is the last kernel that loaded: it runs (value hash).
    Current(Hash),
    /// `/kernel/boot.wasm` was deleted: the fallback was put back there and `stuck` set to `03`;
    /// the fallback runs (value hash).
    Restored(Hash),
    /// `/kernel/boot.wasm` holds another module: it must be loaded to know whether it becomes
    /// the kernel ([`accept_upgrade`]) or is refused ([`reject_upgrade`]).
    Upgrade {
        /// The new module's value hash.
        boot: Hash,
        /// The current kernel's value hash.
        fallback: Hash,
    },
}

/// The start of run `reboots` of a level: writes the reboot counter and selects the kernel.
pub fn start_run(durable: &mut Tree, reboots: u32) -> Result<Selection, DurableError> {
    durable.set_value(&key(keys::REBOOT_COUNTER), &reboots.to_be_bytes()).map_err(stored)?;
    let fallback = durable
        .value_hash(&key(keys::FALLBACK))?
        .ok_or(DurableError::Corrupt { hash: String::new(), reason: "missing the fallback kernel" })?;
    match durable.value_hash(&key(keys::BOOT))? {
        Some(boot) if boot == fallback => Ok(Selection::Current(fallback)),
        Some(boot) => Ok(Selection::Upgrade { boot, fallback }),
        None => {
            reject_upgrade(durable)?;
            Ok(Selection::Restored(fallback))
        }
    }
}

/// The new module at `/kernel/boot.wasm` loaded: it becomes the fallback.
pub fn accept_upgrade(durable: &mut Tree) -> Result<(), DurableError> {
    durable.copy(&key(keys::BOOT), &key(keys::FALLBACK)).map_err(stored)
}

/// The new module did not load (or was deleted): the fallback goes back to `/kernel/boot.wasm`
/// and the next run finds `stuck` = `03`.
pub fn reject_upgrade(durable: &mut Tree) -> Result<(), DurableError> {
    durable.copy(&key(keys::FALLBACK), &key(keys::BOOT)).map_err(stored)?;
    durable.set_value(&key(keys::STUCK), &[stuck::UPGRADE_REJECTED]).map_err(stored)
}

/// How a run ended, for the driver.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RunEnd {
    /// `kernel_run` returned.
    Returned,
    /// It trapped, ran out of ticks or exceeded the call stack. `inputs_remain`: whether unread
    /// inputs remain once the failure's progress rule has dropped one (section 2.1).
    Failed {
        /// Unread inputs remain.
        inputs_remain: bool,
    },
}

/// After run `reboots` of a level: the driver's durable writes (`durable` already rolled back
/// to the run's start if it failed). Returns whether the level goes on with another run.
pub fn end_run(durable: &mut Tree, end: RunEnd, reboots: u32) -> Result<bool, DurableError> {
    let again = match end {
        RunEnd::Returned => {
            let reboot = durable.has(&key(keys::REBOOT))? != NodeKind::Missing;
            durable.delete(&key(keys::REBOOT))?;
            durable.delete(&key(keys::STUCK))?;
            if reboot && reboots >= MAX_REBOOTS_PER_LEVEL {
                durable.set_value(&key(keys::STUCK), &[stuck::TOO_MANY_REBOOTS]).map_err(stored)?;
            }
            reboot
        }
        RunEnd::Failed { inputs_remain } => {
            durable.set_value(&key(keys::STUCK), &[stuck::RUN_FAILED]).map_err(stored)?;
            inputs_remain
        }
    };
    Ok(again && reboots < MAX_REBOOTS_PER_LEVEL)
}

/// The inbox position after a failed run (section 2.1, progress): a run that read nothing
/// drops the next input. `messages` is the level's inbox length.
pub fn after_failure(next: u64, next_at_start: u64, messages: u64) -> u64 {
    if next == next_at_start && next < messages {
        next + 1
    } else {
        next
    }
}
