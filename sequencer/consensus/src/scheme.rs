//! The signature scheme the consensus core signs and certifies with.
//!
//! The core is generic over [`Scheme`] so that the protocol logic is written once against
//! "sign, verify, aggregate into a certificate with a signer set". The node runs [`Bls`]
//! (BLS12-381 through the `committee` crate: the very certificates the L1 verifies); the
//! simulator can also run a cheaper scheme to cover thousands of seeds in little time, since the
//! protocol's behaviour does not depend on which scheme authenticates it.

use std::fmt::Debug;

use crate::codec::{CodecError, Reader};
use crate::MemberIndex;

/// What the consensus core needs from a signature scheme.
///
/// Certificates carry their signer set; [`Scheme::verify_certificate`] checks the signatures
/// only, and the core checks the signers' stake against its own quorum rule.
pub trait Scheme: Copy + Debug + Default + PartialEq + Eq + Send + Sync + 'static {
    /// A member's public key.
    type PublicKey: Clone + Debug + PartialEq + Send + Sync;
    /// A member's secret key.
    type SecretKey: Clone + Send + Sync;
    /// One member's signature over a 32-byte digest.
    type Signature: Clone + Debug + PartialEq + Eq + Send + Sync;
    /// Signatures of several members, with the set of signers.
    type Certificate: Clone + Debug + PartialEq + Eq + Send + Sync;
    /// Everything needed to verify certificates of one committee, built once.
    type Verifier: Send + Sync;

    /// Short name for logs and benchmark output.
    const NAME: &'static str;

    /// The public key of a secret key.
    fn public_key(sk: &Self::SecretKey) -> Self::PublicKey;
    /// Builds the verifier of a committee (members in index order with their stake).
    fn verifier(members: &[(Self::PublicKey, u64)]) -> Self::Verifier;
    /// Signs a digest.
    fn sign(sk: &Self::SecretKey, digest: &[u8; 32]) -> Self::Signature;
    /// Checks one signature of member `signer`.
    fn verify(v: &Self::Verifier, signer: MemberIndex, digest: &[u8; 32], sig: &Self::Signature) -> bool;
    /// Combines signatures of distinct members of a committee of `members` into a certificate.
    fn aggregate(members: usize, sigs: &[(MemberIndex, Self::Signature)]) -> Option<Self::Certificate>;
    /// The members that signed, ascending.
    fn signers(cert: &Self::Certificate) -> Vec<MemberIndex>;
    /// Checks that every signer `i` of `cert` signed `digest_of(i)` (its signatures only; the
    /// caller checks the stake of [`Scheme::signers`]).
    fn verify_certificate(v: &Self::Verifier, cert: &Self::Certificate, digest_of: &dyn Fn(MemberIndex) -> [u8; 32]) -> bool;

    /// Appends the wire form of a signature.
    fn encode_signature(sig: &Self::Signature, out: &mut Vec<u8>);
    /// Reads a signature.
    fn decode_signature(r: &mut Reader<'_>) -> Result<Self::Signature, CodecError>;
    /// Appends the wire form of a certificate.
    fn encode_certificate(cert: &Self::Certificate, out: &mut Vec<u8>);
    /// Reads a certificate of a committee of `members`.
    fn decode_certificate(r: &mut Reader<'_>, members: usize) -> Result<Self::Certificate, CodecError>;
}

/// BLS12-381 (min-pk) through the `committee` crate: aggregate signatures with a signer bitmap.
/// Finality certificates made with it are exactly what the L1 inbox verifies.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Bls;

impl Scheme for Bls {
    type PublicKey = committee::PublicKey;
    type SecretKey = committee::SecretKey;
    type Signature = committee::Signature;
    type Certificate = committee::Certificate;
    type Verifier = committee::Committee;

    const NAME: &'static str = "bls12-381";

    fn public_key(sk: &Self::SecretKey) -> Self::PublicKey {
        sk.public_key()
    }

    fn verifier(members: &[(Self::PublicKey, u64)]) -> Self::Verifier {
        committee::Committee { epoch: 0, members: members.to_vec() }
    }

    fn sign(sk: &Self::SecretKey, digest: &[u8; 32]) -> Self::Signature {
        sk.sign(digest)
    }

    fn verify(v: &Self::Verifier, signer: MemberIndex, digest: &[u8; 32], sig: &Self::Signature) -> bool {
        v.members.get(usize::from(signer)).is_some_and(|(pk, _)| pk.verify(digest, sig))
    }

    fn aggregate(members: usize, sigs: &[(MemberIndex, Self::Signature)]) -> Option<Self::Certificate> {
        let sigs: Vec<(usize, committee::Signature)> = sigs.iter().map(|(i, s)| (usize::from(*i), *s)).collect();
        committee::Certificate::aggregate(members, &sigs).ok()
    }

    fn signers(cert: &Self::Certificate) -> Vec<MemberIndex> {
        cert.signers().filter_map(|i| MemberIndex::try_from(i).ok()).collect()
    }

    fn verify_certificate(v: &Self::Verifier, cert: &Self::Certificate, digest_of: &dyn Fn(MemberIndex) -> [u8; 32]) -> bool {
        // `signers` only yields indices below the committee size once the bitmap length matches,
        // which `verify_multi` checks first; indices fit a MemberIndex for committees we accept.
        cert.verify_multi(v, |i| digest_of(i as MemberIndex)).is_ok()
    }

    fn encode_signature(sig: &Self::Signature, out: &mut Vec<u8>) {
        out.extend_from_slice(&sig.to_compressed());
    }

    fn decode_signature(r: &mut Reader<'_>) -> Result<Self::Signature, CodecError> {
        let b = r.take(96, "bls signature")?;
        committee::Signature::from_bytes(b).map_err(|e| CodecError::Invalid { what: "bls signature", reason: e.to_string() })
    }

    fn encode_certificate(cert: &Self::Certificate, out: &mut Vec<u8>) {
        out.extend_from_slice(&cert.signature.to_compressed());
        out.extend_from_slice(&cert.bitmap);
    }

    fn decode_certificate(r: &mut Reader<'_>, members: usize) -> Result<Self::Certificate, CodecError> {
        let signature = Self::decode_signature(r)?;
        let bitmap = r.take(members.div_ceil(8), "certificate bitmap")?.to_vec();
        if !members.is_multiple_of(8) && bitmap.last().is_some_and(|b| b >> (members % 8) != 0) {
            return Err(CodecError::Invalid { what: "certificate bitmap", reason: "bits set past the committee size".into() });
        }
        Ok(committee::Certificate { bitmap, signature })
    }
}
