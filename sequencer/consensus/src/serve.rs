//! Answering peers' catch-up requests from whatever holds the blocks (RocksDB in the node,
//! memory in the simulator), with the same size caps everywhere.

use protocol::Hash32;

use crate::message::{BlockRecord, FinalityCert, Request, Response, MAX_RESPONSE_ITEMS};
use crate::scheme::Scheme;
use crate::Height;

/// The most bytes of blocks one answer carries (the network's message cap is above it).
pub const MAX_RESPONSE_BYTES: usize = 8 << 20;

/// Read access to stored blocks and finality certificates.
pub trait BlockSource<S: Scheme> {
    /// A decided or pending block by hash.
    fn block(&self, hash: &Hash32) -> Option<BlockRecord<S>>;
    /// The finality certificate of the decided block at `height`.
    fn certificate(&self, height: Height) -> Option<FinalityCert<S>>;
    /// The highest decided height.
    fn decided_height(&self) -> Height;
}

/// The answer to `request` from `source`: blocks newest first down from the requested hash
/// (stopping at genesis, the count or the byte cap), or the certificates from a height on.
pub fn serve<S: Scheme>(request: &Request, source: &impl BlockSource<S>) -> Response<S> {
    match *request {
        Request::Blocks { hash, max } => {
            let mut out = Vec::new();
            let mut bytes = 0usize;
            let mut cursor = hash;
            let max = usize::from(max).clamp(1, MAX_RESPONSE_ITEMS);
            while out.len() < max {
                let Some(rec) = source.block(&cursor) else { break };
                bytes += rec.block.encoded_len();
                if bytes > MAX_RESPONSE_BYTES && !out.is_empty() {
                    break;
                }
                cursor = rec.block.header().parent;
                let genesis = rec.block.height() == 0;
                out.push(rec);
                if genesis {
                    break;
                }
            }
            Response::Blocks(out)
        }
        Request::Certificates { from, max } => {
            let top = source.decided_height();
            let max = usize::from(max).min(MAX_RESPONSE_ITEMS);
            let mut out = Vec::new();
            let mut h = from.max(1);
            while out.len() < max && h <= top {
                if let Some(c) = source.certificate(h) {
                    out.push(c);
                }
                h += 1;
            }
            Response::Certificates(out)
        }
    }
}
