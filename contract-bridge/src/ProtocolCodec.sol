// SPDX-License-Identifier: MIT OR Apache-2.0
pragma solidity ^0.8.30;

/// @title ProtocolCodec
/// @notice The L1's side of the byte formats in docs/protocol.md, mirroring the Rust `protocol`
/// crate. Every contract that reads a commitment, an outbox message, a sequencer header or a
/// Merkle proof goes through here, so the two sides are checked against each other in one place.
library ProtocolCodec {
    /// @notice One L1 call of an outbox message.
    struct L1Call {
        address destination;
        uint256 value;
        bytes data;
    }

    /// @notice The outbox message is not the canonical `abi.encode(L1Call[])` of at most 4,096 bytes.
    error MalformedOutboxMessage();
    /// @notice A sequencer header is not exactly 104 bytes.
    error MalformedHeader(uint256 length);

    uint256 internal constant MAX_MESSAGE_SIZE = 4096;
    uint256 internal constant MAX_OUTBOX_MESSAGES_PER_LEVEL = 100;
    uint256 internal constant OUTBOX_TREE_DEPTH = 20;
    uint256 internal constant HEADER_SIZE = 104;
    bytes32 internal constant FINALITY_DOMAIN = keccak256("rollup.sequencer.finality.v1");
    bytes32 internal constant HANDOVER_DOMAIN = keccak256("rollup.sequencer.handover.v1");
    /// @notice The largest payload of a delayed-inbox message (4,096 minus the transfer header).
    uint256 internal constant MAX_TRANSFER_PAYLOAD = 4042;
    /// @notice The largest transaction of a batch (an external message is `01 || tx`).
    uint256 internal constant MAX_TRANSACTION_SIZE = 4095;
    uint256 internal constant MAX_NAMESPACES_PER_BLOCK = 1024;
    uint256 internal constant NS_ENTRY_SIZE = 44;

    // ---------------------------------------------------------------- commitments

    /// @notice The name of a commitment: keccak256 of its packed fields.
    function commitmentHash(bytes32 predecessor, bytes32 stateHash_, uint32 inboxLevel, uint64 numberOfTicks)
        internal
        pure
        returns (bytes32)
    {
        return keccak256(abi.encodePacked(predecessor, stateHash_, inboxLevel, numberOfTicks));
    }

    /// @notice The rollup state hash: binds the PVM root and the outbox root.
    function stateHash(bytes32 pvmRoot, bytes32 outboxRoot) internal pure returns (bytes32) {
        return keccak256(abi.encodePacked(pvmRoot, outboxRoot));
    }

    // ---------------------------------------------------------------- inbox messages

    /// @notice The inbox message a delayed-inbox entry becomes: `00 00 sender value payload`.
    function encodeTransfer(address sender, uint256 value, bytes memory payload) internal pure returns (bytes memory) {
        return abi.encodePacked(uint8(0), uint8(0), sender, value, payload);
    }

    /// @notice The hash the delayed inbox stores for a message: keccak-256 of its inbox encoding.
    function delayedMessageHash(address sender, uint256 value, bytes memory payload) internal pure returns (bytes32) {
        return keccak256(encodeTransfer(sender, value, payload));
    }

    // ---------------------------------------------------------------- the L1 inbox (section 6)

    /// @notice The Merkle leaf of a level record:
    /// `H(u32 level || u64 timestamp_ms || block_hash || u64 delayed_start || u64 delayed_end || u32 tx_count || tx_root)`.
    function levelRecordHash(
        uint32 level,
        uint64 timestampMs,
        bytes32 blockHash,
        uint64 delayedStart,
        uint64 delayedEnd,
        uint32 txCount,
        bytes32 txRoot
    ) internal pure returns (bytes32) {
        return keccak256(abi.encodePacked(level, timestampMs, blockHash, delayedStart, delayedEnd, txCount, txRoot));
    }

    /// @notice The inbox accumulator after a batch: `H(acc || batch_root || u32 first_level || u32 level_count)`.
    function accumulate(bytes32 acc, bytes32 batchRoot, uint32 firstLevel, uint32 levelCount) internal pure returns (bytes32) {
        return keccak256(abi.encodePacked(acc, batchRoot, firstLevel, levelCount));
    }

    /// @notice The block hash of a forced level.
    function forcedBlockHash(uint64 l1Block, uint64 delayedStart, uint64 delayedEnd) internal pure returns (bytes32) {
        return keccak256(abi.encodePacked("rollup.inbox.forced.v1", l1Block, delayedStart, delayedEnd));
    }

    // ---------------------------------------------------------------- outbox messages

    /// @notice Whether `m` is the canonical ABI encoding of an `L1Call[]` within the size limit.
    /// Mirrors `protocol::outbox::OutboxMessage::decode`, which accepts exactly the same bytes.
    function isCanonicalOutboxMessage(bytes memory m) internal pure returns (bool) {
        uint256 len = m.length;
        if (len > MAX_MESSAGE_SIZE || len < 64) return false;
        if (_word(m, 0) != 0x20) return false;
        uint256 n = _word(m, 32);
        if (n > (len - 64) / 160) return false;
        uint256 expected = n * 32; // offset of the next tuple, relative to the heads
        for (uint256 i = 0; i < n; i++) {
            if (_word(m, 64 + i * 32) != expected) return false;
            uint256 at = 64 + expected;
            if (at + 128 > len) return false;
            if (_word(m, at) >> 160 != 0) return false; // dirty address bytes
            if (_word(m, at + 64) != 0x60) return false;
            uint256 dataLen = _word(m, at + 96);
            if (dataLen > MAX_MESSAGE_SIZE) return false;
            uint256 padded = (dataLen + 31) / 32 * 32;
            uint256 end = at + 128 + padded;
            if (end > len) return false;
            if (padded != dataLen) {
                // The last word's bytes past `dataLen` must be zero.
                uint256 last = _word(m, end - 32);
                uint256 keep = dataLen % 32;
                if (last << (keep * 8) != 0) return false;
            }
            expected += 128 + padded;
        }
        return 64 + expected == len;
    }

    /// @notice Decodes an outbox message, reverting with a named error on anything non-canonical.
    function decodeOutboxMessage(bytes memory m) internal pure returns (L1Call[] memory) {
        if (!isCanonicalOutboxMessage(m)) revert MalformedOutboxMessage();
        return abi.decode(m, (L1Call[]));
    }

    // ---------------------------------------------------------------- Merkle proofs

    /// @notice The root implied by `leaf` at `index` and its bottom-up sibling `path`.
    function rootFromPath(bytes32 leaf, uint256 index, bytes32[] memory path) internal pure returns (bytes32 acc) {
        acc = leaf;
        for (uint256 h = 0; h < path.length; h++) {
            bytes32 sib = path[h];
            acc = (index >> h) & 1 == 0 ? _node(acc, sib) : _node(sib, acc);
        }
    }

    /// @notice The Merkle root of `leaves` (section 1.1), computed in place: `leaves` is
    /// overwritten.
    function merkleRoot(bytes32[] memory leaves) internal pure returns (bytes32) {
        uint256 n = leaves.length;
        if (n == 0) return bytes32(0);
        bytes32 zero;
        while (n > 1) {
            uint256 half = (n + 1) / 2;
            for (uint256 i = 0; i < half; i++) {
                bytes32 left = leaves[2 * i];
                bytes32 right = 2 * i + 1 < n ? leaves[2 * i + 1] : zero;
                leaves[i] = _node(left, right);
            }
            zero = _node(zero, zero);
            n = half;
        }
        return leaves[0];
    }

    /// @notice Proof depth for `count` leaves: ceil(log2(count)).
    function merkleDepth(uint256 count) internal pure returns (uint256 d) {
        while ((uint256(1) << d) < count) d++;
    }

    /// @notice The state hash in which `message` is message `index` of `count` written at `level`,
    /// or zero if the proof's shape is wrong.
    function outboxStateHash(
        bytes32 pvmRoot,
        uint32 level,
        uint32 index,
        uint32 count,
        bytes32[] memory messagePath,
        bytes32[] memory slotPath,
        bytes memory message
    ) internal pure returns (bytes32) {
        if (
            index >= count || count > MAX_OUTBOX_MESSAGES_PER_LEVEL || messagePath.length != merkleDepth(count)
                || slotPath.length != OUTBOX_TREE_DEPTH
        ) return bytes32(0);
        bytes32 messagesRoot = rootFromPath(keccak256(message), index, messagePath);
        bytes32 leaf = keccak256(abi.encodePacked(level, count, messagesRoot));
        bytes32 outboxRoot = rootFromPath(leaf, uint256(level) & ((1 << OUTBOX_TREE_DEPTH) - 1), slotPath);
        return stateHash(pvmRoot, outboxRoot);
    }

    // ---------------------------------------------------------------- sequencer

    /// @notice The fields of a 104-byte sequencer header.
    struct Header {
        uint64 chainId;
        uint64 height;
        uint64 viewNumber;
        uint64 timestampMs;
        uint64 l1Block;
        bytes32 parent;
        bytes32 payloadRoot;
    }

    /// @notice Parses a 104-byte big-endian header.
    function decodeHeader(bytes memory h) internal pure returns (Header memory d) {
        if (h.length != HEADER_SIZE) revert MalformedHeader(h.length);
        uint256 w0 = _word(h, 0);
        uint256 w1 = _word(h, 32);
        d.chainId = uint64(w0 >> 192);
        d.height = uint64(w0 >> 128);
        d.viewNumber = uint64(w0 >> 64);
        d.timestampMs = uint64(w0);
        d.l1Block = uint64(w1 >> 192);
        d.parent = bytes32(_word(h, 40));
        d.payloadRoot = bytes32(_word(h, 72));
    }

    /// @notice The digest the committee signs for a decided block.
    function finalityDigest(uint64 chainId, uint64 height, bytes32 blockHash) internal pure returns (bytes32) {
        return keccak256(abi.encodePacked(FINALITY_DOMAIN, chainId, height, blockHash));
    }

    // ---------------------------------------------------------------- internals

    function _node(bytes32 a, bytes32 b) private pure returns (bytes32 r) {
        assembly ("memory-safe") {
            mstore(0x00, a)
            mstore(0x20, b)
            r := keccak256(0x00, 0x40)
        }
    }

    function _word(bytes memory m, uint256 at) private pure returns (uint256 w) {
        assembly ("memory-safe") {
            w := mload(add(add(m, 0x20), at))
        }
    }
}

