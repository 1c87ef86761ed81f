// SPDX-License-Identifier: MIT OR Apache-2.0
pragma solidity ^0.8.30;

import {OspBase} from "./OspBase.sol";

/// @title OspWitness
/// @notice How a step reads its proof (docs/pvm.md 9.5): a cursor over calldata, the stack
/// part, and the witnesses every family shares (the top frame, memory windows of one or two
/// leaves, table, segment and dropped-flag witnesses), each checked against its root.
abstract contract OspWitness is OspBase {
    uint256 internal constant M32 = 0xffffffff;
    uint256 internal constant M64 = 0xffffffffffffffff;
    /// @dev A host call that returns nothing (`write_debug` of its first form).
    uint256 internal constant NO_RESULT = type(uint256).max;

    /// @dev The proof as it is read: absolute calldata offsets.
    struct Cursor {
        uint256 base;
        uint256 end;
        uint256 at;
        address rollup; // what the step needs of the L1 (IStepContext)
    }

    /// @dev The stack part of a step: the values read (bottom first) with room to push, how
    /// many are live, and the chain hash below them.
    struct Stack {
        uint256[] v;
        uint256 n;
        bytes32 rest;
    }

    enum Outcome {
        Running,
        Returned,
        Trapped
    }


    function _take(Cursor memory c, uint256 n) internal pure returns (uint256 at) {
        at = c.at;
        if (at + n > c.end) revert ProofTruncated(at - c.base);
        c.at = at + n;
    }

    function _skip(Cursor memory c, uint256 n) internal pure {
        _take(c, n);
    }

    function _u16(Cursor memory c) internal pure returns (uint256) {
        return _cdUint(_take(c, 2), 2);
    }

    function _u32(Cursor memory c) internal pure returns (uint256) {
        return _cdUint(_take(c, 4), 4);
    }

    function _u64(Cursor memory c) internal pure returns (uint256) {
        return _cdUint(_take(c, 8), 8);
    }

    function _h(Cursor memory c) internal pure returns (bytes32) {
        return _cdWord(_take(c, 32));
    }

    /// @dev A path of `depth` siblings: its offset, consumed.
    function _path(Cursor memory c, uint256 depth) internal pure returns (uint256) {
        return _take(c, 32 * depth);
    }

    /// @dev The top frame, checked against the record's frame chain.
    function _frame(Cursor memory c, bytes memory rec)
        internal
        pure
        returns (bytes32 prev, uint256 returnPc, uint256 locals, bytes32 localsRoot)
    {
        prev = _h(c);
        returnPc = _u32(c);
        locals = _u32(c);
        localsRoot = _h(c);
        if (_frameLink(prev, returnPc, locals, localsRoot) != _memWord(rec, R_FRAMES_HASH)) {
            revert InvalidWitness("frame");
        }
    }

    /// @dev Enters a defined function: its parameters (every value read) and zeroed locals make
    /// the new top frame, which returns after the calling instruction.
    function _enter(bytes memory rec, Stack memory s, uint256 imm) internal pure {
        uint256 params = (imm >> 16) & 0xffff;
        uint256 count = params + (imm & 0xffff);
        bytes32 root = _rootWithZeroTail(s.v, params, count);
        uint256 pc = _memUint(rec, R_PC, 4); // already the return address
        _memSetWord(rec, R_FRAMES_HASH, _frameLink(_memWord(rec, R_FRAMES_HASH), pc, count, root));
        _memSetUint(rec, R_FRAME_DEPTH, 4, _memUint(rec, R_FRAME_DEPTH, 4) + 1);
        _memSetUint(rec, R_PC, 4, imm >> 32);
        s.n = 0;
    }

    /// @dev `root(word(values[..n]) ‖ zeros)` over `count` leaves, in O(n + log count).
    function _rootWithZeroTail(uint256[] memory values, uint256 n, uint256 count) internal pure returns (bytes32) {
        if (count == 0) return bytes32(0);
        uint256 depth = _depth(count);
        bytes32[] memory layer = new bytes32[](n + 1);
        for (uint256 i = 0; i < n; i++) {
            layer[i] = bytes32(values[i]);
        }
        uint256 len = n;
        bytes32 z;
        for (uint256 h = 0; h < depth; h++) {
            if (len == 0) return _zeroAbove(z, h, depth);
            if (len % 2 == 1) layer[len++] = z;
            for (uint256 i = 0; i < len / 2; i++) {
                layer[i] = _node(layer[2 * i], layer[2 * i + 1]);
            }
            len /= 2;
            z = _node(z, z);
        }
        return len == 0 ? z : layer[0];
    }

    /// @dev The zero subtree of height `to`, from `z` of height `from`.
    function _zeroAbove(bytes32 z, uint256 from, uint256 to) internal pure returns (bytes32) {
        for (uint256 h = from; h < to; h++) {
            z = _node(z, z);
        }
        return z;
    }

    /// @dev A bulk check with nothing to do skips its step instruction.
    function _skipStep(bytes memory rec) internal pure {
        uint256 next = _memUint(rec, R_PC, 4) + 1;
        if (next > M32) revert InvalidWitness("program counter");
        _memSetUint(rec, R_PC, 4, next);
    }

    /// @dev The one or two memory leaves covering `[at, at + len)` (1 <= len <= 32), with the
    /// calldata offsets of their paths.
    struct Window {
        bytes bytes_;
        uint256 first;
        bool two;
        uint256 path0;
        uint256 path1;
    }

    /// @dev Reads the leaves covering `[at, at + len)` with their paths, checked against `root`.
    function _readWindow(Cursor memory c, bytes32 root, uint256 at, uint256 len)
        internal
        pure
        returns (Window memory w)
    {
        w.first = at / 32;
        w.two = (at + len - 1) / 32 != w.first;
        w.bytes_ = new bytes(64);
        w.path0 = _leaf(c, w.bytes_, 0, w.first, root);
        if (w.two) w.path1 = _leaf(c, w.bytes_, 32, w.first + 1, root);
    }

    /// @dev Memory leaf `index` and its path, checked against `root`, copied into `window` at
    /// `at`; returns the path's calldata offset.
    function _leaf(Cursor memory c, bytes memory window, uint256 at, uint256 index, bytes32 root)
        internal
        pure
        returns (uint256 path)
    {
        bytes32 leaf = _h(c);
        path = _path(c, MEMORY_DEPTH);
        if (_rootFromPath(leaf, index, path, MEMORY_DEPTH) != root) revert InvalidWitness("memory leaf");
        assembly ("memory-safe") {
            mstore(add(add(window, 0x20), at), leaf)
        }
    }

    /// @dev The memory root once the one or two adjacent leaves from `first` become `window`:
    /// the first leaf's path, then the second's with the sibling where the two paths meet
    /// replaced by the first leaf's updated ancestor.
    function _writeWindow(Window memory w) internal pure returns (bytes32) {
        bytes32 node = _memWord(w.bytes_, 0);
        if (!w.two) return _rootFromPath(node, w.first, w.path0, MEMORY_DEPTH);
        uint256 second = w.first + 1;
        uint256 meet;
        while ((w.first >> (meet + 1)) != (second >> (meet + 1))) {
            meet++;
        }
        // The first leaf's ancestor at the meeting height.
        bytes32 ancestor = _rootFromPath(node, w.first, w.path0, meet);
        bytes32 acc = _memWord(w.bytes_, 32);
        for (uint256 h = 0; h < MEMORY_DEPTH; h++) {
            bytes32 sib = h == meet ? ancestor : _cdWord(w.path1 + 32 * h);
            acc = (second >> h) & 1 == 0 ? _node(acc, sib) : _node(sib, acc);
        }
        return acc;
    }

    function _min(uint256 a, uint256 b) internal pure returns (uint256) {
        return a < b ? a : b;
    }

    /// @dev A table's witness: its leaf fields and the calldata offset of its path in the
    /// tables list, checked against the record's tables root.
    struct TableWitness {
        uint256 size;
        uint256 max;
        bytes32 elemsRoot;
        uint256 path;
    }

    /// @dev `H(u32 size ‖ u32 max ‖ elements_root)`.
    function _tableLeaf(uint256 size, uint256 max, bytes32 elemsRoot) internal pure returns (bytes32 h) {
        assembly ("memory-safe") {
            let m := mload(0x40)
            mstore(m, or(shl(224, size), shl(192, max)))
            mstore(add(m, 8), elemsRoot)
            h := keccak256(m, 40)
        }
    }

    function _readTable(Cursor memory c, uint256 mod, bytes memory rec, uint256 t)
        internal
        pure
        returns (TableWitness memory tw)
    {
        tw.size = _u32(c);
        tw.max = _u32(c);
        tw.elemsRoot = _h(c);
        uint256 tables = _cdUint(mod + M_TABLES, 4);
        tw.path = _path(c, _depth(tables));
        bytes32 leaf = _tableLeaf(tw.size, tw.max, tw.elemsRoot);
        if (t >= tables || _rootFromPath(leaf, t, tw.path, _depth(tables)) != _memWord(rec, R_TABLES_ROOT)) {
            revert InvalidWitness("table");
        }
    }

    /// @dev Element `i` of a checked table, checked; with its path's offset.
    function _readElem(Cursor memory c, TableWitness memory tw, uint256 i) internal pure returns (uint256 e, uint256 path) {
        e = _u64(c);
        path = _path(c, _depth(tw.size));
        if (i >= tw.size || _rootFromPath(bytes32(e), i, path, _depth(tw.size)) != tw.elemsRoot) {
            revert InvalidWitness("table element");
        }
    }

    /// @dev The tables root once table `t` (witnessed as `tw`) has `size` and `elemsRoot`.
    function _setTable(bytes memory rec, uint256 mod, TableWitness memory tw, uint256 t, uint256 size, bytes32 elemsRoot)
        internal
        pure
    {
        bytes32 leaf = _tableLeaf(size, tw.max, elemsRoot);
        uint256 depth = _depth(_cdUint(mod + M_TABLES, 4));
        _memSetWord(rec, R_TABLES_ROOT, _rootFromPath(leaf, t, tw.path, depth));
    }

    /// @dev Element `i` of table `tw` becomes `v` (its path read and checked here).
    function _writeElem(Cursor memory c, bytes memory rec, uint256 mod, TableWitness memory tw, uint256 t, uint256 i, uint256 v)
        internal
        pure
    {
        (, uint256 path) = _readElem(c, tw, i);
        _setTable(rec, mod, tw, t, tw.size, _rootFromPath(bytes32(v), i, path, _depth(tw.size)));
    }

    /// @dev A segment's `u32 len ‖ root` at `seg` of a module list of `count`, checked
    /// against `listRoot`.
    function _readSegment(Cursor memory c, bytes32 listRoot, uint256 count, uint256 seg)
        internal
        pure
        returns (uint256 len, bytes32 root)
    {
        len = _u32(c);
        root = _h(c);
        uint256 path = _path(c, _depth(count));
        bytes32 leaf;
        assembly ("memory-safe") {
            mstore(0, shl(224, len))
            mstore(4, root)
            leaf := keccak256(0, 36)
        }
        if (seg >= count || _rootFromPath(leaf, seg, path, _depth(count)) != listRoot) revert InvalidWitness("segment");
    }

    /// @dev Flag `at` of the dropped list (data segments, then element segments), checked;
    /// with its path's offset and depth.
    function _readDropped(Cursor memory c, uint256 mod, bytes memory rec, uint256 at)
        internal
        pure
        returns (uint256 flag, uint256 path, uint256 depth)
    {
        uint256 count = _cdUint(mod + M_DATAS, 4) + _cdUint(mod + M_ELEMS, 4);
        flag = _u64(c);
        depth = _depth(count);
        path = _path(c, depth);
        if (at >= count || _rootFromPath(bytes32(flag), at, path, depth) != _memWord(rec, R_DROPPED_ROOT)) {
            revert InvalidWitness("dropped flag");
        }
    }

    /// @dev The parameters of host function `func` in signature `form`, or `type(uint256).max`
    /// if the PVM defines no such function or form (docs/pvm.md 3.2 and 9.6).
    function _hostParams(uint256 imm) internal pure returns (uint256) {
        uint256 func = (imm >> 16) & 0xffff;
        uint256 form = imm & 0xffff;
        if (func > 13) return type(uint256).max;
        if (func == 2 || func == 12) {
            if (form > 1) return type(uint256).max;
            return func == 2 ? 2 : 3 + form;
        }
        if (form != 0) return type(uint256).max;
        if (func == 0 || func == 5 || func == 6) return 4;
        if (func == 7 || func == 8 || func == 11) return 5;
        return 2;
    }

    /// @dev A bulk step that is not done repeats: the program counter stays.
    function _stay(bytes memory rec) internal pure {
        _memSetUint(rec, R_PC, 4, _memUint(rec, R_PC, 4) - 1);
    }
}
