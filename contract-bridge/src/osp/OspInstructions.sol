// SPDX-License-Identifier: MIT OR Apache-2.0
pragma solidity ^0.8.30;

import {OspBulkMemory} from "./OspBulkMemory.sol";
import {OspTables} from "./OspTables.sol";

/// @title OspInstructions
/// @notice A running step of the reference machine (docs/pvm.md 9.5 items 3 to 6): the code
/// leaf at the program counter, the stack values it reads, the leaves it touches, each checked
/// against the pre-state's roots; returns the post-record. `OneStepProof` has already checked
/// the header against the pre-state hash and advanced the counters.
/// @dev Families: control, calls and returns; parametric; locals and globals; constants and
/// references; integer arithmetic, comparison and conversion of both widths; loads and stores
/// of every width (straddling two leaves included); memory size and grow; the bulk memory
/// instructions and their steps (`OspBulkMemory`); tables and `call_indirect` (`OspTables`);
/// segment drops. Host calls answer `NotProvable` until their family lands. These are the steps of almost every tick, so
/// they run inside `OneStepProof` itself, with no call between contracts; rarer families will
/// sit behind it in contracts of their own.
abstract contract OspInstructions is OspTables, OspBulkMemory {

    /// @dev The instruction being executed, with the `br_table` entry it takes.
    struct Instr {
        uint256 op;
        uint256 imm;
        uint256 entryOp;
        uint256 entryImm;
        uint256 mod; // calldata offset of the header's module fields
    }

    /// @dev Executes the instruction at the record's program counter. `rec` is the post-record
    /// so far (counters advanced); the proof is `len` bytes at calldata offset `base`.
    function _execute(bytes memory rec, uint256 base, uint256 len, address rollup) internal view returns (bytes memory) {
        Cursor memory c = Cursor(base, base + len, base + H_SIZE, rollup);
        Instr memory ins = _fetch(c, base + H_MODULE, rec);
        Stack memory s = _readStack(c, rec);
        if (ins.op == 0x05) _checkEntry(c, ins, s, rec);
        // call_indirect's values depend on its callee: its family checks them.
        if (ins.op != 0x08 && s.n != _stackNeeds(ins.op, ins.imm, s, ins.entryImm)) {
            revert InvalidWitness("stack values");
        }
        uint256 below = _memUint(rec, R_STACK_HEIGHT, 4) - s.n;
        _memSetUint(rec, R_PC, 4, _memUint(rec, R_PC, 4) + 1);

        Outcome o = _dispatch(c, rec, s, ins);

        if (c.at != c.end) revert TrailingBytes(c.end - c.at);
        if (o == Outcome.Running) {
            uint256 height = below + s.n;
            if (height > M32) revert InvalidWitness("stack height");
            _memSetUint(rec, R_STACK_HEIGHT, 4, height);
            bytes32 h = s.rest;
            for (uint256 i = 0; i < s.n; i++) {
                h = _push(h, s.v[i]);
            }
            _memSetWord(rec, R_STACK_HASH, h);
        } else {
            _withoutInstance(rec, o == Outcome.Returned ? STATUS_RETURNED : STATUS_FAILED);
        }
        return rec;
    }

    /// @dev The instruction at the program counter (checked against the code root) and, for
    /// `br_table`, the entry that follows it in the proof (checked once the index is known).
    function _fetch(Cursor memory c, uint256 mod, bytes memory rec) private pure returns (Instr memory ins) {
        ins.mod = mod;
        (ins.op, ins.imm) = _instr(c, mod, _memUint(rec, R_PC, 4));
        if (ins.op == 0x05) {
            (ins.entryOp, ins.entryImm) = _readInstr(c);
            // Its path is read again by _checkEntry; here it is only skipped.
            _skip(c, 32 * _depth(_cdUint(mod + M_CODE_LEN, 4)));
        }
    }

    /// @dev The `br_table` entry taken: at `pc + 1 + min(index, n)`.
    function _checkEntry(Cursor memory c, Instr memory ins, Stack memory s, bytes memory rec) private pure {
        if (s.n == 0) revert InvalidWitness("br_table index");
        uint256 i = _min(s.v[s.n - 1] & M32, ins.imm & M32);
        uint256 at = _memUint(rec, R_PC, 4) + 1 + i;
        if (at > M32) revert InvalidWitness("br_table entry");
        uint256 depth = _depth(_cdUint(ins.mod + M_CODE_LEN, 4));
        // The entry's path sits right after its 10 bytes, after the instruction's own path.
        uint256 path = c.base + H_SIZE + 10 + 32 * depth + 10;
        _checkCode(ins.mod, ins.entryOp, ins.entryImm, at, path);
    }

    /// @dev Whether `op` is an opcode of the lowered instruction set (docs/pvm.md 9.1).
    function _isOpcode(uint256 op) private pure returns (bool) {
        return op <= 0x0a || (op >= 0x10 && op <= 0x16) || op == 0x18 || op == 0x19 || (op >= 0x20 && op <= 0x3b)
            || (op >= 0x40 && op <= 0x4e) || (op >= 0x50 && op <= 0x6c) || (op >= 0x70 && op <= 0x8c)
            || (op >= 0x90 && op <= 0x97);
    }

    function _readInstr(Cursor memory c) private pure returns (uint256 op, uint256 imm) {
        op = _u16(c);
        if (!_isOpcode(op)) revert InvalidWitness("opcode");
        imm = _u64(c);
    }

    /// @dev The instruction at `pc` with its code path, checked against the module's code root.
    function _instr(Cursor memory c, uint256 mod, uint256 pc) private pure returns (uint256 op, uint256 imm) {
        (op, imm) = _readInstr(c);
        uint256 path = _path(c, _depth(_cdUint(mod + M_CODE_LEN, 4)));
        _checkCode(mod, op, imm, pc, path);
    }

    function _checkCode(uint256 mod, uint256 op, uint256 imm, uint256 at, uint256 path) private pure {
        uint256 len = _cdUint(mod + M_CODE_LEN, 4);
        bytes32 leaf = bytes32((op << 240) | (imm << 176));
        if (at >= len || _rootFromPath(leaf, at, path, _depth(len)) != _cdWord(mod + M_CODE_ROOT)) {
            revert InvalidWitness("code leaf");
        }
    }

    function _readStack(Cursor memory c, bytes memory rec) private pure returns (Stack memory s) {
        uint256 k = _u16(c);
        if (k > _memUint(rec, R_STACK_HEIGHT, 4)) revert InvalidWitness("stack depth");
        s.v = new uint256[](k + 1);
        for (uint256 i = 0; i < k; i++) {
            s.v[i] = _u64(c);
        }
        s.n = k;
        s.rest = _h(c);
        bytes32 h = s.rest;
        for (uint256 i = 0; i < k; i++) {
            h = _push(h, s.v[i]);
        }
        if (h != _memWord(rec, R_STACK_HASH)) revert InvalidWitness("stack");
    }

    /// @dev How many stack values the instruction reads (docs/pvm.md 9.5 item 4).
    function _stackNeeds(uint256 op, uint256 imm, Stack memory s, uint256 entryImm) private pure returns (uint256) {
        if (op == 0x3b || op == 0x4b) return 0; // data.drop, elem.drop
        if (op == 0x00 || op == 0x01 || op == 0x18 || op == 0x19 || op == 0x12 || op == 0x15 || op == 0x33) return 0;
        if (op == 0x4c || op == 0x4e || op == 0x42) return 0; // ref.null, ref.func, table.size
        if (op == 0x40) return 1; // table.get
        if (op == 0x41 || op == 0x43) return 2; // table.set, table.grow
        if (op >= 0x44 && op <= 0x4a) return 3; // table.grow step, fill, copy, init and their steps
        if (op >= 0x36 && op <= 0x3a) return 3; // bulk memory steps, memory.init
        if (op == 0x02 || op == 0x06) return _branchValues(imm);
        if (op == 0x03 || op == 0x0a) {
            bool taken = s.n > 0 && (s.v[s.n - 1] & M32) != 0;
            return 1 + (taken ? _branchValues(imm) : 0);
        }
        if (op == 0x04) return 1;
        if (op == 0x05) return 1 + _branchValues(entryImm);
        if (op == 0x07) return (imm >> 16) & 0xffff; // call: its parameters
        if (op == 0x09) {
            uint256 p = _hostParams(imm);
            return p == type(uint256).max ? 0 : p;
        }
        if (op == 0x10 || op == 0x13 || op == 0x14 || op == 0x16 || op == 0x34 || op == 0x4d) return 1;
        if (op == 0x11 || op == 0x35 || op == 0x37) return 3;
        if (op >= 0x20 && op <= 0x2b) return 1; // loads
        if (op >= 0x2c && op <= 0x32) return 2; // stores
        if (_isUnary(op)) return 1;
        return 2;
    }

    function _branchValues(uint256 imm) private pure returns (uint256) {
        return ((imm >> 16) & 0xffff) + (imm & 0xffff);
    }

    function _isUnary(uint256 op) private pure returns (bool) {
        return op == 0x50 || op == 0x70 || (op >= 0x5b && op <= 0x5d) || (op >= 0x7b && op <= 0x7d) || op >= 0x90;
    }

    // ------------------------------------------------------------ execution

    function _dispatch(Cursor memory c, bytes memory rec, Stack memory s, Instr memory ins)
        private
        view
        returns (Outcome)
    {
        (uint256 op, uint256 imm, uint256 mod) = (ins.op, ins.imm, ins.mod);
        if (op >= 0x50) {
            (bool ok, uint256 v) = _isUnary(op) ? _numeric(op, s.v[0], 0) : _numeric(op, s.v[0], s.v[1]);
            if (!ok) return Outcome.Trapped;
            s.v[0] = v;
            s.n = 1;
            return Outcome.Running;
        }
        if (op >= 0x20 && op <= 0x32) return _memoryAccess(c, rec, s, op, imm);
        if (op == 0x08 || (op >= 0x40 && op <= 0x4a)) return _table(c, rec, s, op, imm, mod);
        if (op == 0x36 || (op >= 0x38 && op <= 0x3a)) return _bulkMemory(c, rec, s, op, imm, mod);
        if (op == 0x09) {
            if (_hostParams(imm) == type(uint256).max) revert InvalidWitness("host function");
            if (_memUint(rec, R_FRAME_DEPTH, 4) >= MAX_CALL_DEPTH) return Outcome.Trapped;
            _hostCall(c, rec, s, imm);
            return Outcome.Running;
        }
        if (op <= 0x0a) return _control(c, rec, s, ins);
        if (op == 0x10) {
            s.n -= 1; // drop
        } else if (op == 0x11) {
            // select: [a, b, c] -> c != 0 ? a : b
            if (s.v[2] & M32 == 0) s.v[0] = s.v[1];
            s.n = 1;
        } else if (op >= 0x12 && op <= 0x14) {
            _local(c, rec, s, op, imm);
        } else if (op == 0x15 || op == 0x16) {
            _global(c, mod, rec, s, op, imm);
        } else if (op == 0x18 || op == 0x19 || op == 0x4e) {
            s.v[s.n++] = imm; // i32.const, i64.const, ref.func
        } else if (op == 0x4c) {
            s.v[s.n++] = 0; // ref.null
        } else if (op == 0x4d) {
            s.v[0] = s.v[0] == 0 ? 1 : 0; // ref.is_null
        } else if (op == 0x33) {
            s.v[s.n++] = _memUint(rec, R_MEMORY_PAGES, 4);
        } else if (op == 0x34) {
            // memory.grow: new pages are zero leaves of the fixed-depth tree, the root stays.
            uint256 old = _memUint(rec, R_MEMORY_PAGES, 4);
            uint256 grown = old + (s.v[0] & M32);
            if (grown <= M32 && grown <= _memUint(rec, R_MEMORY_MAX, 4)) {
                _memSetUint(rec, R_MEMORY_PAGES, 4, grown);
                s.v[0] = old;
            } else {
                s.v[0] = M32;
            }
        } else if (op == 0x35 || op == 0x37) {
            // memory.fill / memory.copy check: bounds before any write; a count of 0 completes.
            uint256 size = _memUint(rec, R_MEMORY_PAGES, 4) * PAGE_SIZE;
            (uint256 d, uint256 src, uint256 n) = (s.v[0] & M32, s.v[1] & M32, s.v[2] & M32);
            if (d + n > size || (op == 0x37 && src + n > size)) return Outcome.Trapped;
            if (n == 0) {
                s.n = 0;
                _skipStep(rec);
            }
        } else if (op == 0x3b || op == 0x4b) {
            _drop(c, mod, rec, op, imm);
        } else {
            revert NotProvable("instruction");
        }
        return Outcome.Running;
    }

    function _control(Cursor memory c, bytes memory rec, Stack memory s, Instr memory ins)
        private
        pure
        returns (Outcome)
    {
        (uint256 op, uint256 imm) = (ins.op, ins.imm);
        if (op == 0x00) return Outcome.Trapped; // unreachable
        if (op == 0x01) {
            _memSetUint(rec, R_PC, 4, imm & M32); // jump
        } else if (op == 0x02) {
            _adjust(s, imm);
            _memSetUint(rec, R_PC, 4, imm >> 32);
        } else if (op == 0x03) {
            if (s.v[--s.n] & M32 != 0) {
                _adjust(s, imm);
                _memSetUint(rec, R_PC, 4, imm >> 32);
            }
        } else if (op == 0x04) {
            if (s.v[--s.n] & M32 == 0) _memSetUint(rec, R_PC, 4, imm & M32);
        } else if (op == 0x05) {
            s.n -= 1;
            if (ins.entryOp == 0x02) {
                _adjust(s, ins.entryImm);
                _memSetUint(rec, R_PC, 4, ins.entryImm >> 32);
            } else if (ins.entryOp == 0x06) {
                if (_return(c, rec, s, ins.entryImm)) return Outcome.Returned;
            } else {
                revert InvalidWitness("br_table entry");
            }
        } else if (op == 0x06 || op == 0x0a) {
            bool taken = op == 0x06 || (s.v[--s.n] & M32) != 0;
            if (taken && _return(c, rec, s, imm)) return Outcome.Returned;
        } else if (op == 0x07) {
            if (_memUint(rec, R_FRAME_DEPTH, 4) >= MAX_CALL_DEPTH) return Outcome.Trapped;
            _enter(rec, s, imm);
        } else {
            revert NotProvable("control instruction");
        }
        return Outcome.Running;
    }

    /// @dev Keeps the top `keep` values and drops `drop` below them.
    function _adjust(Stack memory s, uint256 imm) private pure {
        uint256 keep = (imm >> 16) & 0xffff;
        uint256 drop = imm & 0xffff;
        uint256 from = s.n - keep;
        for (uint256 i = 0; i < keep; i++) {
            s.v[from - drop + i] = s.v[from + i];
        }
        s.n -= drop;
    }

    /// @dev Pops the top frame; whether it was the outermost (the run returned).
    function _return(Cursor memory c, bytes memory rec, Stack memory s, uint256 imm) private pure returns (bool) {
        (bytes32 prev, uint256 returnPc,,) = _frame(c, rec);
        _adjust(s, imm);
        uint256 depth = _memUint(rec, R_FRAME_DEPTH, 4);
        if (depth == 0) revert InvalidWitness("frame depth");
        _memSetWord(rec, R_FRAMES_HASH, prev);
        _memSetUint(rec, R_FRAME_DEPTH, 4, depth - 1);
        _memSetUint(rec, R_PC, 4, returnPc);
        return depth == 1;
    }

    function _local(Cursor memory c, bytes memory rec, Stack memory s, uint256 op, uint256 imm) private pure {
        (bytes32 prev, uint256 returnPc, uint256 locals, bytes32 localsRoot) = _frame(c, rec);
        uint256 value = _u64(c);
        uint256 depth = _depth(locals);
        uint256 path = _path(c, depth);
        if (imm >= locals || _rootFromPath(bytes32(value), imm, path, depth) != localsRoot) {
            revert InvalidWitness("local");
        }
        uint256 updated;
        if (op == 0x12) {
            s.v[s.n++] = value;
            updated = value;
        } else if (op == 0x13) {
            updated = s.v[--s.n];
        } else {
            updated = s.v[0];
        }
        bytes32 root = _rootFromPath(bytes32(updated), imm, path, depth);
        _memSetWord(rec, R_FRAMES_HASH, _frameLink(prev, returnPc, locals, root));
    }

    function _global(Cursor memory c, uint256 mod, bytes memory rec, Stack memory s, uint256 op, uint256 imm)
        private
        pure
    {
        uint256 value = _u64(c);
        uint256 globals = _cdUint(mod + M_GLOBALS, 4);
        uint256 depth = _depth(globals);
        uint256 path = _path(c, depth);
        if (imm >= globals || _rootFromPath(bytes32(value), imm, path, depth) != _memWord(rec, R_GLOBALS_ROOT)) {
            revert InvalidWitness("global");
        }
        if (op == 0x15) {
            s.v[s.n++] = value;
        } else {
            _memSetWord(rec, R_GLOBALS_ROOT, _rootFromPath(bytes32(s.v[--s.n]), imm, path, depth));
        }
    }

    /// @dev `data.drop` / `elem.drop`: the segment's flag in the dropped list becomes 1.
    function _drop(Cursor memory c, uint256 mod, bytes memory rec, uint256 op, uint256 imm) private pure {
        uint256 at = op == 0x3b ? imm : _cdUint(mod + M_DATAS, 4) + imm;
        if (at > M64) revert InvalidWitness("segment");
        (, uint256 path, uint256 depth) = _readDropped(c, mod, rec, at);
        _memSetWord(rec, R_DROPPED_ROOT, _rootFromPath(bytes32(uint256(1)), at, path, depth));
    }

    /// @dev The record once the instance is gone: an empty machine's instance fields.
    function _withoutInstance(bytes memory rec, uint8 status) private pure {
        rec[R_STATUS] = bytes1(status);
        // Bytes R_PC..R_INSTANCE_END (212): six words, then 20 bytes.
        for (uint256 at = R_PC; at + 32 <= R_INSTANCE_END; at += 32) {
            _memSetWord(rec, at, 0);
        }
        _memSetUint(rec, R_INSTANCE_END - 20, 20, 0);
        _memSetWord(rec, R_MEMORY_ROOT, _zeroSubtree(MEMORY_DEPTH)); // an empty memory
    }

    // ------------------------------------------------------------ memory

    /// @dev A load or store: traps (no leaf in the proof) outside the memory.
    function _memoryAccess(Cursor memory c, bytes memory rec, Stack memory s, uint256 op, uint256 imm)
        private
        pure
        returns (Outcome)
    {
        uint256 n = _accessSize(op);
        uint256 end = (s.v[0] & M32) + imm + n;
        if (end > _memUint(rec, R_MEMORY_PAGES, 4) * PAGE_SIZE) return Outcome.Trapped;
        uint256 ea = end - n;
        Window memory w = _readWindow(c, _memWord(rec, R_MEMORY_ROOT), ea, n);
        uint256 off = ea - w.first * 32;
        if (op <= 0x2b) {
            uint256 raw;
            for (uint256 i = 0; i < n; i++) {
                raw |= uint256(uint8(w.bytes_[off + i])) << (8 * i);
            }
            s.v[0] = _extendLoad(op, raw);
            return Outcome.Running;
        }
        uint256 v = s.v[1];
        s.n = 0;
        for (uint256 i = 0; i < n; i++) {
            w.bytes_[off + i] = bytes1(uint8(v >> (8 * i)));
        }
        _memSetWord(rec, R_MEMORY_ROOT, _writeWindow(w));
        return Outcome.Running;
    }

    function _accessSize(uint256 op) private pure returns (uint256) {
        if (op == 0x22 || op == 0x23 || op == 0x26 || op == 0x27 || op == 0x2e || op == 0x30) return 1;
        if (op == 0x24 || op == 0x25 || op == 0x28 || op == 0x29 || op == 0x2f || op == 0x31) return 2;
        if (op == 0x20 || op == 0x2a || op == 0x2b || op == 0x2c || op == 0x32) return 4;
        return 8;
    }

    function _extendLoad(uint256 op, uint256 raw) private pure returns (uint256 v) {
        if (op == 0x22) return _sext(raw, 0) & M32;
        if (op == 0x24) return _sext(raw, 1) & M32;
        if (op == 0x26) return _sext(raw, 0) & M64;
        if (op == 0x28) return _sext(raw, 1) & M64;
        if (op == 0x2a) return _sext(raw, 3) & M64;
        return raw;
    }

    // ------------------------------------------------------------ numeric

    function _sext(uint256 v, uint256 byteIndex) private pure returns (uint256 r) {
        assembly ("memory-safe") {
            r := signextend(byteIndex, v)
        }
    }

    function _slt(uint256 a, uint256 b, uint256 byteIndex) private pure returns (bool r) {
        assembly ("memory-safe") {
            r := slt(signextend(byteIndex, a), signextend(byteIndex, b))
        }
    }

    function _clz(uint256 x, uint256 bits) private pure returns (uint256 n) {
        while (n < bits && (x >> (bits - 1 - n)) & 1 == 0) {
            n++;
        }
    }

    function _ctz(uint256 x, uint256 bits) private pure returns (uint256 n) {
        while (n < bits && (x >> n) & 1 == 0) {
            n++;
        }
    }

    function _popcnt(uint256 x) private pure returns (uint256 n) {
        while (x != 0) {
            x &= x - 1;
            n++;
        }
    }

    /// @dev The integer instructions (0x50 to 0x97); `ok` is false when the instruction traps.
    function _numeric(uint256 op, uint256 a, uint256 b) private pure returns (bool ok, uint256 v) {
        ok = true;
        if (op >= 0x90) {
            if (op == 0x90 || op == 0x92) return (true, a & M32);
            if (op == 0x91) return (true, _sext(a, 3) & M64);
            if (op == 0x93) return (true, _sext(a, 0) & M32);
            if (op == 0x94) return (true, _sext(a, 1) & M32);
            if (op == 0x95) return (true, _sext(a, 0) & M64);
            if (op == 0x96) return (true, _sext(a, 1) & M64);
            return (true, _sext(a, 3) & M64);
        }
        bool wide = op >= 0x70;
        uint256 bits = wide ? 64 : 32;
        uint256 mask = wide ? M64 : M32;
        uint256 sb = wide ? 7 : 3; // signextend byte index
        uint256 x = a & mask;
        uint256 y = b & mask;
        uint256 k = op - (wide ? 0x70 : 0x50);
        if (k == 0x00) return (true, x == 0 ? 1 : 0);
        if (k == 0x01) return (true, x == y ? 1 : 0);
        if (k == 0x02) return (true, x != y ? 1 : 0);
        if (k == 0x03) return (true, _slt(x, y, sb) ? 1 : 0);
        if (k == 0x04) return (true, x < y ? 1 : 0);
        if (k == 0x05) return (true, _slt(y, x, sb) ? 1 : 0);
        if (k == 0x06) return (true, x > y ? 1 : 0);
        if (k == 0x07) return (true, _slt(y, x, sb) ? 0 : 1);
        if (k == 0x08) return (true, x <= y ? 1 : 0);
        if (k == 0x09) return (true, _slt(x, y, sb) ? 0 : 1);
        if (k == 0x0a) return (true, x >= y ? 1 : 0);
        if (k == 0x0b) return (true, _clz(x, bits));
        if (k == 0x0c) return (true, _ctz(x, bits));
        if (k == 0x0d) return (true, _popcnt(x));
        if (k == 0x0e) return (true, (x + y) & mask);
        if (k == 0x0f) return (true, (x + (mask + 1) - y) & mask);
        if (k == 0x10) return (true, (x * y) & mask);
        if (k >= 0x11 && k <= 0x14) {
            if (y == 0) return (false, 0);
            uint256 minValue = 1 << (bits - 1);
            if (k == 0x11 && x == minValue && y == mask) return (false, 0);
            if (k == 0x12) return (true, x / y);
            if (k == 0x14) return (true, x % y);
            int256 sx = int256(_sext(x, sb));
            int256 sy = int256(_sext(y, sb));
            int256 r = k == 0x11 ? sx / sy : sx % sy;
            return (true, uint256(r) & mask);
        }
        if (k == 0x15) return (true, x & y);
        if (k == 0x16) return (true, x | y);
        if (k == 0x17) return (true, x ^ y);
        uint256 sh = y % bits;
        if (k == 0x18) return (true, (x << sh) & mask);
        if (k == 0x19) return (true, uint256(int256(_sext(x, sb)) >> sh) & mask);
        if (k == 0x1a) return (true, x >> sh);
        if (k == 0x1b) return (true, ((x << sh) | (x >> (bits - sh))) & mask);
        return (true, ((x >> sh) | (x << (bits - sh))) & mask);
    }

}
