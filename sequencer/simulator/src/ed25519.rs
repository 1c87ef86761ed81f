//! Ed25519 as a consensus [`Scheme`]: a certificate is the signer bitmap plus one signature per
//! signer. Real signatures (forgery is as hard as with BLS), an order of magnitude cheaper to
//! make and check, which is what lets the simulator cover thousands of seeds quickly. The node
//! never uses it: its certificates are BLS (the L1 verifies those).

use consensus::codec::{CodecError, Reader};
use consensus::{MemberIndex, Scheme};
use ed25519_dalek::{Signer as _, Verifier as _};

type SigKey = ([u8; 32], [u8; 32], [u8; 64]);

thread_local! {
    static SIG_MEMO: std::cell::RefCell<std::collections::HashMap<SigKey, bool>> = Default::default();
}

/// Forgets remembered signature checks (with [`crate::memo::reset`], at every run).
pub fn reset_memo() {
    SIG_MEMO.with(|m| m.borrow_mut().clear());
}

/// The ed25519 scheme (marker type).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Ed25519;

/// Signer bitmap (member `i` is bit `i % 8` of byte `i / 8`) and the signatures in signer order.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MultiSig {
    bitmap: Vec<u8>,
    sigs: Vec<ed25519_dalek::Signature>,
}

fn signers_of(bitmap: &[u8]) -> Vec<MemberIndex> {
    (0..bitmap.len() * 8).filter(|i| bitmap[i / 8] & (1 << (i % 8)) != 0).map(|i| i as MemberIndex).collect()
}

impl Scheme for Ed25519 {
    type PublicKey = ed25519_dalek::VerifyingKey;
    type SecretKey = ed25519_dalek::SigningKey;
    type Signature = ed25519_dalek::Signature;
    type Certificate = MultiSig;
    type Verifier = Vec<ed25519_dalek::VerifyingKey>;

    const NAME: &'static str = "ed25519";

    fn public_key(sk: &Self::SecretKey) -> Self::PublicKey {
        sk.verifying_key()
    }

    fn verifier(members: &[(Self::PublicKey, u64)]) -> Self::Verifier {
        members.iter().map(|(k, _)| *k).collect()
    }

    fn sign(sk: &Self::SecretKey, digest: &[u8; 32]) -> Self::Signature {
        sk.sign(digest)
    }

    fn verify(v: &Self::Verifier, signer: MemberIndex, digest: &[u8; 32], sig: &Self::Signature) -> bool {
        let Some(key) = v.get(usize::from(signer)) else { return false };
        // Certificates from different replicas hold different subsets of the same signatures:
        // remember each signature's check (see `crate::memo` for why this is exact).
        let memo_key = (key.to_bytes(), *digest, sig.to_bytes());
        if let Some(ok) = SIG_MEMO.with(|m| m.borrow().get(&memo_key).copied()) {
            return ok;
        }
        let ok = key.verify(digest, sig).is_ok();
        SIG_MEMO.with(|m| m.borrow_mut().insert(memo_key, ok));
        ok
    }

    fn aggregate(members: usize, sigs: &[(MemberIndex, Self::Signature)]) -> Option<Self::Certificate> {
        let mut sorted: Vec<&(MemberIndex, Self::Signature)> = sigs.iter().collect();
        sorted.sort_by_key(|(i, _)| *i);
        sorted.dedup_by_key(|(i, _)| *i);
        let mut bitmap = vec![0u8; members.div_ceil(8)];
        for (i, _) in &sorted {
            let i = usize::from(*i);
            if i >= members {
                return None;
            }
            bitmap[i / 8] |= 1 << (i % 8);
        }
        Some(MultiSig { bitmap, sigs: sorted.into_iter().map(|(_, s)| *s).collect() })
    }

    fn signers(cert: &Self::Certificate) -> Vec<MemberIndex> {
        signers_of(&cert.bitmap)
    }

    fn verify_certificate(v: &Self::Verifier, cert: &Self::Certificate, digest_of: &dyn Fn(MemberIndex) -> [u8; 32]) -> bool {
        let signers = signers_of(&cert.bitmap);
        cert.bitmap.len() == v.len().div_ceil(8)
            && signers.len() == cert.sigs.len()
            && signers.iter().zip(&cert.sigs).all(|(i, s)| Self::verify(v, *i, &digest_of(*i), s))
    }

    fn encode_signature(sig: &Self::Signature, out: &mut Vec<u8>) {
        out.extend_from_slice(&sig.to_bytes());
    }

    fn decode_signature(r: &mut Reader<'_>) -> Result<Self::Signature, CodecError> {
        Ok(ed25519_dalek::Signature::from_bytes(&r.array::<64>("ed25519 signature")?))
    }

    fn encode_certificate(cert: &Self::Certificate, out: &mut Vec<u8>) {
        out.extend_from_slice(&cert.bitmap);
        for s in &cert.sigs {
            out.extend_from_slice(&s.to_bytes());
        }
    }

    fn decode_certificate(r: &mut Reader<'_>, members: usize) -> Result<Self::Certificate, CodecError> {
        let bitmap = r.take(members.div_ceil(8), "certificate bitmap")?.to_vec();
        let signers = signers_of(&bitmap);
        if signers.last().is_some_and(|s| usize::from(*s) >= members) {
            return Err(CodecError::Invalid { what: "certificate bitmap", reason: "bits set past the committee size".into() });
        }
        let mut sigs = Vec::with_capacity(signers.len());
        for _ in &signers {
            sigs.push(Self::decode_signature(r)?);
        }
        Ok(MultiSig { bitmap, sigs })
    }
}