/// @title ProtocolCodecProbe
/// @notice External entry points to ProtocolCodec, so off-chain code (the Rust differential
/// tests, operators' tools) can ask the L1 how it reads a given encoding.
contract ProtocolCodecProbe {
    function commitmentHash(bytes32 predecessor, bytes32 stateHash_, uint32 inboxLevel, uint64 numberOfTicks)
        external
        pure
        returns (bytes32)
    {
        return ProtocolCodec.commitmentHash(predecessor, stateHash_, inboxLevel, numberOfTicks);
    }

    function isCanonicalOutboxMessage(bytes calldata m) external pure returns (bool) {
        return ProtocolCodec.isCanonicalOutboxMessage(m);
    }

    function decodeOutboxMessage(bytes calldata m) external pure returns (ProtocolCodec.L1Call[] memory) {
        return ProtocolCodec.decodeOutboxMessage(m);
    }

    function encodeTransfer(address sender, uint256 value, bytes calldata payload) external pure returns (bytes memory) {
        return ProtocolCodec.encodeTransfer(sender, value, payload);
    }

    function outboxStateHash(
        bytes32 pvmRoot,
        uint32 level,
        uint32 index,
        uint32 count,
        bytes32[] calldata messagePath,
        bytes32[] calldata slotPath,
        bytes calldata message
    ) external pure returns (bytes32) {
        return ProtocolCodec.outboxStateHash(pvmRoot, level, index, count, messagePath, slotPath, message);
    }

    function levelRecordHash(
        uint32 level,
        uint64 timestampMs,
        bytes32 blockHash,
        uint64 delayedStart,
        uint64 delayedEnd,
        uint32 txCount,
        bytes32 txRoot
    ) external pure returns (bytes32) {
        return ProtocolCodec.levelRecordHash(level, timestampMs, blockHash, delayedStart, delayedEnd, txCount, txRoot);
    }

    function accumulate(bytes32 acc, bytes32 batchRoot, uint32 firstLevel, uint32 levelCount) external pure returns (bytes32) {
        return ProtocolCodec.accumulate(acc, batchRoot, firstLevel, levelCount);
    }

    function forcedBlockHash(uint64 l1Block, uint64 delayedStart, uint64 delayedEnd) external pure returns (bytes32) {
        return ProtocolCodec.forcedBlockHash(l1Block, delayedStart, delayedEnd);
    }

    function merkleRoot(bytes32[] memory leaves) external pure returns (bytes32) {
        return ProtocolCodec.merkleRoot(leaves);
    }

    function delayedMessageHash(address sender, uint256 value, bytes calldata payload) external pure returns (bytes32) {
        return ProtocolCodec.delayedMessageHash(sender, value, payload);
    }

    function headerHashAndDigest(bytes calldata header) external pure returns (bytes32 blockHash, bytes32 digest) {
        ProtocolCodec.Header memory h = ProtocolCodec.decodeHeader(header);
        blockHash = keccak256(header);
        digest = ProtocolCodec.finalityDigest(h.chainId, h.height, blockHash);
    }
}
