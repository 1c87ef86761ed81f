//! The transfer kernel's formats (docs/kernels.md, "The transfer kernel"), for the kernel and
//! for clients: `no_std` + `alloc`, so the kernel and a std wallet share one definition.
//!
//! - An **account** is an ed25519 public key (32 bytes; signatures follow ZIP-215, the rules
//!   under which batch and single verification agree); its state is a balance in wei (u128)
//!   and a nonce (u64), stored at `/accounts/<hex of the key>` as `balance ‖ nonce` (24 bytes,
//!   big-endian).
//! - A **transfer** or **withdrawal** is an external message signed by the account's key over
//!   [`SIGNING_DOMAIN`] ‖ the rollup's address ‖ the operation's bytes, so a signature is only
//!   valid on one rollup. It carries the account's current nonce.
//! - A **deposit** is an L1 delayed-inbox message (internal transfer) whose payload is the
//!   32-byte key of the account to credit with the wei it carries.
//! - A withdrawal debits the account and writes an outbox message with one L1 call
//!   `{destination: recipient, value: amount, data: empty}`, which releases the ETH from the
//!   rollup's bridge on the L1 once cemented.
#![no_std]

extern crate alloc;

use alloc::string::String;
use alloc::vec::Vec;

use ed25519_zebra::{batch, Signature, SigningKey, VerificationKey, VerificationKeyBytes};
use protocol::outbox::{L1Call, OutboxMessage};
use rand_chacha::rand_core::SeedableRng;
use rand_chacha::ChaCha20Rng;
use protocol::{Address, Wei};

/// Prefix of every signed message.
pub const SIGNING_DOMAIN: &[u8] = b"rollup.transfer.v1";
/// Operation tag of a transfer.
pub const TAG_TRANSFER: u8 = 0x00;
/// Operation tag of a withdrawal.
pub const TAG_WITHDRAWAL: u8 = 0x01;
/// Encoded size of a signed transfer.
pub const TRANSFER_SIZE: usize = 1 + 32 + 32 + 16 + 8 + 64;
/// Encoded size of a signed withdrawal.
pub const WITHDRAWAL_SIZE: usize = 1 + 32 + 20 + 16 + 8 + 64;
/// Where accounts live in the durable storage.
pub const ACCOUNTS: &str = "/accounts";

/// An account: an ed25519 public key.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct AccountId(pub [u8; 32]);

impl AccountId {
    /// The account of a signing key (its 32-byte secret seed).
    pub fn from_secret(secret: &[u8; 32]) -> Self {
        AccountId(VerificationKeyBytes::from(&SigningKey::from(*secret)).into())
    }

    /// Its durable-storage key, `/accounts/<64 hex digits>`.
    pub fn storage_key(&self) -> String {
        let mut k = String::with_capacity(ACCOUNTS.len() + 65);
        k.push_str(ACCOUNTS);
        k.push('/');
        k.push_str(&hex::encode(self.0));
        k
    }
}

/// An account's state.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Account {
    /// Wei it holds.
    pub balance: u128,
    /// The nonce its next operation must carry.
    pub nonce: u64,
}

impl Account {
    /// Encoded size.
    pub const SIZE: usize = 24;

    /// `balance ‖ nonce`, big-endian.
    pub fn encode(&self) -> [u8; 24] {
        let mut b = [0u8; 24];
        b[..16].copy_from_slice(&self.balance.to_be_bytes());
        b[16..].copy_from_slice(&self.nonce.to_be_bytes());
        b
    }

    /// Parses [`Account::encode`]'s output.
    pub fn decode(b: &[u8]) -> Option<Self> {
        let b: &[u8; 24] = b.try_into().ok()?;
        Some(Account {
            balance: u128::from_be_bytes(b[..16].try_into().ok()?),
            nonce: u64::from_be_bytes(b[16..].try_into().ok()?),
        })
    }
}

/// What an account asks for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Operation {
    /// Move `amount` wei to `to`.
    Transfer {
        /// Recipient account.
        to: AccountId,
        /// Wei.
        amount: u128,
    },
    /// Send `amount` wei back to `recipient` on the L1.
    Withdrawal {
        /// L1 address receiving the ETH.
        recipient: Address,
        /// Wei.
        amount: u128,
    },
}

/// An operation with its author, nonce and signature: the payload of an external message.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SignedOperation {
    /// The account paying.
    pub from: AccountId,
    /// What it asks for.
    pub op: Operation,
    /// Its nonce at signing time.
    pub nonce: u64,
    /// ed25519 signature over [`SignedOperation::signing_bytes`].
    pub signature: [u8; 64],
}

