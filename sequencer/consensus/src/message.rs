//! What replicas say to each other, the digests they sign, and the wire encoding of it all
//! (`docs/consensus.md` sections 3 and 6).

use std::sync::Arc;

use protocol::hash::{keccak256, keccak256_concat};
use protocol::sequencer::finality_digest;
use protocol::Hash32;

use crate::block::{Block, Limits};
use crate::codec::{CodecError, Reader, Writer};
use crate::scheme::Scheme;
use crate::{Height, MemberIndex, View, MAX_HEIGHT, MAX_VIEW};

/// Domain of vote digests: `keccak256("rollup.sequencer.consensus.vote.v1")`.
pub fn vote_domain() -> [u8; 32] {
    keccak256(b"rollup.sequencer.consensus.vote.v1")
}
/// Domain of timeout digests.
pub fn timeout_domain() -> [u8; 32] {
    keccak256(b"rollup.sequencer.consensus.timeout.v1")
}
/// Domain of proposal digests.
pub fn proposal_domain() -> [u8; 32] {
    keccak256(b"rollup.sequencer.consensus.proposal.v1")
}

/// What a vote signs: `H(vote_domain || chain_id || view || height || block_hash)`.
pub fn vote_digest(chain_id: u64, view: View, height: Height, block: &Hash32) -> [u8; 32] {
    keccak256_concat(&[&vote_domain(), &chain_id.to_be_bytes(), &view.to_be_bytes(), &height.to_be_bytes(), &block.0])
}
/// What a timeout signs: `H(timeout_domain || chain_id || view || high_qc_view)`.
pub fn timeout_digest(chain_id: u64, view: View, high_qc_view: View) -> [u8; 32] {
    keccak256_concat(&[&timeout_domain(), &chain_id.to_be_bytes(), &view.to_be_bytes(), &high_qc_view.to_be_bytes()])
}
/// What a leader signs for its proposal: `H(proposal_domain || chain_id || view || block_hash)`.
pub fn proposal_digest(chain_id: u64, view: View, block: &Hash32) -> [u8; 32] {
    keccak256_concat(&[&proposal_domain(), &chain_id.to_be_bytes(), &view.to_be_bytes(), &block.0])
}

/// A quorum certificate: more than two thirds of the stake voted for `block` in `view`.
/// The genesis certificate (view 0, the genesis block) has no signatures.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct QuorumCert<S: Scheme> {
    /// The view the block was proposed and voted in.
    pub view: View,
    /// The block's height.
    pub height: Height,
    /// The block's hash.
    pub block: Hash32,
    /// The votes; `None` only for the genesis certificate.
    pub cert: Option<S::Certificate>,
}

impl<S: Scheme> QuorumCert<S> {
    /// The certificate of the genesis block.
    pub fn genesis(genesis: &Hash32) -> Self {
        QuorumCert { view: 0, height: 0, block: *genesis, cert: None }
    }

    fn encode(&self, out: &mut Vec<u8>) {
        out.put_u64(self.view);
        out.put_u64(self.height);
        out.extend_from_slice(&self.block.0);
        match &self.cert {
            None => out.push(0),
            Some(c) => {
                out.push(1);
                S::encode_certificate(c, out);
            }
        }
    }

    fn decode(r: &mut Reader<'_>, members: usize) -> Result<Self, CodecError> {
        let view = r.u64_at_most(MAX_VIEW, "qc view")?;
        let height = r.u64_at_most(MAX_HEIGHT, "qc height")?;
        let block = r.hash("qc block")?;
        let cert = match r.u8("qc flag")? {
            0 => None,
            1 => Some(S::decode_certificate(r, members)?),
            tag => return Err(CodecError::UnknownTag { what: "qc flag", tag }),
        };
        Ok(QuorumCert { view, height, block, cert })
    }
}

/// A timeout certificate: more than two thirds of the stake gave up on `view`; each signer
/// reported the view of the highest quorum certificate it had, and the certificate carries the
/// highest of those certificates itself (as the two-chain TC of Jolteon and Aptos does), so a
/// signer cannot inflate the maximum without holding a real certificate of that view.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TimeoutCert<S: Scheme> {
    /// The view that timed out.
    pub view: View,
    /// `(signer, its high_qc view)` in signer order (the order of the certificate's signers).
    pub high_qc_views: Vec<(MemberIndex, View)>,
    /// A quorum certificate of view [`TimeoutCert::max_high_qc_view`] (the genesis certificate
    /// when that is 0).
    pub high_qc: QuorumCert<S>,
    /// The aggregate of the signers' timeout signatures.
    pub cert: S::Certificate,
}

