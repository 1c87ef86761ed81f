//! The sequencer committee's cryptography, in exactly the forms the L1 inbox verifies.
//!
//! BLS12-381, min-pk (public keys in G1, signatures in G2), hashing to G2 with the proof-of-
//! possession ciphersuite ([`protocol::sequencer::BLS_DST`]). A [`Certificate`] is an aggregate
//! signature plus a signer bitmap over a committee; it is valid when the signers hold strictly
//! more than two thirds of the stake. Keys and signatures convert to and from the EIP-2537
//! uncompressed encodings the L1 precompiles take. See `docs/protocol.md` section 5.3.

use blst::min_pk;
use blst::BLST_ERROR;
use protocol::sequencer::{Committee as L1Committee, CommitteeMember, BLS_DST};

/// Domain separation tag of proofs of possession (IETF BLS, POP ciphersuite).
pub const POP_DST: &[u8] = b"BLS_POP_BLS12381G2_XMD:SHA-256_SSWU_RO_POP_";
/// EIP-2537 G1 point size.
pub const G1_EIP2537_SIZE: usize = 128;
/// EIP-2537 G2 point size.
pub const G2_EIP2537_SIZE: usize = 256;

/// What went wrong with a key, a signature or a certificate.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum CryptoError {
    /// Bytes that are not a valid point or scalar of the expected group.
    #[error("invalid {what}: {reason}")]
    Invalid {
        /// Which object.
        what: &'static str,
        /// Why.
        reason: String,
    },
    /// The bitmap does not match the committee size.
    #[error("signer bitmap is {got} bytes, committee of {members} needs {expected}")]
    BitmapLength {
        /// Committee size.
        members: usize,
        /// Bytes expected.
        expected: usize,
        /// Bytes given.
        got: usize,
    },
    /// The signers' stake is not a quorum.
    #[error("signers hold {signed} of {total} stake; more than two thirds is needed")]
    BelowQuorum {
        /// Stake of the signers.
        signed: u128,
        /// Total stake.
        total: u128,
    },
    /// The aggregate signature does not verify.
    #[error("signature does not verify")]
    BadSignature,
}

fn invalid(what: &'static str, e: BLST_ERROR) -> CryptoError {
    CryptoError::Invalid { what, reason: format!("{e:?}") }
}

/// A committee member's secret key.
#[derive(Clone)]
pub struct SecretKey(min_pk::SecretKey);

impl std::fmt::Debug for SecretKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "SecretKey({})", self.public_key())
    }
}

impl SecretKey {
    /// Derives a key from at least 32 bytes of secret input keying material (IETF KeyGen).
    pub fn from_ikm(ikm: &[u8]) -> Result<Self, CryptoError> {
        min_pk::SecretKey::key_gen(ikm, &[]).map(Self).map_err(|e| invalid("key material", e))
    }

    /// The 32-byte big-endian scalar.
    pub fn to_bytes(&self) -> [u8; 32] {
        self.0.to_bytes()
    }

    /// Parses [`SecretKey::to_bytes`]'s output.
    pub fn from_bytes(b: &[u8]) -> Result<Self, CryptoError> {
        min_pk::SecretKey::from_bytes(b).map(Self).map_err(|e| invalid("secret key", e))
    }

    /// The matching public key.
    pub fn public_key(&self) -> PublicKey {
        PublicKey(self.0.sk_to_pk())
    }

    /// Signs a 32-byte digest (a finality or handover digest, or any consensus message digest).
    pub fn sign(&self, digest: &[u8; 32]) -> Signature {
        Signature(self.0.sign(digest, BLS_DST, &[]))
    }

    /// The proof of possession a key must show before it joins a committee.
    pub fn prove_possession(&self) -> Signature {
        Signature(self.0.sign(&self.public_key().to_compressed(), POP_DST, &[]))
    }
}

/// A committee member's public key (a G1 point).
#[derive(Clone, Copy, PartialEq, Eq)]
pub struct PublicKey(min_pk::PublicKey);

impl std::fmt::Display for PublicKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        for b in &self.to_compressed()[..8] {
            write!(f, "{b:02x}")?;
        }
        f.write_str("…")
    }
}