/// Why a payload is not a well-formed operation.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MalformedOperation {
    /// Unknown operation tag.
    UnknownTag(u8),
    /// Wrong length for its tag.
    WrongLength,
}

impl SignedOperation {
    /// Signs `op` for account `secret` on the rollup at `rollup`.
    pub fn sign(secret: &[u8; 32], op: Operation, nonce: u64, rollup: &Address) -> Self {
        let key = SigningKey::from(*secret);
        let mut s = SignedOperation { from: AccountId(VerificationKeyBytes::from(&key).into()), op, nonce, signature: [0; 64] };
        s.signature = key.sign(&s.signing_bytes(rollup)).to_bytes();
        s
    }

    /// The operation's bytes without the signature.
    fn body(&self) -> Vec<u8> {
        let mut out = Vec::with_capacity(TRANSFER_SIZE);
        match self.op {
            Operation::Transfer { to, amount } => {
                out.push(TAG_TRANSFER);
                out.extend_from_slice(&self.from.0);
                out.extend_from_slice(&to.0);
                out.extend_from_slice(&amount.to_be_bytes());
            }
            Operation::Withdrawal { recipient, amount } => {
                out.push(TAG_WITHDRAWAL);
                out.extend_from_slice(&self.from.0);
                out.extend_from_slice(&recipient.0);
                out.extend_from_slice(&amount.to_be_bytes());
            }
        }
        out.extend_from_slice(&self.nonce.to_be_bytes());
        out
    }

    /// What is signed: [`SIGNING_DOMAIN`] ‖ rollup address ‖ the operation without signature.
    pub fn signing_bytes(&self, rollup: &Address) -> Vec<u8> {
        let body = self.body();
        let mut out = Vec::with_capacity(SIGNING_DOMAIN.len() + 20 + body.len());
        out.extend_from_slice(SIGNING_DOMAIN);
        out.extend_from_slice(&rollup.0);
        out.extend_from_slice(&body);
        out
    }

    /// The external message payload: the operation then its signature.
    pub fn encode(&self) -> Vec<u8> {
        let mut out = self.body();
        out.extend_from_slice(&self.signature);
        out
    }

    /// Parses an external message payload.
    pub fn decode(b: &[u8]) -> Result<Self, MalformedOperation> {
        let (&tag, _) = b.split_first().ok_or(MalformedOperation::WrongLength)?;
        let expected = match tag {
            TAG_TRANSFER => TRANSFER_SIZE,
            TAG_WITHDRAWAL => WITHDRAWAL_SIZE,
            t => return Err(MalformedOperation::UnknownTag(t)),
        };
        if b.len() != expected {
            return Err(MalformedOperation::WrongLength);
        }
        let arr = |r: core::ops::Range<usize>| -> &[u8] { &b[r] };
        let from = AccountId(arr(1..33).try_into().map_err(|_| MalformedOperation::WrongLength)?);
        let (op, rest) = if tag == TAG_TRANSFER {
            let to = AccountId(arr(33..65).try_into().map_err(|_| MalformedOperation::WrongLength)?);
            let amount = u128::from_be_bytes(arr(65..81).try_into().map_err(|_| MalformedOperation::WrongLength)?);
            (Operation::Transfer { to, amount }, 81)
        } else {
            let recipient = Address(arr(33..53).try_into().map_err(|_| MalformedOperation::WrongLength)?);
            let amount = u128::from_be_bytes(arr(53..69).try_into().map_err(|_| MalformedOperation::WrongLength)?);
            (Operation::Withdrawal { recipient, amount }, 69)
        };
        let nonce = u64::from_be_bytes(arr(rest..rest + 8).try_into().map_err(|_| MalformedOperation::WrongLength)?);
        let signature = arr(rest + 8..rest + 72).try_into().map_err(|_| MalformedOperation::WrongLength)?;
        Ok(SignedOperation { from, op, nonce, signature })
    }

    /// Whether the signature is the account's, for this rollup, under the ZIP-215 rules.
    pub fn verify(&self, rollup: &Address) -> bool {
        self.verify_message(&self.signing_bytes(rollup))
    }

    fn verify_message(&self, signing_bytes: &[u8]) -> bool {
        VerificationKey::try_from(self.from.0)
            .and_then(|key| key.verify(&Signature::from_bytes(&self.signature), signing_bytes))
            .is_ok()
    }
}