impl<S: Scheme> TimeoutCert<S> {
    /// The highest of the reported high-QC views: a proposal justified by this certificate must
    /// extend a block certified at least that late.
    pub fn max_high_qc_view(&self) -> View {
        self.high_qc_views.iter().map(|(_, v)| *v).max().unwrap_or(0)
    }

    fn encode(&self, out: &mut Vec<u8>) {
        out.put_u64(self.view);
        S::encode_certificate(&self.cert, out);
        for (_, v) in &self.high_qc_views {
            out.put_u64(*v);
        }
        self.high_qc.encode(out);
    }

    fn decode(r: &mut Reader<'_>, members: usize) -> Result<Self, CodecError> {
        let view = r.u64_at_most(MAX_VIEW, "tc view")?;
        let cert = S::decode_certificate(r, members)?;
        let signers = S::signers(&cert);
        let mut high_qc_views = Vec::with_capacity(signers.len());
        for s in signers {
            high_qc_views.push((s, r.u64_at_most(MAX_VIEW, "tc high qc view")?));
        }
        let high_qc = QuorumCert::decode(r, members)?;
        let tc = TimeoutCert { view, high_qc_views, high_qc, cert };
        if tc.high_qc.view != tc.max_high_qc_view() {
            let reason = format!("carries a qc of view {}, its signers reported {}", tc.high_qc.view, tc.max_high_qc_view());
            return Err(CodecError::Invalid { what: "tc", reason });
        }
        Ok(tc)
    }
}

/// A leader's block for its view, justified by the certificate of its parent and, after a
/// timed-out view, by the timeout certificate of the view before.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Proposal<S: Scheme> {
    /// The proposed block (its header names the view).
    pub block: Arc<Block>,
    /// Certificate of the block's parent.
    pub justify: QuorumCert<S>,
    /// Present when `justify` is not from the view just before.
    pub tc: Option<TimeoutCert<S>>,
    /// The leader's signature over [`proposal_digest`].
    pub signature: S::Signature,
}

/// One member's vote for a block.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Vote<S: Scheme> {
    /// The view.
    pub view: View,
    /// The block's height.
    pub height: Height,
    /// The block voted for.
    pub block: Hash32,
    /// The voter.
    pub signer: MemberIndex,
    /// Signature over [`vote_digest`].
    pub signature: S::Signature,
}

/// One member giving up on a view, with its highest certificate.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Timeout<S: Scheme> {
    /// The view given up on.
    pub view: View,
    /// The highest quorum certificate the signer has.
    pub high_qc: QuorumCert<S>,
    /// The signer.
    pub signer: MemberIndex,
    /// Signature over [`timeout_digest`] of `(view, high_qc.view)`.
    pub signature: S::Signature,
}

/// How the sender got past a view: sent to peers that are behind (view synchronisation).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Advance<S: Scheme> {
    /// The sender's highest quorum certificate.
    pub high_qc: QuorumCert<S>,
    /// The sender's latest timeout certificate, if it is later than `high_qc`.
    pub tc: Option<TimeoutCert<S>>,
}

/// One member's signature over the protocol's finality digest of a block it decided.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FinalityVote<S: Scheme> {
    /// The decided height.
    pub height: Height,
    /// The decided block.
    pub block: Hash32,
    /// The signer.
    pub signer: MemberIndex,
    /// Signature over `protocol::sequencer::finality_digest(chain_id, height, block)`.
    pub signature: S::Signature,
}

/// A finality certificate: more than two thirds of the stake signed the finality digest of a
/// block. With [`crate::Bls`] this is the certificate the L1 inbox verifies.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FinalityCert<S: Scheme> {
    /// Height of the block.
    pub height: Height,
    /// The block.
    pub block: Hash32,
    /// The aggregate signature and signers.
    pub cert: S::Certificate,
}