impl std::fmt::Debug for PublicKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "PublicKey({self})")
    }
}

impl std::hash::Hash for PublicKey {
    fn hash<H: std::hash::Hasher>(&self, state: &mut H) {
        self.to_compressed().hash(state)
    }
}

impl PublicKey {
    /// 48-byte compressed form (storage, configs, the network).
    pub fn to_compressed(&self) -> [u8; 48] {
        self.0.compress()
    }

    /// Parses a compressed or uncompressed key and checks it is a valid, non-identity point of
    /// the prime-order subgroup.
    pub fn from_bytes(b: &[u8]) -> Result<Self, CryptoError> {
        min_pk::PublicKey::key_validate(b).map(Self).map_err(|e| invalid("public key", e))
    }

    /// The EIP-2537 G1 encoding: x then y, each 48 bytes left-padded to 64.
    pub fn to_eip2537(&self) -> [u8; G1_EIP2537_SIZE] {
        let raw = self.0.serialize(); // x || y, 48 bytes each
        let mut out = [0u8; G1_EIP2537_SIZE];
        out[16..64].copy_from_slice(&raw[..48]);
        out[80..128].copy_from_slice(&raw[48..]);
        out
    }

    /// Parses an EIP-2537 G1 encoding (validating the point).
    pub fn from_eip2537(b: &[u8]) -> Result<Self, CryptoError> {
        let raw = unpad::<2>(b, "public key")?;
        Self::from_bytes(&raw)
    }

    /// Checks a proof of possession.
    pub fn verify_possession(&self, pop: &Signature) -> bool {
        pop.0.verify(true, &self.to_compressed(), POP_DST, &[], &self.0, true) == BLST_ERROR::BLST_SUCCESS
    }

    /// Checks a single signature over a digest.
    pub fn verify(&self, digest: &[u8; 32], sig: &Signature) -> bool {
        sig.0.verify(true, digest, BLS_DST, &[], &self.0, true) == BLST_ERROR::BLST_SUCCESS
    }
}

/// Removes the 16-byte zero padding of `N` EIP-2537 field elements (64 bytes each) and returns
/// the concatenated 48-byte elements.
fn unpad<const N: usize>(b: &[u8], what: &'static str) -> Result<Vec<u8>, CryptoError> {
    if b.len() != 64 * N {
        return Err(CryptoError::Invalid { what, reason: format!("expected {} bytes, got {}", 64 * N, b.len()) });
    }
    let mut out = Vec::with_capacity(48 * N);
    for chunk in b.chunks_exact(64) {
        if chunk[..16].iter().any(|&x| x != 0) {
            return Err(CryptoError::Invalid { what, reason: "non-zero field element padding".into() });
        }
        out.extend_from_slice(&chunk[16..]);
    }
    Ok(out)
}

/// A signature (a G2 point), single or aggregate.
#[derive(Clone, Copy, PartialEq, Eq)]
pub struct Signature(min_pk::Signature);

impl std::fmt::Debug for Signature {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Signature(")?;
        for b in &self.to_compressed()[..8] {
            write!(f, "{b:02x}")?;
        }
        write!(f, "…)")
    }
}

impl Signature {
    /// 96-byte compressed form.
    pub fn to_compressed(&self) -> [u8; 96] {
        self.0.compress()
    }

    /// Parses a compressed or uncompressed signature, checking subgroup membership.
    pub fn from_bytes(b: &[u8]) -> Result<Self, CryptoError> {
        let s = min_pk::Signature::from_bytes(b).map_err(|e| invalid("signature", e))?;
        s.validate(true).map_err(|e| invalid("signature", e))?;
        Ok(Self(s))
    }

    /// The EIP-2537 G2 encoding: x.c0, x.c1, y.c0, y.c1, each 48 bytes left-padded to 64.
    pub fn to_eip2537(&self) -> [u8; G2_EIP2537_SIZE] {
        // blst serialises x.c1 || x.c0 || y.c1 || y.c0; EIP-2537 wants c0 first.
        let raw = self.0.serialize();
        let order = [1usize, 0, 3, 2];
        let mut out = [0u8; G2_EIP2537_SIZE];
        for (i, &src) in order.iter().enumerate() {
            out[i * 64 + 16..(i + 1) * 64].copy_from_slice(&raw[src * 48..(src + 1) * 48]);
        }
        out
    }

