// SPDX-License-Identifier: MIT OR Apache-2.0
pragma solidity ^0.8.30;

import {OspWitness} from "./OspWitness.sol";

/// @title OspBulkMemory
/// @notice The steps of `memory.fill` and `memory.copy`, and `memory.init` with its steps
/// (docs/pvm.md 9.5 item 5): a step moves `min(n, 32)` bytes, forwards from the start, or for a
/// copy to a higher address backwards from the end, through windows of one or two leaves checked
/// against the pre-state's memory root; the program counter stays until `n` is 0.
abstract contract OspBulkMemory is OspWitness {
    /// @dev Executes bulk memory instruction `op` (0x36, 0x38, 0x39, 0x3a) on `[d, src, n]`.
    function _bulkMemory(Cursor memory c, bytes memory rec, Stack memory s, uint256 op, uint256 imm, uint256 mod)
        internal
        pure
        returns (Outcome)
    {
        if (op == 0x39 || op == 0x3a) return _init(c, rec, s, op, imm, mod);
        (uint256 d, uint256 src, uint256 n) = (s.v[0] & M32, s.v[1] & M32, s.v[2] & M32);
        uint256 chunk = _min(n, 32);
        bool forward = op == 0x36 || d <= src;
        uint256 off = forward ? 0 : n - chunk;
        if (chunk > 0 && !_move(c, rec, op == 0x38, d + off, src + off, chunk)) return Outcome.Trapped;
        if (forward) {
            s.v[0] = d + chunk;
            if (op == 0x38) s.v[1] = src + chunk;
        }
        s.v[2] = n - chunk;
        if (n == chunk) {
            s.n = 0;
        } else {
            _stay(rec);
        }
        return Outcome.Running;
    }

    /// @dev Writes `chunk` bytes at `dst`: the fill value `src`, or (`copy`) the bytes at `src`.
    /// False when a window lies outside the memory (the step traps).
    function _move(Cursor memory c, bytes memory rec, bool copy, uint256 dst, uint256 src, uint256 chunk)
        private
        pure
        returns (bool)
    {
        uint256 size = _memUint(rec, R_MEMORY_PAGES, 4) * PAGE_SIZE;
        bytes32 root = _memWord(rec, R_MEMORY_ROOT);
        Window memory from;
        if (copy) {
            if (src + chunk > size) return false;
            from = _readWindow(c, root, src, chunk);
        }
        if (dst + chunk > size) return false;
        Window memory to = _readWindow(c, root, dst, chunk);
        uint256 at = dst - to.first * 32;
        uint256 so = copy ? src - from.first * 32 : 0;
        for (uint256 i = 0; i < chunk; i++) {
            to.bytes_[at + i] = copy ? from.bytes_[so + i] : bytes1(uint8(src));
        }
        _memSetWord(rec, R_MEMORY_ROOT, _writeWindow(to));
        return true;
    }

    /// @dev `memory.init` (check) and its steps: the data segment's chunks by path.
    function _init(Cursor memory c, bytes memory rec, Stack memory s, uint256 op, uint256 seg, uint256 mod)
        private
        pure
        returns (Outcome)
    {
        (uint256 len, bytes32 chunks) = _readSegment(c, _cdWord(mod + M_DATA_ROOT), _cdUint(mod + M_DATAS, 4), seg);
        uint256 size = _memUint(rec, R_MEMORY_PAGES, 4) * PAGE_SIZE;
        if (op == 0x39) {
            (uint256 flag,,) = _readDropped(c, mod, rec, seg);
            (uint256 d, uint256 src, uint256 n) = (s.v[0] & M32, s.v[1] & M32, s.v[2] & M32);
            if (src + n > (flag != 0 ? 0 : len) || d + n > size) return Outcome.Trapped;
            if (n == 0) {
                s.n = 0;
                _skipStep(rec);
            }
            return Outcome.Running;
        }
        return _initStep(c, rec, s, len, chunks, size);
    }

    function _initStep(Cursor memory c, bytes memory rec, Stack memory s, uint256 len, bytes32 chunks, uint256 size)
        private
        pure
        returns (Outcome)
    {
        (uint256 d, uint256 src, uint256 n) = (s.v[0] & M32, s.v[1] & M32, s.v[2] & M32);
        uint256 chunk = _min(n, 32);
        if (chunk == 0 || src + chunk > len || d + chunk > size) return Outcome.Trapped;
        _initWrite(c, rec, _segmentChunks(c, chunks, len, src, chunk), d, src, chunk);
        s.v[0] = d + chunk;
        s.v[1] = src + chunk;
        s.v[2] = n - chunk;
        if (n == chunk) {
            s.n = 0;
        } else {
            _stay(rec);
        }
        return Outcome.Running;
    }

    /// @dev Copies `chunk` bytes of the segment chunks `from` (from `src mod 32`) to `d`.
    function _initWrite(Cursor memory c, bytes memory rec, bytes memory from, uint256 d, uint256 src, uint256 chunk)
        private
        pure
    {
        Window memory to = _readWindow(c, _memWord(rec, R_MEMORY_ROOT), d, chunk);
        uint256 so = src % 32;
        uint256 o = d - to.first * 32;
        for (uint256 i = 0; i < chunk; i++) {
            to.bytes_[o + i] = from[so + i];
        }
        _memSetWord(rec, R_MEMORY_ROOT, _writeWindow(to));
    }

    /// @dev The one or two 32-byte chunks of a data segment (of `len` bytes, chunk root
    /// `chunks`) covering `[src, src + chunk)`, each checked by its path.
    function _segmentChunks(Cursor memory c, bytes32 chunks, uint256 len, uint256 src, uint256 chunk)
        private
        pure
        returns (bytes memory from)
    {
        from = new bytes(64);
        uint256 depth = _depth((len + 31) / 32);
        uint256 first = src / 32;
        for (uint256 i = first; i <= (src + chunk - 1) / 32; i++) {
            bytes32 leaf = _h(c);
            uint256 path = _path(c, depth);
            if (_rootFromPath(leaf, i, path, depth) != chunks) revert InvalidWitness("data chunk");
            uint256 at = (i - first) * 32;
            assembly ("memory-safe") {
                mstore(add(add(from, 0x20), at), leaf)
            }
        }
    }
}