impl<S: Scheme> FinalityCert<S> {
    /// The digest the certificate signs.
    pub fn digest(&self, chain_id: u64) -> [u8; 32] {
        finality_digest(chain_id, self.height, &self.block)
    }

    fn encode(&self, out: &mut Vec<u8>) {
        out.put_u64(self.height);
        out.extend_from_slice(&self.block.0);
        S::encode_certificate(&self.cert, out);
    }

    fn decode(r: &mut Reader<'_>, members: usize) -> Result<Self, CodecError> {
        Ok(FinalityCert { height: r.u64_at_most(MAX_HEIGHT, "height")?, block: r.hash("block")?, cert: S::decode_certificate(r, members)? })
    }
}

/// A block with the certificate of its parent, as stored and as served to peers catching up.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BlockRecord<S: Scheme> {
    /// The block.
    pub block: Arc<Block>,
    /// The certificate of its parent that justified it.
    pub justify: QuorumCert<S>,
}

impl<S: Scheme> BlockRecord<S> {
    /// Appends the wire form.
    pub fn encode(&self, out: &mut Vec<u8>) {
        self.block.encode(out);
        self.justify.encode(out);
    }

    /// Reads [`BlockRecord::encode`]'s output.
    pub fn decode(r: &mut Reader<'_>, ctx: &WireContext) -> Result<Self, CodecError> {
        let block = Arc::new(Block::decode(r, &ctx.limits)?);
        let justify = QuorumCert::decode(r, ctx.members)?;
        Ok(BlockRecord { block, justify })
    }

    /// Encodes to a fresh buffer (storage).
    pub fn to_bytes(&self) -> Vec<u8> {
        let mut out = Vec::with_capacity(self.block.encoded_len() + 256);
        self.encode(&mut out);
        out
    }

    /// Decodes a whole buffer.
    pub fn from_bytes(bytes: &[u8], ctx: &WireContext) -> Result<Self, CodecError> {
        decode_all(bytes, "block record", |r| Self::decode(r, ctx))
    }
}

/// A consensus message (authenticated by the signatures it carries, whoever relays it).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Message<S: Scheme> {
    /// A leader's proposal.
    Proposal(Proposal<S>),
    /// A vote.
    Vote(Vote<S>),
    /// A timeout.
    Timeout(Timeout<S>),
    /// View synchronisation help.
    Advance(Advance<S>),
    /// A finality signature.
    Finality(FinalityVote<S>),
    /// A complete finality certificate.
    FinalityCert(FinalityCert<S>),
}

/// A catch-up question to one peer.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Request {
    /// The block `hash` and up to `max - 1` of its ancestors, newest first.
    Blocks {
        /// The newest block wanted.
        hash: Hash32,
        /// How many blocks at most.
        max: u16,
    },
    /// Finality certificates of decided blocks from `from` upwards.
    Certificates {
        /// The first height wanted.
        from: Height,
        /// How many at most.
        max: u16,
    },
}

/// The answer to a [`Request`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Response<S: Scheme> {
    /// Blocks newest first (possibly fewer than asked, possibly none).
    Blocks(Vec<BlockRecord<S>>),
    /// Certificates ascending by height.
    Certificates(Vec<FinalityCert<S>>),
}

/// What decoding needs to know: committee size (certificate bitmaps) and block limits.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct WireContext {
    /// Committee size.
    pub members: usize,
    /// Block limits.
    pub limits: Limits,
}

/// The most records one response may carry.
pub const MAX_RESPONSE_ITEMS: usize = 1024;

const TAG_PROPOSAL: u8 = 1;
const TAG_VOTE: u8 = 2;
const TAG_TIMEOUT: u8 = 3;
const TAG_ADVANCE: u8 = 4;
const TAG_FINALITY: u8 = 5;
const TAG_FINALITY_CERT: u8 = 6;