    /// Parses an EIP-2537 G2 encoding (validating the point).
    pub fn from_eip2537(b: &[u8]) -> Result<Self, CryptoError> {
        let e = unpad::<4>(b, "signature")?;
        let mut raw = Vec::with_capacity(192);
        for src in [1usize, 0, 3, 2] {
            raw.extend_from_slice(&e[src * 48..(src + 1) * 48]);
        }
        Self::from_bytes(&raw)
    }

    /// Aggregates signatures (over the same digest, for a certificate).
    pub fn aggregate(sigs: &[Signature]) -> Result<Signature, CryptoError> {
        let refs: Vec<&min_pk::Signature> = sigs.iter().map(|s| &s.0).collect();
        min_pk::AggregateSignature::aggregate(&refs, false)
            .map(|a| Signature(a.to_signature()))
            .map_err(|e| invalid("signature set", e))
    }
}

/// A committee: members in bitmap order with their stake, and its epoch.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Committee {
    /// Increases at each handover.
    pub epoch: u64,
    /// Members in bitmap order.
    pub members: Vec<(PublicKey, u64)>,
}

impl Committee {
    /// Total stake.
    pub fn total_stake(&self) -> u128 {
        self.members.iter().map(|(_, s)| u128::from(*s)).sum()
    }

    /// Strictly more than two thirds of the total stake.
    pub fn quorum_stake(&self) -> u128 {
        self.total_stake() * 2 / 3 + 1
    }

    /// The committee as the L1 holds it (and hashes it for handovers).
    pub fn to_l1(&self) -> L1Committee {
        L1Committee {
            epoch: self.epoch,
            members: self.members.iter().map(|(pk, stake)| CommitteeMember { g1_pubkey: pk.to_eip2537(), stake: *stake }).collect(),
        }
    }

    /// Position of a key in the bitmap.
    pub fn index_of(&self, pk: &PublicKey) -> Option<usize> {
        self.members.iter().position(|(k, _)| k == pk)
    }
}

/// An aggregate signature with its signer bitmap: the proof that a quorum signed a digest.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Certificate {
    /// Member `i` signed iff bit `i % 8` of byte `i / 8` is set.
    pub bitmap: Vec<u8>,
    /// The aggregate of the signers' signatures.
    pub signature: Signature,
}

impl Certificate {
    /// Builds a certificate from `(member index, signature)` pairs of a committee of `n`.
    /// Duplicate indices are counted once.
    pub fn aggregate(n: usize, sigs: &[(usize, Signature)]) -> Result<Self, CryptoError> {
        let mut bitmap = vec![0u8; n.div_ceil(8)];
        let mut unique = Vec::with_capacity(sigs.len());
        for (i, s) in sigs {
            if *i >= n {
                return Err(CryptoError::Invalid { what: "signer index", reason: format!("{i} >= committee size {n}") });
            }
            if bitmap[i / 8] & (1 << (i % 8)) == 0 {
                bitmap[i / 8] |= 1 << (i % 8);
                unique.push(*s);
            }
        }
        Ok(Certificate { bitmap, signature: Signature::aggregate(&unique)? })
    }

