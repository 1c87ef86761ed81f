//! [`Memoized`]: any scheme, with the results of signature checks remembered for the current
//! run.
//!
//! Checking a signature is a pure function of (committee, signer, digest, signature), so
//! replaying a remembered result is exact. In a simulation every replica checks the same
//! signatures; the memo makes each check cost once per run instead of once per replica, which
//! is what makes hundreds of seeds per scenario affordable. The memo is per thread and cleared
//! at the start of every run (the committee is fixed within a run).

use std::cell::RefCell;
use std::collections::HashMap;
use std::marker::PhantomData;

use consensus::codec::{CodecError, Reader};
use consensus::{MemberIndex, Scheme};

thread_local! {
    static MEMO: RefCell<HashMap<Vec<u8>, bool>> = RefCell::new(HashMap::new());
}

/// Forgets every remembered result (call when the committee changes, i.e. at each run).
pub fn reset() {
    MEMO.with(|m| m.borrow_mut().clear());
}

fn remember(key: Vec<u8>, check: impl FnOnce() -> bool) -> bool {
    if let Some(ok) = MEMO.with(|m| m.borrow().get(&key).copied()) {
        return ok;
    }
    let ok = check();
    MEMO.with(|m| m.borrow_mut().insert(key, ok));
    ok
}

/// `S` with memoised verification.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Memoized<S>(PhantomData<S>);

impl<S: Scheme> Scheme for Memoized<S> {
    type PublicKey = S::PublicKey;
    type SecretKey = S::SecretKey;
    type Signature = S::Signature;
    type Certificate = S::Certificate;
    type Verifier = S::Verifier;

    const NAME: &'static str = S::NAME;

    fn public_key(sk: &Self::SecretKey) -> Self::PublicKey {
        S::public_key(sk)
    }
    fn verifier(members: &[(Self::PublicKey, u64)]) -> Self::Verifier {
        S::verifier(members)
    }
    fn sign(sk: &Self::SecretKey, digest: &[u8; 32]) -> Self::Signature {
        S::sign(sk, digest)
    }
    fn verify(v: &Self::Verifier, signer: MemberIndex, digest: &[u8; 32], sig: &Self::Signature) -> bool {
        let mut key = vec![b's'];
        key.extend_from_slice(&signer.to_be_bytes());
        key.extend_from_slice(digest);
        S::encode_signature(sig, &mut key);
        remember(key, || S::verify(v, signer, digest, sig))
    }
    fn aggregate(members: usize, sigs: &[(MemberIndex, Self::Signature)]) -> Option<Self::Certificate> {
        S::aggregate(members, sigs)
    }
    fn signers(cert: &Self::Certificate) -> Vec<MemberIndex> {
        S::signers(cert)
    }
    fn verify_certificate(v: &Self::Verifier, cert: &Self::Certificate, digest_of: &dyn Fn(MemberIndex) -> [u8; 32]) -> bool {
        let mut key = vec![b'c'];
        S::encode_certificate(cert, &mut key);
        for i in S::signers(cert) {
            key.extend_from_slice(&digest_of(i));
        }
        remember(key, || S::verify_certificate(v, cert, digest_of))
    }
    fn encode_signature(sig: &Self::Signature, out: &mut Vec<u8>) {
        S::encode_signature(sig, out)
    }
    fn decode_signature(r: &mut Reader<'_>) -> Result<Self::Signature, CodecError> {
        S::decode_signature(r)
    }
    fn encode_certificate(cert: &Self::Certificate, out: &mut Vec<u8>) {
        S::encode_certificate(cert, out)
    }
    fn decode_certificate(r: &mut Reader<'_>, members: usize) -> Result<Self::Certificate, CodecError> {
        S::decode_certificate(r, members)
    }
}