impl<S: Scheme> Message<S> {
    /// The wire form: a tag byte then the fields.
    pub fn encode(&self) -> Vec<u8> {
        let mut out = Vec::new();
        match self {
            Message::Proposal(p) => {
                out.reserve(p.block.encoded_len() + 512);
                out.push(TAG_PROPOSAL);
                p.block.encode(&mut out);
                p.justify.encode(&mut out);
                match &p.tc {
                    None => out.push(0),
                    Some(tc) => {
                        out.push(1);
                        tc.encode(&mut out);
                    }
                }
                S::encode_signature(&p.signature, &mut out);
            }
            Message::Vote(v) => {
                out.push(TAG_VOTE);
                out.put_u64(v.view);
                out.put_u64(v.height);
                out.extend_from_slice(&v.block.0);
                out.put_u16(v.signer);
                S::encode_signature(&v.signature, &mut out);
            }
            Message::Timeout(t) => {
                out.push(TAG_TIMEOUT);
                out.put_u64(t.view);
                t.high_qc.encode(&mut out);
                out.put_u16(t.signer);
                S::encode_signature(&t.signature, &mut out);
            }
            Message::Advance(a) => {
                out.push(TAG_ADVANCE);
                a.high_qc.encode(&mut out);
                match &a.tc {
                    None => out.push(0),
                    Some(tc) => {
                        out.push(1);
                        tc.encode(&mut out);
                    }
                }
            }
            Message::Finality(f) => {
                out.push(TAG_FINALITY);
                out.put_u64(f.height);
                out.extend_from_slice(&f.block.0);
                out.put_u16(f.signer);
                S::encode_signature(&f.signature, &mut out);
            }
            Message::FinalityCert(c) => {
                out.push(TAG_FINALITY_CERT);
                c.encode(&mut out);
            }
        }
        out
    }

    /// Parses [`Message::encode`]'s output; any other input is an error.
    pub fn decode(bytes: &[u8], ctx: &WireContext) -> Result<Self, CodecError> {
        let mut r = Reader::new(bytes);
        let signer = |r: &mut Reader<'_>| -> Result<MemberIndex, CodecError> {
            let s = r.u16("signer")?;
            if usize::from(s) >= ctx.members {
                return Err(CodecError::Invalid { what: "signer", reason: format!("{s} is not a committee member") });
            }
            Ok(s)
        };
        let tc = |r: &mut Reader<'_>| -> Result<Option<TimeoutCert<S>>, CodecError> {
            match r.u8("tc flag")? {
                0 => Ok(None),
                1 => Ok(Some(TimeoutCert::decode(r, ctx.members)?)),
                tag => Err(CodecError::UnknownTag { what: "tc flag", tag }),
            }
        };
        let msg = match r.u8("message tag")? {
            TAG_PROPOSAL => {
                let block = Arc::new(Block::decode(&mut r, &ctx.limits)?);
                let justify = QuorumCert::decode(&mut r, ctx.members)?;
                let tc = tc(&mut r)?;
                let signature = S::decode_signature(&mut r)?;
                Message::Proposal(Proposal { block, justify, tc, signature })
            }
            TAG_VOTE => Message::Vote(Vote {
                view: r.u64_at_most(MAX_VIEW, "view")?,
                height: r.u64_at_most(MAX_HEIGHT, "height")?,
                block: r.hash("block")?,
                signer: signer(&mut r)?,
                signature: S::decode_signature(&mut r)?,
            }),
            TAG_TIMEOUT => Message::Timeout(Timeout {
                view: r.u64_at_most(MAX_VIEW, "view")?,
                high_qc: QuorumCert::decode(&mut r, ctx.members)?,
                signer: signer(&mut r)?,
                signature: S::decode_signature(&mut r)?,
            }),
            TAG_ADVANCE => Message::Advance(Advance { high_qc: QuorumCert::decode(&mut r, ctx.members)?, tc: tc(&mut r)? }),
            TAG_FINALITY => Message::Finality(FinalityVote {
                height: r.u64_at_most(MAX_HEIGHT, "height")?,
                block: r.hash("block")?,
                signer: signer(&mut r)?,
                signature: S::decode_signature(&mut r)?,
            }),
            TAG_FINALITY_CERT => Message::FinalityCert(FinalityCert::decode(&mut r, ctx.members)?),
            tag => return Err(CodecError::UnknownTag { what: "message", tag }),
        };
        r.finish("message")?;
        Ok(msg)
    }

    /// Short name for logs and metrics.
    pub fn kind(&self) -> &'static str {
        match self {
            Message::Proposal(_) => "proposal",
            Message::Vote(_) => "vote",
            Message::Timeout(_) => "timeout",
            Message::Advance(_) => "advance",
            Message::Finality(_) => "finality",
            Message::FinalityCert(_) => "finality_cert",
        }
    }
}

