//! The transfer kernel: the rollup's reference workload (formats in crate `transfer-tx` and
//! docs/kernels.md).
//!
//! For every inbox message of a level:
//! - an L1 deposit (internal transfer whose payload is a 32-byte account key) credits that
//!   account with the wei it carries;
//! - an external message holding a signed transfer moves funds between accounts;
//! - an external message holding a signed withdrawal debits the account and writes an outbox
//!   message releasing the ETH to the L1 recipient;
//! - anything else is ignored.
//!
//! An operation applies only if it decodes, carries the account's current nonce, is signed by
//! the account for this rollup, and is covered by the balance (and, for a withdrawal, the
//! outbox of the level has room); otherwise it is skipped without touching the state, and the
//! reason is logged with `write_debug`.
//!
//! A run reads up to [`OPS_PER_RUN`] external messages, checks all their signatures at once
//! (batch verification, `transfer_tx::verify_all`; a signature's validity depends only on its
//! bytes, not on the state), then applies the messages in order. If more remain it reboots, so
//! each `kernel_run` stays well inside the tick budget whatever the level holds.
#![no_std]

extern crate alloc;
#[cfg(not(target_arch = "wasm32"))]
extern crate std;

use alloc::vec::Vec;

use kernel_sdk::protocol::inbox::{InboxMessage, InternalMessage, TAG_EXTERNAL};
use kernel_sdk::protocol::Transfer;
use kernel_sdk::{entrypoint, HostError, Runtime};
use transfer_tx::{deposit_account, verify_all, withdrawal_message, Account, AccountId, Operation, SignedOperation};

/// External messages per `kernel_run`. In the worst case (a batch with a bad signature is
/// checked again one by one) one costs about 3.5 million ticks, so 200 stay under 0.7 of the
/// default budget of 10^9 (docs/kernels.md, "Ticks and reboots").
pub const OPS_PER_RUN: u32 = 200;

/// Why an operation was skipped.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Skip {
    /// Not a well-formed operation.
    Malformed,
    /// The nonce is not the account's current one (a replay, or out of order).
    Nonce,
    /// The signature is not the account's for this rollup.
    Signature,
    /// The balance does not cover the amount.
    Funds,
    /// The recipient's balance would overflow.
    Overflow,
    /// The level's outbox is full (withdrawals only).
    OutboxFull,
    /// The durable storage refused a write.
    Storage(HostError),
}

fn load<R: Runtime>(host: &mut R, id: &AccountId) -> Account {
    let mut b = [0u8; Account::SIZE];
    match host.store_read_into(&id.storage_key(), 0, &mut b) {
        Ok(Account::SIZE) => Account::decode(&b).unwrap_or_default(),
        _ => Account::default(),
    }
}

fn save<R: Runtime>(host: &mut R, id: &AccountId, a: &Account) -> Result<(), Skip> {
    host.store_write(&id.storage_key(), 0, &a.encode()).map_err(Skip::Storage)
}

/// Applies one signed operation whose signature check gave `signature_valid`.
pub fn apply<R: Runtime>(host: &mut R, op: &SignedOperation, signature_valid: bool) -> Result<(), Skip> {
    let mut from = load(host, &op.from);
    if from.nonce != op.nonce {
        return Err(Skip::Nonce);
    }
    if !signature_valid {
        return Err(Skip::Signature);
    }
    let amount = match op.op {
        Operation::Transfer { amount, .. } | Operation::Withdrawal { amount, .. } => amount,
    };
    from.balance = from.balance.checked_sub(amount).ok_or(Skip::Funds)?;
    from.nonce += 1;
    match op.op {
        Operation::Transfer { to, .. } if to == op.from => save(host, &op.from, &Account { balance: from.balance + amount, ..from }),
        Operation::Transfer { to, .. } => {
            let mut dest = load(host, &to);
            dest.balance = dest.balance.checked_add(amount).ok_or(Skip::Overflow)?;
            // Debit first: if the credit could ever fail, funds vanish rather than appear.
            save(host, &op.from, &from)?;
            save(host, &to, &dest)
        }
        Operation::Withdrawal { recipient, .. } => {
            host.write_output(&withdrawal_message(&recipient, amount)).map_err(|_| Skip::OutboxFull)?;
            save(host, &op.from, &from)
        }
    }
}

/// Credits an L1 deposit; `false` if it names no account or carries more than a u128 of wei.
pub fn deposit<R: Runtime>(host: &mut R, t: &Transfer) -> bool {
    let (Some(to), Some(value)) = (deposit_account(&t.payload), t.value.to_u128()) else { return false };
    let mut a = load(host, &to);
    match a.balance.checked_add(value) {
        Some(b) => {
            a.balance = b;
            save(host, &to, &a).is_ok()
        }
        None => false,
    }
}