/// Which of `ops` carry valid signatures for this rollup: exactly [`SignedOperation::verify`]
/// of each, computed with one batch verification when all are valid (about three times
/// cheaper per signature), one by one otherwise.
///
/// Under ZIP-215 a batch accepts exactly when every signature in it is valid (except with
/// probability 2^-128 per batch: the batch's random coefficients are derived from a hash of
/// the whole batch, so they cannot be chosen by whoever wrote the signatures), so the result
/// never depends on how operations are grouped.
pub fn verify_all(ops: &[SignedOperation], rollup: &Address) -> Vec<bool> {
    let messages: Vec<Vec<u8>> = ops.iter().map(|o| o.signing_bytes(rollup)).collect();
    if ops.is_empty() {
        return Vec::new();
    }
    let mut transcript = Vec::with_capacity(ops.len() * (64 + 32 + 32));
    let mut batch = batch::Verifier::new();
    for (op, msg) in ops.iter().zip(&messages) {
        transcript.extend_from_slice(&op.signature);
        transcript.extend_from_slice(&op.from.0);
        transcript.extend_from_slice(&protocol::keccak256(msg));
        batch.queue((VerificationKeyBytes::from(op.from.0), Signature::from_bytes(&op.signature), msg));
    }
    let rng = ChaCha20Rng::from_seed(protocol::keccak256(&transcript));
    if batch.verify(rng).is_ok() {
        return alloc::vec![true; ops.len()];
    }
    ops.iter().zip(&messages).map(|(op, msg)| op.verify_message(msg)).collect()
}

/// The payload of an L1 deposit crediting `to`.
pub fn deposit_payload(to: &AccountId) -> [u8; 32] {
    to.0
}

/// The account a deposit credits, if its payload names one.
pub fn deposit_account(payload: &[u8]) -> Option<AccountId> {
    payload.try_into().ok().map(AccountId)
}

/// The outbox message of a withdrawal: one L1 call sending `amount` wei to `recipient`.
pub fn withdrawal_message(recipient: &Address, amount: u128) -> Vec<u8> {
    OutboxMessage { calls: alloc::vec![L1Call { destination: *recipient, value: Wei::from_u128(amount), data: Vec::new() }] }.encode()
}

#[cfg(test)]
mod tests {
    use super::*;

    const ROLLUP: Address = Address([0x42; 20]);

    #[test]
    fn sign_encode_decode_verify() {
        let secret = [7u8; 32];
        let to = AccountId::from_secret(&[8u8; 32]);
        for op in [Operation::Transfer { to, amount: 5 }, Operation::Withdrawal { recipient: Address([9; 20]), amount: u128::MAX }] {
            let s = SignedOperation::sign(&secret, op, 3, &ROLLUP);
            let bytes = s.encode();
            let d = SignedOperation::decode(&bytes).unwrap();
            assert_eq!(d, s);
            assert!(d.verify(&ROLLUP));
            // Bound to the rollup: the same bytes do not verify elsewhere.
            assert!(!d.verify(&Address([0x43; 20])));
            // Any flipped bit breaks it.
            for i in 0..bytes.len() {
                let mut b = bytes.clone();
                b[i] ^= 1;
                assert!(SignedOperation::decode(&b).map_or(true, |x| !x.verify(&ROLLUP)), "bit {i}");
            }
        }
        assert_eq!(SignedOperation::decode(&[2]), Err(MalformedOperation::UnknownTag(2)));
        assert_eq!(SignedOperation::decode(&[0; 10]), Err(MalformedOperation::WrongLength));
    }

    #[test]
    fn batches_agree_with_single_verification() {
        let to = AccountId::from_secret(&[8u8; 32]);
        let mut ops: Vec<SignedOperation> =
            (0..20u8).map(|i| SignedOperation::sign(&[i; 32], Operation::Transfer { to, amount: 1 }, 0, &ROLLUP)).collect();
        assert_eq!(verify_all(&ops, &ROLLUP), alloc::vec![true; 20]);
        ops[7].signature[3] ^= 1;
        ops[12].nonce = 1;
        let single: Vec<bool> = ops.iter().map(|o| o.verify(&ROLLUP)).collect();
        assert_eq!(verify_all(&ops, &ROLLUP), single);
        assert_eq!(single.iter().filter(|v| !**v).count(), 2);
        assert!(verify_all(&[], &ROLLUP).is_empty());
    }

    #[test]
    fn accounts_and_withdrawals() {
        let a = Account { balance: 1 << 100, nonce: 9 };
        assert_eq!(Account::decode(&a.encode()), Some(a));
        assert_eq!(AccountId([0xab; 32]).storage_key().len(), 9 + 1 + 64);
        let m = OutboxMessage::decode(&withdrawal_message(&Address([1; 20]), 10)).unwrap();
        assert_eq!(m.calls.len(), 1);
        assert_eq!(m.calls[0].value.to_u128(), Some(10));
        assert!(m.calls[0].data.is_empty());
    }
}