impl Request {
    /// The wire form.
    pub fn encode(&self) -> Vec<u8> {
        let mut out = Vec::with_capacity(43);
        match self {
            Request::Blocks { hash, max } => {
                out.push(1);
                out.extend_from_slice(&hash.0);
                out.put_u16(*max);
            }
            Request::Certificates { from, max } => {
                out.push(2);
                out.put_u64(*from);
                out.put_u16(*max);
            }
        }
        out
    }

    /// Parses [`Request::encode`]'s output.
    pub fn decode(bytes: &[u8]) -> Result<Self, CodecError> {
        let mut r = Reader::new(bytes);
        let req = match r.u8("request tag")? {
            1 => Request::Blocks { hash: r.hash("hash")?, max: r.u16("max")? },
            2 => Request::Certificates { from: r.u64_at_most(MAX_HEIGHT, "from")?, max: r.u16("max")? },
            tag => return Err(CodecError::UnknownTag { what: "request", tag }),
        };
        r.finish("request")?;
        Ok(req)
    }
}

impl<S: Scheme> Response<S> {
    /// The wire form.
    pub fn encode(&self) -> Vec<u8> {
        let mut out = Vec::new();
        match self {
            Response::Blocks(blocks) => {
                out.push(1);
                out.put_u32(blocks.len() as u32);
                for b in blocks {
                    b.encode(&mut out);
                }
            }
            Response::Certificates(certs) => {
                out.push(2);
                out.put_u32(certs.len() as u32);
                for c in certs {
                    c.encode(&mut out);
                }
            }
        }
        out
    }

    /// Parses [`Response::encode`]'s output.
    pub fn decode(bytes: &[u8], ctx: &WireContext) -> Result<Self, CodecError> {
        let mut r = Reader::new(bytes);
        let resp = match r.u8("response tag")? {
            1 => {
                let n = r.count(MAX_RESPONSE_ITEMS, "blocks in response")?;
                let mut blocks = Vec::with_capacity(n.min(64));
                for _ in 0..n {
                    blocks.push(BlockRecord::decode(&mut r, ctx)?);
                }
                Response::Blocks(blocks)
            }
            2 => {
                let n = r.count(MAX_RESPONSE_ITEMS, "certificates in response")?;
                let mut certs = Vec::with_capacity(n.min(64));
                for _ in 0..n {
                    certs.push(FinalityCert::decode(&mut r, ctx.members)?);
                }
                Response::Certificates(certs)
            }
            tag => return Err(CodecError::UnknownTag { what: "response", tag }),
        };
        r.finish("response")?;
        Ok(resp)
    }
}

/// Decodes a whole buffer with `f`, refusing trailing bytes.
fn decode_all<T>(bytes: &[u8], what: &'static str, f: impl FnOnce(&mut Reader<'_>) -> Result<T, CodecError>) -> Result<T, CodecError> {
    let mut r = Reader::new(bytes);
    let value = f(&mut r)?;
    r.finish(what)?;
    Ok(value)
}

impl<S: Scheme> FinalityCert<S> {
    /// Storage form.
    pub fn to_bytes(&self) -> Vec<u8> {
        let mut out = Vec::with_capacity(160);
        self.encode(&mut out);
        out
    }

    /// Parses [`FinalityCert::to_bytes`]'s output.
    pub fn from_bytes(bytes: &[u8], members: usize) -> Result<Self, CodecError> {
        decode_all(bytes, "finality certificate", |r| Self::decode(r, members))
    }
}

impl<S: Scheme> QuorumCert<S> {
    /// Storage form.
    pub fn to_bytes(&self) -> Vec<u8> {
        let mut out = Vec::with_capacity(160);
        self.encode(&mut out);
        out
    }

    /// Parses [`QuorumCert::to_bytes`]'s output.
    pub fn from_bytes(bytes: &[u8], members: usize) -> Result<Self, CodecError> {
        decode_all(bytes, "quorum certificate", |r| Self::decode(r, members))
    }
}
