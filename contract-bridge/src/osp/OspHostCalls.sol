// SPDX-License-Identifier: MIT OR Apache-2.0
pragma solidity ^0.8.30;

import {IStepContext} from "./IOneStepProof.sol";
import {OspWitness} from "./OspWitness.sol";
import {PreimageOracle} from "../preimage/PreimageOracle.sol";

/// @title OspHostCalls
/// @notice Host calls (docs/pvm.md 9.6), a contract of its own behind `OneStepProof`: the
/// memory witness (the leaves the call touches, with the multiproof siblings against the memory
/// root), the durable witness (stored nodes, each hashed from its stored form), then the call
/// with exactly the semantics and error codes of section 3.2 over those leaves. Today:
/// `read_input` (its level record against the rollup's inbox accumulator, its message against
/// the delayed inbox's hashes or the level's transaction root), `write_output` (with the level
/// outbox slot's path), `write_debug`, `reveal_preimage` (the page from the preimage oracle)
/// and `reveal_metadata`; the durable-storage functions answer `NotProvable`.
contract OspHostCalls is OspWitness {
    /// @notice Where `reveal_preimage` steps read their pages (one oracle for every rollup).
    PreimageOracle public immutable ORACLE;

    uint256 private constant MAX_IO_SIZE = 4096;
    uint256 private constant MAX_OUTBOX_MESSAGES = 100;
    uint256 private constant OUTBOX_LEVEL_DEPTH = 7;
    /// @dev The largest stored node: a value of 2^31 - 1 bytes lists 4,194,304 chunk hashes.
    uint256 private constant MAX_NODE_BYTES = 5 + 4_194_304 * 32;

    uint256 private constant LEVEL_RECORD_SIZE = 96;

    // Record offsets of the inbox position and the level outbox.
    uint256 private constant R_INBOX_NEXT = 257; // u32
    uint256 private constant R_OUTBOX_COUNT = 265; // u32
    uint256 private constant R_OUTBOX_ROOT = 269;

    uint256 private constant E_MEMORY = 0xfffffffa; // -6
    uint256 private constant E_TOO_LARGE = 0xfffffff9; // -7
    uint256 private constant E_INVALID = 0xfffffff8; // -8
    uint256 private constant REVEAL_HASH_SIZE = 33;

    constructor(PreimageOracle oracle) {
        ORACLE = oracle;
    }

    /// @dev The memory witness: leaves by increasing index, the siblings' calldata offset, and
    /// whether the call touched a leaf the proof does not give.
    struct Leaves {
        uint256[] index;
        bytes32[] leaf;
        uint256 siblings;
        bool missing;
        uint256 size; // bytes of memory
    }

    /// @notice Executes host call `imm` (`import ‖ function ‖ form`, already unpacked and
    /// checked by the caller) with `args` (its parameters, bottom of the stack first) from the
    /// witnesses at byte `at` of `proof` (`atAndImm` = `at << 64 | imm`). Returns the
    /// post-record, where the proof goes on, and the call's result (`NO_RESULT` for
    /// `write_debug` declared without one).
    function hostCall(bytes calldata proof, uint256 atAndImm, bytes memory rec, uint256[] calldata args, address rollup)
        external
        view
        returns (bytes memory, uint256, uint256)
    {
        uint256 base;
        assembly ("memory-safe") {
            base := proof.offset
        }
        Cursor memory c = Cursor(base, base + proof.length, base + (atAndImm >> 64), rollup);
        (bool hasResult, uint256 result) = _call(c, rec, atAndImm & M64, args);
        return (rec, c.at - base, hasResult ? result : NO_RESULT);
    }

    function _call(Cursor memory c, bytes memory rec, uint256 imm, uint256[] calldata args)
        private
        view
        returns (bool, uint256)
    {
        uint256 func = (imm >> 16) & 0xffff;
        if (func > 2 && func < 12) revert NotProvable(string.concat("HostCall ", _name(func)));
        Leaves memory m = _readMemory(c, rec);
        uint256 nodes = _readNodes(c);
        if (func == 2) {
            if (m.index.length != 0 || nodes != 0) revert InvalidWitness("write_debug reads nothing");
            return ((imm & 0xffff) != 0, 0);
        }
        uint256 result;
        if (func == 0) result = _readInput(c, rec, m, args);
        else if (func == 1) result = _writeOutput(c, rec, m, args[0] & M32, args[1] & M32);
        else if (func == 12) result = _revealPreimage(m, imm & 0xffff, args);
        else result = _revealMetadata(m, c.rollup, args[0] & M32, args[1] & M32);
        if (m.missing) revert InvalidWitness("memory leaves (one the call touches is missing)");
        if (nodes != 0) revert InvalidWitness("durable nodes (not the ones the call loads, in its order)");
        if (m.index.length != 0) _memSetWord(rec, R_MEMORY_ROOT, _multiproofRoot(m));
        return (true, result);
    }

    // ------------------------------------------------------------ the functions

    /// @dev `write_output(src, num_bytes)`: -7, -6, -8 (a level's 101st message), else the
    /// message enters the level's outbox tree at its next slot (whose path the proof carries).
    function _writeOutput(Cursor memory c, bytes memory rec, Leaves memory m, uint256 src, uint256 num)
        private
        pure
        returns (uint256)
    {
        uint256 count = _memUint(rec, R_OUTBOX_COUNT, 4);
        if (count > MAX_OUTBOX_MESSAGES) revert InvalidWitness("outbox count");
        uint256 path = _path(c, OUTBOX_LEVEL_DEPTH);
        if (_rootFromPath(bytes32(0), count, path, OUTBOX_LEVEL_DEPTH) != _memWord(rec, R_OUTBOX_ROOT)) {
            revert InvalidWitness("outbox slot");
        }
        if (num > MAX_IO_SIZE) return E_TOO_LARGE;
        if (src + num > m.size) return E_MEMORY;
        bytes memory message = _read(m, src, num);
        if (count >= MAX_OUTBOX_MESSAGES) return E_INVALID;
        _memSetUint(rec, R_OUTBOX_COUNT, 4, count + 1);
        _memSetWord(rec, R_OUTBOX_ROOT, _rootFromPath(keccak256(message), count, path, OUTBOX_LEVEL_DEPTH));
        return 0;
    }

    /// @dev `read_input(level_ptr, id_ptr, dst, max_bytes)`: 0 when the level's inbox is
    /// exhausted (nothing written, the position unchanged); -6 if `min(len, max_bytes)` bytes at
    /// `dst` or 4 bytes at either pointer are outside the memory; else the message's first bytes
    /// at `dst`, then the level and the message id (u32 little-endian) at the pointers, and the
    /// inbox position moves on.
    function _readInput(Cursor memory c, bytes memory rec, Leaves memory m, uint256[] calldata args)
        private
        view
        returns (uint256)
    {
        uint256 level = _cdUint(c.base + H_LEVEL, 4);
        uint256 id = _memUint(rec, R_INBOX_NEXT, 4);
        (bool some, bytes memory message) = _inputMessage(c, level, id);
        if (!some) return 0;
        (uint256 levelPtr, uint256 idPtr, uint256 dst) = (args[0] & M32, args[1] & M32, args[2] & M32);
        uint256 n = _min(message.length, args[3] & M32);
        if (dst + n > m.size || levelPtr + 4 > m.size || idPtr + 4 > m.size) return E_MEMORY;
        _write(m, dst, message, n);
        _write(m, levelPtr, abi.encodePacked(_le32(level)), 4);
        _write(m, idPtr, abi.encodePacked(_le32(id)), 4);
        if (id == M32) revert InvalidWitness("inbox position");
        _memSetUint(rec, R_INBOX_NEXT, 4, id + 1);
        return n;
    }

    /// @dev Message `id` of `level`'s inbox from the input witness (docs/pvm.md 9.6): the level
    /// record `‖ u64 batch ‖ previous accumulator ‖ u32 first_level ‖ u32 level_count ‖` its
    /// path in the batch (checked against the rollup's accumulator of that batch), then by id:
    /// nothing (start of level, info, end of level, exhausted), a delayed message `u32 len ‖
    /// bytes` (checked against its stored hash) or a transaction `u32 len ‖ tx ‖` its path in
    /// the record's `tx_root`. `some` is false once the inbox is exhausted.
    function _inputMessage(Cursor memory c, uint256 level, uint256 id)
        private
        view
        returns (bool some, bytes memory message)
    {
        uint256 rec = _levelRecord(c, level);
        uint256 delayedStart = _cdUint(rec + 44, 8);
        uint256 delayedEnd = _cdUint(rec + 52, 8);
        if (delayedEnd < delayedStart) revert InvalidWitness("delayed range");
        uint256 delayed = delayedEnd - delayedStart;
        uint256 txs = _cdUint(rec + 60, 4);
        if (id == 0) return (true, hex"0001");
        if (id == 1) return (true, abi.encodePacked(hex"0003", uint64(_cdUint(rec + 4, 8)), _cdWord(rec + 12)));
        uint256 k = id - 2;
        if (k < delayed) {
            uint256 len = _u32(c);
            if (len > MAX_IO_SIZE) revert InvalidWitness("delayed message size");
            message = _cdBytes(_take(c, len), len);
            (bytes32 stored,) = IStepContext(c.rollup).delayedMessage(uint64(delayedStart + k));
            if (stored != keccak256(message)) revert InvalidWitness("delayed message");
            return (true, message);
        }
        k -= delayed;
        if (k < txs) {
            uint256 len = _u32(c);
            if (len >= MAX_IO_SIZE) revert InvalidWitness("transaction size");
            uint256 at = _take(c, len);
            uint256 depth = _depth(txs);
            uint256 path = _path(c, depth);
            if (_rootFromPath(_cdKeccak(at, len), k, path, depth) != _cdWord(rec + 64)) {
                revert InvalidWitness("transaction");
            }
            return (true, abi.encodePacked(hex"01", _cdBytes(at, len)));
        }
        if (k == txs) return (true, hex"0002");
        return (false, "");
    }

    /// @dev The level record of the input witness, checked to be `level`'s and in the batch
    /// whose accumulator the rollup stores; returns its calldata offset.
    function _levelRecord(Cursor memory c, uint256 level) private view returns (uint256 rec) {
        rec = _take(c, LEVEL_RECORD_SIZE);
        uint256 batch = _u64(c);
        bytes32 previous = _h(c);
        uint256 first = _u32(c);
        uint256 count = _u32(c);
        uint256 depth = _depth(count);
        uint256 path = _path(c, depth);
        if (level < first || level - first >= count) revert InvalidWitness("level outside its batch");
        if (_cdUint(rec, 4) != level) revert InvalidWitness("level record of another level");
        bytes32 batchRoot = _rootFromPath(_cdKeccak(rec, LEVEL_RECORD_SIZE), level - first, path, depth);
        bytes32 acc = keccak256(abi.encodePacked(previous, batchRoot, uint32(first), uint32(count)));
        if (IStepContext(c.rollup).batchAccumulator(uint64(batch)) != acc) {
            revert InvalidWitness("level record not in the L1 inbox");
        }
    }

    function _le32(uint256 v) private pure returns (bytes4) {
        return bytes4(uint32(((v & 0xff) << 24) | ((v & 0xff00) << 8) | ((v >> 8) & 0xff00) | ((v >> 24) & 0xff)));
    }

    function _cdBytes(uint256 at, uint256 len) private pure returns (bytes memory out) {
        out = new bytes(len);
        assembly ("memory-safe") {
            calldatacopy(add(out, 0x20), at, len)
        }
    }

    /// @dev `reveal_preimage(hash_addr, dst, max_bytes)` (form 0) or `(hash_addr, hash_len, dst,
    /// max_bytes)` (form 1: -8 unless `hash_len` is 33): -6 if the 33-byte hash is outside the
    /// memory, -8 for a tag other than 00, then the page from the oracle (reverts
    /// `PreimageNotUploaded` if it holds none, as the PVM cannot go on without it), and
    /// `min(len, max_bytes)` bytes of it at `dst` (-6 outside the memory), returning that count.
    function _revealPreimage(Leaves memory m, uint256 form, uint256[] calldata args) private view returns (uint256) {
        uint256 hashAddr = args[0] & M32;
        uint256 at = 1;
        if (form == 1) {
            if ((args[1] & M32) != REVEAL_HASH_SIZE) return E_INVALID;
            at = 2;
        }
        (uint256 dst, uint256 max) = (args[at] & M32, args[at + 1] & M32);
        if (hashAddr + REVEAL_HASH_SIZE > m.size) return E_MEMORY;
        bytes memory raw = _read(m, hashAddr, REVEAL_HASH_SIZE);
        if (raw[0] != 0) return E_INVALID;
        bytes32 digest;
        assembly ("memory-safe") {
            digest := mload(add(raw, 0x21))
        }
        (bool found, bytes memory page) = ORACLE.page(digest);
        if (!found) revert PreimageNotUploaded(digest);
        uint256 n = _min(page.length, max);
        if (dst + n > m.size) return E_MEMORY;
        _write(m, dst, page, n);
        return n;
    }

    /// @dev `reveal_metadata(dst, max_bytes)`: `min(24, max_bytes)` bytes of `address[20] ‖
    /// u32 origination_level` at `dst` (-6 outside the memory).
    function _revealMetadata(Leaves memory m, address rollup, uint256 dst, uint256 max) private view returns (uint256) {
        (address rollupAddress, uint32 originationLevel) = IStepContext(rollup).metadata();
        bytes memory meta = abi.encodePacked(rollupAddress, originationLevel);
        uint256 n = _min(24, max);
        if (dst + n > m.size) return E_MEMORY;
        _write(m, dst, meta, n);
        return n;
    }

    // ------------------------------------------------------------ the memory witness

    /// @dev `u16 n ‖ n × (u32 index ‖ leaf)` then the multiproof siblings, checked against the
    /// record's memory root.
    function _readMemory(Cursor memory c, bytes memory rec) private pure returns (Leaves memory m) {
        uint256 n = _u16(c);
        m.index = new uint256[](n);
        m.leaf = new bytes32[](n);
        for (uint256 i = 0; i < n; i++) {
            uint256 index = _u32(c);
            if (index >= 1 << MEMORY_DEPTH || (i > 0 && m.index[i - 1] >= index)) {
                revert InvalidWitness("memory leaf index");
            }
            m.index[i] = index;
            m.leaf[i] = _h(c);
        }
        m.siblings = _path(c, _siblingCount(m.index));
        m.size = _memUint(rec, R_MEMORY_PAGES, 4) * PAGE_SIZE;
        bytes32 root = _memWord(rec, R_MEMORY_ROOT);
        if (n != 0 && _multiproofRoot(m) != root) revert InvalidWitness("memory leaves");
    }

    /// @dev How many siblings the multiproof of `leaves` (increasing) needs: at each height,
    /// every node whose sibling is not itself on a path.
    function _siblingCount(uint256[] memory leaves) private pure returns (uint256 count) {
        uint256[] memory layer = new uint256[](leaves.length);
        uint256 len = leaves.length;
        for (uint256 i = 0; i < len; i++) {
            layer[i] = leaves[i];
        }
        for (uint256 h = 0; h < MEMORY_DEPTH; h++) {
            uint256 next;
            uint256 i;
            while (i < len) {
                uint256 j = layer[i];
                if (j % 2 == 0 && i + 1 < len && layer[i + 1] == j + 1) {
                    i += 2;
                } else {
                    count++;
                    i += 1;
                }
                layer[next++] = j / 2;
            }
            len = next;
        }
    }

    /// @dev The memory root from the witnessed leaves (as they are now) and the siblings.
    function _multiproofRoot(Leaves memory m) private pure returns (bytes32) {
        uint256 len = m.index.length;
        uint256[] memory idx = new uint256[](len);
        bytes32[] memory node = new bytes32[](len);
        for (uint256 i = 0; i < len; i++) {
            (idx[i], node[i]) = (m.index[i], m.leaf[i]);
        }
        uint256 sib = m.siblings;
        for (uint256 h = 0; h < MEMORY_DEPTH; h++) {
            uint256 next;
            uint256 i;
            while (i < len) {
                uint256 j = idx[i];
                bytes32 parent;
                if (j % 2 == 0 && i + 1 < len && idx[i + 1] == j + 1) {
                    parent = _node(node[i], node[i + 1]);
                    i += 2;
                } else {
                    bytes32 s = _cdWord(sib);
                    sib += 32;
                    parent = j % 2 == 0 ? _node(node[i], s) : _node(s, node[i]);
                    i += 1;
                }
                (idx[next], node[next]) = (j / 2, parent);
                next++;
            }
            len = next;
        }
        return node[0];
    }

    /// @dev Position of leaf `index` in the witness, or `type(uint256).max` if it is not there.
    function _find(Leaves memory m, uint256 index) private pure returns (uint256) {
        (uint256 lo, uint256 hi) = (0, m.index.length);
        while (lo < hi) {
            uint256 mid = (lo + hi) / 2;
            if (m.index[mid] < index) lo = mid + 1;
            else hi = mid;
        }
        return lo < m.index.length && m.index[lo] == index ? lo : type(uint256).max;
    }

    /// @dev `[addr, addr + n)` from the witnessed leaves (inside the memory: checked by the
    /// caller). A leaf not given reads as zero and marks the witness incomplete.
    function _read(Leaves memory m, uint256 addr, uint256 n) private pure returns (bytes memory out) {
        out = new bytes(n);
        _copy(m, addr, out, n, false);
    }

    /// @dev Writes the first `n` bytes of `data` at `addr` into the witnessed leaves.
    function _write(Leaves memory m, uint256 addr, bytes memory data, uint256 n) private pure {
        _copy(m, addr, data, n, true);
    }

    /// @dev Copies `n` bytes between `buf` and the witnessed memory at `addr` (into the memory if
    /// `toMemory`), a leaf's piece at a time with word masks; a leaf the witness lacks marks it
    /// incomplete.
    function _copy(Leaves memory m, uint256 addr, bytes memory buf, uint256 n, bool toMemory) private pure {
        for (uint256 i = 0; i < n;) {
            uint256 at = addr + i;
            uint256 k = _find(m, at / 32);
            uint256 o = at % 32;
            uint256 piece = _min(32 - o, n - i);
            if (k == type(uint256).max) {
                m.missing = true;
            } else {
                bytes32 leaf = m.leaf[k];
                assembly ("memory-safe") {
                    // The first `piece` bytes of a word, and the same bytes moved to offset o.
                    let head := shl(mul(8, sub(32, piece)), not(0))
                    let mask := shr(mul(8, o), head)
                    let p := add(add(buf, 0x20), i)
                    switch toMemory
                    case 0 {
                        // Leaf bytes o .. o + piece to buf[i ..], keeping what follows them.
                        mstore(p, or(and(mload(p), not(head)), and(shl(mul(8, o), leaf), head)))
                    }
                    default { leaf := or(and(leaf, not(mask)), and(shr(mul(8, o), mload(p)), mask)) }
                }
                if (toMemory) m.leaf[k] = leaf;
            }
            i += piece;
        }
    }

    // ------------------------------------------------------------ the durable witness

    /// @dev `u16 n ‖ n × (u32 len ‖ stored node)`: each node's encoding checked and hashed, none
    /// listed twice. Returns how many there are (the calls executed here load none).
    function _readNodes(Cursor memory c) private pure returns (uint256 n) {
        n = _u16(c);
        bytes32[] memory hashes = new bytes32[](n);
        for (uint256 i = 0; i < n; i++) {
            uint256 len = _u32(c);
            if (len > MAX_NODE_BYTES) revert InvalidWitness("durable node size");
            uint256 at = _take(c, len);
            (bool ok, bytes32 h) = _storedNodeHash(at, len);
            if (!ok) revert InvalidWitness("durable node encoding");
            for (uint256 j = 0; j < i; j++) {
                if (hashes[j] == h) revert InvalidWitness("durable node listed twice");
            }
            hashes[i] = h;
        }
    }

    /// @dev The hash of a stored node (docs/pvm.md 5.1) of `len` bytes at calldata offset `at`:
    /// directory, trie leaf, trie inner and chunk nodes hash their bytes; a value hashes
    /// `01 ‖ u32 len ‖ chunks_root` from its one inline chunk or its chunk hashes.
    function _storedNodeHash(uint256 at, uint256 len) private pure returns (bool, bytes32) {
        if (len == 0) return (false, 0);
        uint256 tag = _cdUint(at, 1);
        uint256 rest = len - 1;
        if (tag == 2) return (rest == 64, _cdKeccak(at, len));
        if (tag == 3) {
            if (rest == 0) return (false, 0);
            uint256 stepLen = _cdUint(at + 1, 1);
            return (stepLen != 0 && rest == 1 + stepLen + 32, _cdKeccak(at, len));
        }
        if (tag == 4) return (rest == 70, _cdKeccak(at, len));
        if (tag == 5) return (rest != 0 && rest <= 512, _cdKeccak(at, len));
        if (tag != 1 || rest < 4) return (false, 0);
        uint256 valueLen = _cdUint(at + 1, 4);
        uint256 body = rest - 4;
        uint256 chunks = (valueLen + 511) / 512;
        bytes32 root;
        if (chunks <= 1) {
            if (body != valueLen) return (false, 0);
            if (body != 0) {
                bytes memory chunk = new bytes(1 + body);
                chunk[0] = 0x05;
                assembly ("memory-safe") {
                    calldatacopy(add(chunk, 0x21), add(at, 5), body)
                }
                root = keccak256(chunk);
            }
        } else {
            if (body != chunks * 32) return (false, 0);
            root = _chunkRoot(at + 5, chunks);
        }
        return (true, keccak256(abi.encodePacked(uint8(1), uint32(valueLen), root)));
    }

    /// @dev The Merkle root (protocol.md 1.1) of `count` hashes at calldata offset `at`.
    function _chunkRoot(uint256 at, uint256 count) private pure returns (bytes32) {
        bytes32[] memory layer = new bytes32[](count + 1);
        for (uint256 i = 0; i < count; i++) {
            layer[i] = _cdWord(at + 32 * i);
        }
        uint256 len = count;
        bytes32 zero;
        while (len > 1) {
            if (len % 2 == 1) layer[len++] = zero;
            for (uint256 i = 0; i < len / 2; i++) {
                layer[i] = _node(layer[2 * i], layer[2 * i + 1]);
            }
            len /= 2;
            zero = _node(zero, zero);
        }
        return layer[0];
    }

    function _cdKeccak(uint256 at, uint256 len) private pure returns (bytes32 h) {
        assembly ("memory-safe") {
            let m := mload(0x40)
            calldatacopy(m, at, len)
            h := keccak256(m, len)
        }
    }

    function _name(uint256 func) private pure returns (string memory) {
        string[14] memory names = [
            "read_input",
            "write_output",
            "write_debug",
            "store_has",
            "store_delete",
            "store_copy",
            "store_move",
            "store_read",
            "store_write",
            "store_value_size",
            "store_list_size",
            "store_get_nth_key",
            "reveal_preimage",
            "reveal_metadata"
        ];
        return names[func];
    }
}
