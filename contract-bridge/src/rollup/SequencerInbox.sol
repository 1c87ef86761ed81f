// SPDX-License-Identifier: MIT OR Apache-2.0
pragma solidity ^0.8.30;

import {DelayedInbox} from "./DelayedInbox.sol";
import {ISequencerVerifier} from "../verifiers/ISequencerVerifier.sol";
import {ProtocolCodec} from "../ProtocolCodec.sol";

/// @title SequencerInbox
/// @notice The rollup's inbox on the L1 (docs/protocol.md section 6): finalized sequencer blocks
/// arrive in batches with a certificate the rollup's verifier checks; each block becomes one
/// level, and so does each forced inclusion of overdue delayed messages. The contract keeps only
/// the chain tip and one accumulator word per batch; the levels themselves are the batch
/// calldata, which every node reads back and replays with `protocol::l1_batch::InboxState`.
abstract contract SequencerInbox is DelayedInbox {
    /// @dev The inbox's mutable state, in one slot.
    struct InboxHead {
        uint32 level;
        uint64 lastHeight;
        uint64 delayedIncluded;
        uint64 batchCount;
    }

    /// @dev A header, an empty namespace table and a hint.
    uint256 internal constant MIN_LEVEL_SIZE = 104 + 4 + 8;

    InboxHead internal _head;
    bytes32 internal _lastBlockHash;
    mapping(uint256 => bytes32) internal _accumulators;

    /// @dev Parser state while walking a batch.
    struct Cursor {
        uint256 offset;
        uint32 level;
        uint64 height;
        bytes32 parent;
        uint64 included;
        uint64 delayedCount;
        // The last (L1 block, hint) pair checked against the queue: consecutive blocks often
        // share both, and then need no storage reads.
        uint64 checkedL1Block;
        uint64 checkedHint;
        bool checked;
    }

    constructor() {
        _head.lastHeight = SEQUENCER_START_HEIGHT;
        _lastBlockHash = SEQUENCER_START_BLOCK_HASH;
    }

    /// @notice Appends the sequencer blocks of `batch` (docs/protocol.md 6.2) as levels, once the
    /// rollup's verifier accepts `certificate` for the last block.
    /// @dev Call it directly from the poster's account so nodes find the batch in the
    /// transaction's calldata; a contract caller makes the rollup log the batch (`BatchData`).
    function postBatch(bytes calldata batch, bytes calldata certificate) external {
        InboxHead memory head = _head;
        if (batch.length < 4) revert BatchTruncated(0);
        uint256 count = _u32(batch, 0);
        if (count == 0) revert EmptyBatch();
        if (uint256(head.level) + count > type(uint32).max) revert InboxLevelOverflow();
        // Every level takes at least a header, an empty table and a hint: bound the allocation
        // by the input before making it.
        if (count > (batch.length - 4) / MIN_LEVEL_SIZE) revert BatchTruncated(batch.length);
        Cursor memory c = Cursor({
            offset: 4,
            level: head.level + 1,
            height: head.lastHeight,
            parent: _lastBlockHash,
            included: head.delayedIncluded,
            delayedCount: _delayedCount,
            checkedL1Block: 0,
            checkedHint: 0,
            checked: false
        });
        bytes32[] memory leaves = new bytes32[](count);
        for (uint256 i = 0; i < count; i++) {
            leaves[i] = _parseLevel(batch, c);
        }
        if (c.offset != batch.length) revert TrailingBatchBytes(batch.length - c.offset);

        ISequencerVerifier(VERIFIER).verify(SEQUENCER_CHAIN_ID, c.height, c.parent, certificate);

        _lastBlockHash = c.parent;
        head.lastHeight = c.height;
        head.delayedIncluded = c.included;
        uint64 index = _append(head, ProtocolCodec.merkleRoot(leaves), uint32(count));
        if (msg.sender != tx.origin) emit BatchData(index, batch);
    }

    /// @notice Appends a level of its own holding delayed messages `[included, through)` once
    /// the last of them has waited more than the inclusion timeout. Anyone may call it: this is
    /// the rollup's censorship resistance.
    function forceInclusion(uint64 through) external {
        InboxHead memory head = _head;
        uint64 count = _delayedCount;
        if (through <= head.delayedIncluded || through > count) {
            revert BadForceRange(head.delayedIncluded, through, count);
        }
        uint256 overdueAt = _delayedBlock(through - 1) + DELAYED_INCLUSION_TIMEOUT + 1;
        if (block.number < overdueAt) revert NotOverdue(overdueAt);
        if (head.level == type(uint32).max) revert InboxLevelOverflow();
        uint32 level = head.level + 1;
        uint64 timestampMs = uint64(block.timestamp) * 1000;
        bytes32 blockHash = ProtocolCodec.forcedBlockHash(uint64(block.number), head.delayedIncluded, through);
        bytes32 leaf = ProtocolCodec.levelRecordHash(level, timestampMs, blockHash, head.delayedIncluded, through, 0, 0);
        emit InclusionForced(head.batchCount, level, head.delayedIncluded, through, timestampMs, blockHash);
        head.delayedIncluded = through;
        _append(head, leaf, 1);
    }

    /// @notice The inbox's state: last level, the tip of the sequencer chain, delayed messages
    /// included so far, batches appended and the current accumulator.
    function inboxState()
        external
        view
        returns (
            uint32 level,
            uint64 lastHeight,
            bytes32 lastBlockHash,
            uint64 delayedIncluded,
            uint64 batchCount,
            bytes32 accumulator
        )
    {
        InboxHead memory h = _head;
        accumulator = h.batchCount == 0 ? bytes32(0) : _accumulators[h.batchCount - 1];
        return (h.level, h.lastHeight, _lastBlockHash, h.delayedIncluded, h.batchCount, accumulator);
    }

    /// @notice The accumulator after batch `index` (zero for a batch not appended yet): what an
    /// input proof of the refutation game checks a level record against.
    function batchAccumulator(uint64 index) external view override returns (bytes32) {
        return _accumulators[index];
    }

    function _currentInboxLevel() internal view override returns (uint32) {
        return _head.level;
    }

    /// @dev Stores the accumulator of a new batch and the head; emits BatchPosted.
    function _append(InboxHead memory head, bytes32 batchRoot, uint32 count) private returns (uint64 index) {
        index = head.batchCount;
        uint32 first = head.level + 1;
        bytes32 previous = index == 0 ? bytes32(0) : _accumulators[index - 1];
        bytes32 acc = ProtocolCodec.accumulate(previous, batchRoot, first, count);
        _accumulators[index] = acc;
        head.level = first + count - 1;
        head.batchCount = index + 1;
        _head = head;
        emit BatchPosted(index, first, count, batchRoot, acc, head.delayedIncluded);
    }

    /// @dev The fields of a level's header the inbox uses.
    struct HeaderFields {
        uint64 height;
        uint64 timestampMs;
        uint64 l1Block;
        bytes32 blockHash;
        bytes32 payloadRoot;
    }

    /// @dev Parses and checks one level at `c.offset`, advances the cursor, and returns the hash
    /// of the level's record.
    function _parseLevel(bytes calldata b, Cursor memory c) private view returns (bytes32) {
        HeaderFields memory h = _checkHeader(b, c);
        uint256 o = c.offset + ProtocolCodec.HEADER_SIZE;
        (uint256 txCount, bytes32 txRoot, bool present, uint256 tableEnd) = _scanNsTable(b, o, c.level, h.payloadRoot);
        o = tableEnd;

        _need(b, o, 8);
        uint64 hint = uint64(_word(b, o) >> 192);
        o += 8;
        if (!(c.checked && c.checkedL1Block == h.l1Block && c.checkedHint == hint)) {
            if (!_hintIsExact(hint, h.l1Block, c.delayedCount)) revert BadDelayedHint(c.level, hint);
            (c.checked, c.checkedL1Block, c.checkedHint) = (true, h.l1Block, hint);
        }
        uint64 start = c.included;
        uint64 end = hint > start ? hint : start;

        if (present) o = _checkTransactions(b, o, c.level, txCount, txRoot);

        bytes32 leaf =
            ProtocolCodec.levelRecordHash(c.level, h.timestampMs, h.blockHash, start, end, uint32(txCount), txRoot);
        c.offset = o;
        c.level += 1;
        c.height = h.height;
        c.parent = h.blockHash;
        c.included = end;
        return leaf;
    }

    /// @dev Reads the header at `c.offset` and checks it continues the chain at the cursor.
    function _checkHeader(bytes calldata b, Cursor memory c) private view returns (HeaderFields memory h) {
        uint256 o = c.offset;
        uint32 level = c.level;
        _need(b, o, ProtocolCodec.HEADER_SIZE);
        uint256 w0 = _word(b, o);
        h.height = uint64(w0 >> 128);
        h.timestampMs = uint64(w0);
        h.l1Block = uint64(_word(b, o + 32) >> 192);
        h.blockHash = _hash(b, o, ProtocolCodec.HEADER_SIZE);
        h.payloadRoot = bytes32(_word(b, o + 72));
        uint64 chainId = uint64(w0 >> 192);
        if (chainId != SEQUENCER_CHAIN_ID) revert WrongSequencerChain(level, chainId);
        if (uint256(h.height) != uint256(c.height) + 1) {
            unchecked {
                revert HeightNotConsecutive(level, c.height + 1, h.height);
            }
        }
        bytes32 parent = bytes32(_word(b, o + 40));
        if (parent != c.parent) revert ParentMismatch(level, c.parent, parent);
        if (h.l1Block >= block.number) revert L1BlockNotFinal(level, h.l1Block);
    }

    /// @dev Checks the namespace table at `o` (size, hash, order, non-empty entries) and finds
    /// the rollup's entry. Returns its count and root, whether it is present, and the table's end.
    function _scanNsTable(bytes calldata b, uint256 o, uint32 level, bytes32 payloadRoot)
        private
        view
        returns (uint256 txCount, bytes32 txRoot, bool present, uint256 end)
    {
        uint256 n = _checkTableHash(b, o, level, payloadRoot);
        end = o + 4 + n * ProtocolCodec.NS_ENTRY_SIZE;
        uint256 previous;
        for (uint256 e = o + 4; e < end; e += ProtocolCodec.NS_ENTRY_SIZE) {
            uint256 ns = _word(b, e) >> 192;
            if (e > o + 4 && ns <= previous) revert NsTableNotAscending(level);
            uint256 cnt = (_word(b, e) >> 160) & 0xffffffff;
            if (cnt == 0) revert EmptyNamespaceEntry(level);
            if (ns == SEQUENCER_NAMESPACE) {
                (txCount, txRoot, present) = (cnt, bytes32(_word(b, e + 12)), true);
            }
            previous = ns;
        }
    }

    /// @dev Bounds-checks the table at `o` and its hash against the header; returns its size.
    function _checkTableHash(bytes calldata b, uint256 o, uint32 level, bytes32 payloadRoot)
        private
        pure
        returns (uint256 n)
    {
        _need(b, o, 4);
        n = _u32(b, o);
        if (n > ProtocolCodec.MAX_NAMESPACES_PER_BLOCK) revert NsTableTooLarge(level, n);
        uint256 size = 4 + n * ProtocolCodec.NS_ENTRY_SIZE;
        _need(b, o, size);
        if (_hash(b, o, size) != payloadRoot) revert PayloadRootMismatch(level);
    }

    /// @dev Hashes the `count` transactions at `o` (each `u32 len || tx`), checks their root,
    /// and returns the offset after them.
    function _checkTransactions(bytes calldata b, uint256 o, uint32 level, uint256 count, bytes32 root)
        private
        pure
        returns (uint256)
    {
        // Each transaction takes at least its 4-byte length: bound the allocation by the input.
        if (count * 4 > b.length - o) revert BatchTruncated(o);
        bytes32[] memory leaves = new bytes32[](count);
        for (uint256 t = 0; t < count; t++) {
            _need(b, o, 4);
            uint256 len = _u32(b, o);
            if (len > ProtocolCodec.MAX_TRANSACTION_SIZE) revert TransactionTooLarge(level, len);
            o += 4;
            _need(b, o, len);
            leaves[t] = _hash(b, o, len);
            o += len;
        }
        if (ProtocolCodec.merkleRoot(leaves) != root) revert TxRootMismatch(level);
        return o;
    }

    /// @dev Whether exactly `hint` delayed messages were enqueued at or before `l1Block`.
    function _hintIsExact(uint64 hint, uint64 l1Block, uint64 count) private view returns (bool) {
        if (hint > count) return false;
        if (hint > 0 && _delayedBlock(hint - 1) > l1Block) return false;
        if (hint < count && _delayedBlock(hint) <= l1Block) return false;
        return true;
    }

    // ---------------------------------------------------------------- calldata reading

    function _need(bytes calldata b, uint256 o, uint256 n) private pure {
        if (o + n > b.length) revert BatchTruncated(o);
    }

    function _word(bytes calldata b, uint256 o) private pure returns (uint256 w) {
        assembly ("memory-safe") {
            w := calldataload(add(b.offset, o))
        }
    }

    function _u32(bytes calldata b, uint256 o) private pure returns (uint256) {
        return _word(b, o) >> 224;
    }

    /// @dev keccak-256 of `b[o : o + n]` (bounds already checked).
    function _hash(bytes calldata b, uint256 o, uint256 n) private pure returns (bytes32 h) {
        assembly ("memory-safe") {
            let p := mload(0x40)
            calldatacopy(p, add(b.offset, o), n)
            h := keccak256(p, n)
        }
    }
}