/// One `kernel_run`.
pub fn run<R: Runtime>(host: &mut R) {
    let rollup = host.reveal_metadata().address;
    let mut inputs = Vec::new();
    let mut externals = 0;
    while let Ok(Some(input)) = host.read_input() {
        let external = input.bytes.first() == Some(&TAG_EXTERNAL);
        inputs.push(input);
        if external {
            externals += 1;
            if externals >= OPS_PER_RUN {
                let _ = host.mark_for_reboot();
                break;
            }
        }
    }
    let ops: Vec<Option<SignedOperation>> = inputs
        .iter()
        .filter(|i| i.bytes.first() == Some(&TAG_EXTERNAL))
        .map(|i| SignedOperation::decode(&i.bytes[1..]).ok())
        .collect();
    let well_formed: Vec<SignedOperation> = ops.iter().flatten().copied().collect();
    let mut valid = verify_all(&well_formed, &rollup).into_iter();
    let mut ops = ops.into_iter();
    for input in &inputs {
        match input.message() {
            Ok(InboxMessage::External(_)) => {
                let result = match ops.next().flatten() {
                    Some(op) => apply(host, &op, valid.next().unwrap_or(false)),
                    None => Err(Skip::Malformed),
                };
                if let Err(why) = result {
                    host.write_debug(alloc::format!("transfer: skipped message {} of level {}: {why:?}", input.id, input.level).as_bytes());
                }
            }
            Ok(InboxMessage::Internal(InternalMessage::Transfer(t))) => {
                if !deposit(host, &t) {
                    host.write_debug(alloc::format!("transfer: ignored deposit {} of level {}", input.id, input.level).as_bytes());
                }
            }
            _ => {}
        }
    }
}

entrypoint!(run);

/// An account's state as the kernel stores it.
pub fn account<R: Runtime>(host: &mut R, id: &AccountId) -> Account {
    load(host, id)
}

#[cfg(test)]
mod tests {
    use super::*;
    use kernel_sdk::mock::MockHost;
    use kernel_sdk::protocol::{outbox::OutboxMessage, Address, RollupMetadata, Wei};
    use std::vec;
    use std::vec::Vec;

    const ROLLUP: Address = Address([0x11; 20]);
    const ALICE: [u8; 32] = [1; 32];
    const BOB: [u8; 32] = [2; 32];

    fn host() -> MockHost {
        MockHost::with_metadata(RollupMetadata { address: ROLLUP, origination_level: 0 })
    }

    fn deposit_to(secret: &[u8; 32], wei: u128) -> Transfer {
        Transfer { sender: Address([9; 20]), value: Wei::from_u128(wei), payload: AccountId::from_secret(secret).0.to_vec() }
    }

    fn signed(secret: &[u8; 32], op: Operation, nonce: u64) -> Vec<u8> {
        SignedOperation::sign(secret, op, nonce, &ROLLUP).encode()
    }

    #[test]
    fn deposits_transfers_withdrawals_and_every_invalid_case() {
        let (alice, bob) = (AccountId::from_secret(&ALICE), AccountId::from_secret(&BOB));
        let mut h = host();
        h.push_level(&[deposit_to(&ALICE, 100)], &[]);
        h.run_level(run);
        assert_eq!(account(&mut h, &alice), Account { balance: 100, nonce: 0 });

        let before = h.durable_root();
        let other_rollup = SignedOperation::sign(&ALICE, Operation::Transfer { to: bob, amount: 1 }, 0, &Address([0x22; 20])).encode();
        let mut forged = signed(&ALICE, Operation::Transfer { to: bob, amount: 1 }, 0);
        forged[70] ^= 1; // the amount changes after signing
        let invalid = vec![
            signed(&ALICE, Operation::Transfer { to: bob, amount: 101 }, 0), // insufficient funds
            signed(&ALICE, Operation::Transfer { to: bob, amount: 1 }, 1),   // wrong nonce
            signed(&BOB, Operation::Transfer { to: alice, amount: 1 }, 0),   // bob has nothing
            other_rollup,
            forged,
            vec![0, 1, 2],
            vec![],
            vec![7; 153],
        ];
        h.push_level_externals(&invalid);
        let r = h.run_level(run);
        assert_eq!(r.debug.len(), invalid.len(), "{:?}", r.debug);
        assert_eq!(h.durable_root(), before, "invalid operations must not touch the state");

        let t = signed(&ALICE, Operation::Transfer { to: bob, amount: 30 }, 0);
        let w = signed(&BOB, Operation::Withdrawal { recipient: Address([0xee; 20]), amount: 10 }, 0);
        h.push_level_externals(&[t.clone(), w, t]);
        let r = h.run_level(run);
        assert_eq!(r.debug.len(), 1, "the replayed transfer is skipped: {:?}", r.debug);
        assert_eq!(account(&mut h, &alice), Account { balance: 70, nonce: 1 });
        assert_eq!(account(&mut h, &bob), Account { balance: 20, nonce: 1 });
        let msg = OutboxMessage::decode(&r.outbox[0]).unwrap();
        assert_eq!(msg.calls[0].destination, Address([0xee; 20]));
        assert_eq!(msg.calls[0].value.to_u128(), Some(10));
    }

    #[test]
    fn reboots_after_ops_per_run() {
        let mut h = host();
        h.push_level(&[deposit_to(&ALICE, 1_000_000)], &[]);
        h.run_level(run);
        let bob = AccountId::from_secret(&BOB);
        let n = OPS_PER_RUN as u64 + 3;
        let txs: Vec<Vec<u8>> = (0..n).map(|i| signed(&ALICE, Operation::Transfer { to: bob, amount: 1 }, i)).collect();
        h.push_level_externals(&txs);
        let r = h.run_level(run);
        assert_eq!(r.runs, 2);
        assert!(r.debug.is_empty());
        assert_eq!(account(&mut h, &bob).balance, n as u128);
    }
}
