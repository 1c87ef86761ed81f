// SPDX-License-Identifier: MIT OR Apache-2.0
pragma solidity ^0.8.30;

import {OspWitness} from "./OspWitness.sol";

/// @title OspTables
/// @notice Tables and `call_indirect` (docs/pvm.md 9.5 item 5): `table.get`, `set`, `size`,
/// `grow` and its steps, the `fill`, `copy` and `init` checks and their one-element steps, and
/// `call_indirect` with its traps (past the table, null, another type, 300 frames). A table is a
/// leaf `H(u32 size ‖ u32 max ‖ elements_root)` of the tables list; every witness is checked
/// against the pre-state's roots.
abstract contract OspTables is OspWitness {
    /// @dev Host call `imm` (`import ‖ function ‖ form`, a defined function) on the stack's
    /// values: its witnesses follow at the cursor.
    function _hostCall(Cursor memory c, bytes memory rec, Stack memory s, uint256 imm) internal view virtual;

    /// @dev Executes table instruction `op` (0x08, 0x40 to 0x4a).
    function _table(Cursor memory c, bytes memory rec, Stack memory s, uint256 op, uint256 imm, uint256 mod)
        internal
        view
        returns (Outcome)
    {
        if (op == 0x08 || op <= 0x42) return _access(c, rec, s, op, imm, mod);
        if (op == 0x43) return _grow(c, rec, s, imm, mod);
        if (op == 0x44) return _growStep(c, rec, s, imm, mod);
        if (op == 0x45 || op == 0x47 || op == 0x49) return _bulkCheck(c, rec, s, op, imm, mod);
        return _bulkStep(c, rec, s, op, imm, mod);
    }

    /// @dev `table.get`, `table.set`, `table.size`, `call_indirect`.
    function _access(Cursor memory c, bytes memory rec, Stack memory s, uint256 op, uint256 imm, uint256 mod)
        private
        view
        returns (Outcome)
    {
        bool indirect = op == 0x08;
        if (indirect && s.n == 0) revert InvalidWitness("stack values");
        uint256 t = imm & M32; // call_indirect: `type ‖ table`
        TableWitness memory tw = _readTable(c, mod, rec, t);
        if (op == 0x42) {
            s.v[s.n++] = tw.size;
            return Outcome.Running;
        }
        uint256 i = s.v[op == 0x41 ? 0 : s.n - 1] & M32;
        if (i >= tw.size) {
            if (indirect && s.n != 1) revert InvalidWitness("stack values");
            return Outcome.Trapped;
        }
        (uint256 e, uint256 path) = _readElem(c, tw, i);
        if (op == 0x40) {
            s.v[0] = e;
        } else if (op == 0x41) {
            uint256 v = s.v[1];
            s.n = 0;
            _setTable(rec, mod, tw, t, tw.size, _rootFromPath(bytes32(v), i, path, _depth(tw.size)));
        } else {
            return _indirect(c, rec, s, imm, mod, e);
        }
        return Outcome.Running;
    }

    /// @dev `call_indirect` of element `e`: the callee's function leaf, its type, the call.
    function _indirect(Cursor memory c, bytes memory rec, Stack memory s, uint256 imm, uint256 mod, uint256 e)
        private
        view
        returns (Outcome)
    {
        if (e == 0) return _indirectTrap(s);
        uint256 f = e - 1;
        bytes32 fleaf = _h(c);
        uint256 funcs = _cdUint(mod + M_FUNCS, 4);
        uint256 fpath = _path(c, _depth(funcs));
        if (f >= funcs || _rootFromPath(fleaf, f, fpath, _depth(funcs)) != _cdWord(mod + M_FUNCS_ROOT)) {
            revert InvalidWitness("function");
        }
        uint256 ty = uint32(bytes4(fleaf << 72));
        if (ty != imm >> 32 || _memUint(rec, R_FRAME_DEPTH, 4) >= MAX_CALL_DEPTH) return _indirectTrap(s);
        uint256 callee = uint64(bytes8(fleaf << 8));
        if (uint8(fleaf[0]) != 0) {
            // A host function: the same step as a `HostCall` of it.
            uint256 params = _hostParams(callee);
            if (params == type(uint256).max) revert InvalidWitness("host function");
            if (s.n != 1 + params) revert InvalidWitness("stack values");
            s.n -= 1;
            _hostCall(c, rec, s, callee);
            return Outcome.Running;
        }
        if (s.n != 1 + ((callee >> 16) & 0xffff)) revert InvalidWitness("stack values");
        s.n -= 1; // the index
        _enter(rec, s, callee);
        return Outcome.Running;
    }

    /// @dev A `call_indirect` that traps reads its index alone.
    function _indirectTrap(Stack memory s) private pure returns (Outcome) {
        if (s.n != 1) revert InvalidWitness("stack values");
        return Outcome.Trapped;
    }

    /// @dev `table.grow` check: the size grows (new elements are null, zero leaves, so the
    /// element root only deepens); its `n` steps then write the initial value.
    function _grow(Cursor memory c, bytes memory rec, Stack memory s, uint256 imm, uint256 mod)
        private
        pure
        returns (Outcome)
    {
        uint256 t = imm & M32;
        TableWitness memory tw = _readTable(c, mod, rec, t);
        uint256 n = s.v[1] & M32;
        uint256 grown = tw.size + n;
        uint256 result = M32;
        if (grown <= M32 && grown <= tw.max) {
            bytes32 root = tw.elemsRoot;
            uint256 to = _depth(grown);
            if (tw.size == 0) {
                root = grown == 0 ? bytes32(0) : _zeroSubtree(to);
            } else {
                for (uint256 h = _depth(tw.size); h < to; h++) {
                    root = _node(root, _zeroSubtree(h));
                }
            }
            _setTable(rec, mod, tw, t, grown, root);
            result = tw.size;
        }
        if (n == 0) {
            s.v[0] = result;
            s.n = 1;
            _skipStep(rec);
        } else {
            s.v[s.n++] = result;
        }
        return Outcome.Running;
    }

    /// @dev One `table.grow` step: `[value, n, result]`, element `size - n` gets the value.
    function _growStep(Cursor memory c, bytes memory rec, Stack memory s, uint256 imm, uint256 mod)
        private
        pure
        returns (Outcome)
    {
        uint256 t = imm & M32;
        TableWitness memory tw = _readTable(c, mod, rec, t);
        (uint256 v, uint256 n, uint256 result) = (s.v[0], s.v[1] & M32, s.v[2]);
        if (result != M32) {
            if (n > tw.size) revert InvalidWitness("table grow step");
            _writeElem(c, rec, mod, tw, t, tw.size - n, v);
        }
        if (n <= 1) {
            s.v[0] = result;
            s.n = 1;
        } else {
            s.v[1] = n - 1;
            _stay(rec);
        }
        return Outcome.Running;
    }

    /// @dev The `table.fill`, `table.copy` and `table.init` checks: bounds before any write;
    /// a count of 0 completes at once.
    function _bulkCheck(Cursor memory c, bytes memory rec, Stack memory s, uint256 op, uint256 imm, uint256 mod)
        private
        pure
        returns (Outcome)
    {
        (uint256 d, uint256 src, uint256 n) = (s.v[0] & M32, s.v[1] & M32, s.v[2] & M32);
        bool inBounds;
        if (op == 0x45) {
            inBounds = d + n <= _readTable(c, mod, rec, imm & M32).size;
        } else if (op == 0x47) {
            uint256 dsize = _readTable(c, mod, rec, imm >> 32).size;
            uint256 ssize = _readTable(c, mod, rec, imm & M32).size;
            inBounds = d + n <= dsize && src + n <= ssize;
        } else {
            (uint256 available, uint256 size) = _initBounds(c, rec, imm, mod);
            inBounds = src + n <= available && d + n <= size;
        }
        if (!inBounds) return Outcome.Trapped;
        if (n == 0) {
            s.n = 0;
            _skipStep(rec);
        }
        return Outcome.Running;
    }

    /// @dev `table.init`'s witnesses: the element segment's length (0 once dropped) and the
    /// table's size.
    function _initBounds(Cursor memory c, bytes memory rec, uint256 imm, uint256 mod)
        private
        pure
        returns (uint256 available, uint256 size)
    {
        uint256 seg = imm >> 32;
        (uint256 len,) = _readSegment(c, _cdWord(mod + M_ELEMS_ROOT), _cdUint(mod + M_ELEMS, 4), seg);
        (uint256 flag,,) = _readDropped(c, mod, rec, _cdUint(mod + M_DATAS, 4) + seg);
        size = _readTable(c, mod, rec, imm & M32).size;
        available = flag != 0 ? 0 : len;
    }

    /// @dev One element of `table.fill`, `table.copy` (forwards, or backwards from the end when
    /// copying to a higher index) or `table.init`: `[d, src, n]`.
    function _bulkStep(Cursor memory c, bytes memory rec, Stack memory s, uint256 op, uint256 imm, uint256 mod)
        private
        pure
        returns (Outcome)
    {
        {
            (uint256 t, uint256 di, uint256 value) = _stepSource(c, rec, op, imm, mod, s);
            _writeElem(c, rec, mod, _readTable(c, mod, rec, t), t, di, value);
        }
        (uint256 d, uint256 src, uint256 n) = (s.v[0] & M32, s.v[1], s.v[2] & M32);
        if (op != 0x48 || d <= (src & M32)) {
            s.v[0] = d + 1;
            if (op != 0x46) s.v[1] = (src & M32) + 1;
        }
        if (n <= 1) {
            s.n = 0;
        } else {
            s.v[2] = n - 1;
            _stay(rec);
        }
        return Outcome.Running;
    }

    /// @dev The destination table and element of a bulk table step, and the value it writes:
    /// the fill value, the source element (its table witnessed), or the segment's item.
    function _stepSource(Cursor memory c, bytes memory rec, uint256 op, uint256 imm, uint256 mod, Stack memory s)
        private
        pure
        returns (uint256 t, uint256 di, uint256 value)
    {
        (uint256 d, uint256 src) = (s.v[0] & M32, s.v[1]);
        if (op == 0x46) return (imm & M32, d, src);
        if (op == 0x48) {
            uint256 si;
            (di, si) = _copyIndices(d, src & M32, s.v[2] & M32);
            (value,) = _readElem(c, _readTable(c, mod, rec, imm & M32), si);
            return (imm >> 32, di, value);
        }
        (uint256 len, bytes32 items) = _readSegment(c, _cdWord(mod + M_ELEMS_ROOT), _cdUint(mod + M_ELEMS, 4), imm >> 32);
        value = _u64(c);
        uint256 path = _path(c, _depth(len));
        if ((src & M32) >= len || _rootFromPath(bytes32(value), src & M32, path, _depth(len)) != items) {
            revert InvalidWitness("element segment item");
        }
        return (imm & M32, d, value);
    }

    /// @dev The (destination, source) elements a `table.copy` step moves.
    function _copyIndices(uint256 d, uint256 s, uint256 n) private pure returns (uint256, uint256) {
        if (d <= s) return (d, s);
        return (d + n == 0 ? 0 : d + n - 1, s + n == 0 ? 0 : s + n - 1);
    }
}