    /// Indices of the signers.
    pub fn signers(&self) -> impl Iterator<Item = usize> + '_ {
        (0..self.bitmap.len() * 8).filter(|i| self.bitmap[i / 8] & (1 << (i % 8)) != 0)
    }

    /// Checks the bitmap against the committee and the signers' stake against the quorum;
    /// returns the signers.
    fn quorum_signers(&self, committee: &Committee) -> Result<Vec<usize>, CryptoError> {
        let n = committee.members.len();
        let expected = n.div_ceil(8);
        if self.bitmap.len() != expected {
            return Err(CryptoError::BitmapLength { members: n, expected, got: self.bitmap.len() });
        }
        if n % 8 != 0 && self.bitmap[expected - 1] >> (n % 8) != 0 {
            return Err(CryptoError::Invalid { what: "signer bitmap", reason: "bits set past the committee size".into() });
        }
        let signers: Vec<usize> = self.signers().collect();
        let signed: u128 = signers.iter().map(|i| u128::from(committee.members[*i].1)).sum();
        if signed < committee.quorum_stake() {
            return Err(CryptoError::BelowQuorum { signed, total: committee.total_stake() });
        }
        Ok(signers)
    }

    /// Checks the bitmap, the quorum and the aggregate signature over `digest`.
    pub fn verify(&self, committee: &Committee, digest: &[u8; 32]) -> Result<(), CryptoError> {
        let keys: Vec<&min_pk::PublicKey> = self.quorum_signers(committee)?.iter().map(|i| &committee.members[*i].0 .0).collect();
        let agg = min_pk::AggregatePublicKey::aggregate(&keys, false).map_err(|e| invalid("signer keys", e))?;
        match self.signature.0.verify(true, digest, BLS_DST, &[], &agg.to_public_key(), false) {
            BLST_ERROR::BLST_SUCCESS => Ok(()),
            _ => Err(CryptoError::BadSignature),
        }
    }

    /// Checks bitmap, quorum and an aggregate where each signer `i` signed its own digest
    /// `digest_of(i)`, as in consensus timeout certificates (each signer reports its own highest
    /// certificate). Signers that signed the same digest are checked together, so the cost is one
    /// pairing per distinct digest plus one.
    pub fn verify_multi(&self, committee: &Committee, digest_of: impl Fn(usize) -> [u8; 32]) -> Result<(), CryptoError> {
        // (digest, keys that signed it), in first-seen order.
        let mut groups: Vec<([u8; 32], Vec<&min_pk::PublicKey>)> = Vec::new();
        for i in self.quorum_signers(committee)? {
            let d = digest_of(i);
            match groups.iter_mut().find(|(g, _)| *g == d) {
                Some((_, keys)) => keys.push(&committee.members[i].0 .0),
                None => groups.push((d, vec![&committee.members[i].0 .0])),
            }
        }
        if let [(digest, _)] = &groups[..] {
            return self.verify(committee, digest);
        }
        let mut agg_keys = Vec::with_capacity(groups.len());
        for (_, keys) in &groups {
            let agg = min_pk::AggregatePublicKey::aggregate(keys, false).map_err(|e| invalid("signer keys", e))?;
            agg_keys.push(agg.to_public_key());
        }
        let msgs: Vec<&[u8]> = groups.iter().map(|(d, _)| d.as_slice()).collect();
        let key_refs: Vec<&min_pk::PublicKey> = agg_keys.iter().collect();
        match self.signature.0.aggregate_verify(true, &msgs, BLS_DST, &key_refs, false) {
            BLST_ERROR::BLST_SUCCESS => Ok(()),
            _ => Err(CryptoError::BadSignature),
        }
    }

    /// The L1 encoding: the G2 signature (256 bytes, EIP-2537) then the bitmap.
    pub fn to_l1_bytes(&self) -> Vec<u8> {
        let mut out = self.signature.to_eip2537().to_vec();
        out.extend_from_slice(&self.bitmap);
        out
    }

    /// Parses [`Certificate::to_l1_bytes`]'s output.
    pub fn from_l1_bytes(b: &[u8]) -> Result<Self, CryptoError> {
        if b.len() < G2_EIP2537_SIZE {
            return Err(CryptoError::Invalid { what: "certificate", reason: format!("{} bytes is too short", b.len()) });
        }
        Ok(Certificate { signature: Signature::from_eip2537(&b[..G2_EIP2537_SIZE])?, bitmap: b[G2_EIP2537_SIZE..].to_vec() })
    }
}

/// A deterministic development committee: key `i` is derived from `seed` and `i`. For devnets
/// and tests only: anyone knowing the seed has the keys.
pub fn dev_keys(seed: &str, n: usize) -> Vec<SecretKey> {
    (0..n)
        .map(|i| {
            let ikm = protocol::keccak256(format!("dev-committee/{seed}/{i}").as_bytes());
            SecretKey::from_ikm(&ikm).expect("32 bytes of ikm")
        })
        .collect()
}
