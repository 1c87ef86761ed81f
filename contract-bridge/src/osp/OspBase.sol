// SPDX-License-Identifier: MIT OR Apache-2.0
pragma solidity ^0.8.30;

/// @title OspBase
/// @notice The one-step verifier's shared layout (docs/pvm.md 9.4 and 9.5): header and record
/// offsets, the named errors (the twins of `pvm_reference::ProofError`) and the primitives every
/// family uses: big-endian fields in calldata and in the in-memory record, Merkle paths read in
/// place from the proof, and the state's hash chains.
abstract contract OspBase {
    // ------------------------------------------------------------ errors

    /// @notice The proof ends before byte `at` (its offset inside the proof).
    error ProofTruncated(uint256 at);
    /// @notice `count` bytes follow the end of the proof.
    error TrailingBytes(uint256 count);
    /// @notice The proof's header does not hash to the state it claims to start from.
    error PreStateMismatch();
    /// @notice A witness does not match its root, or a field is impossible (`what` names it,
    /// as the Rust verifier's `ProofError::Witness` does).
    error InvalidWitness(string what);
    /// @notice A step the L1 verifier does not execute yet (`what` names the instruction or
    /// transition).
    error NotProvable(string what);
    /// @notice A `reveal_preimage` step reveals a page the preimage oracle does not hold: upload
    /// it (`PreimageOracle.upload`) and send the proof again.
    error PreimageNotUploaded(bytes32 digest);

    // ------------------------------------------------------------ layout

    bytes32 internal constant STATE_TAG = keccak256("rollup.pvm.state.v1");
    bytes32 internal constant MACHINE_TAG = keccak256("rollup.pvm.machine.v1");
    bytes32 internal constant MODULE_TAG = keccak256("rollup.pvm.module.v1");

    uint8 internal constant STATUS_RUNNING = 1;
    uint8 internal constant STATUS_RETURNED = 2;
    uint8 internal constant STATUS_FAILED = 3;
    uint8 internal constant STATUS_NEXT_RUN = 4;

    // The header: `u32 level ‖ u64 tick ‖ durable_root ‖ outbox_root`, then the record.
    uint256 internal constant H_LEVEL = 0;
    uint256 internal constant H_TICK = 4;
    uint256 internal constant H_DURABLE = 12;
    uint256 internal constant H_OUTBOX = 44;
    uint256 internal constant H_STATUS = 76;
    uint256 internal constant H_BASE = 76;
    uint256 internal constant RECORD_SIZE = 337;
    uint256 internal constant H_MODULE = 413;
    uint256 internal constant MODULE_FIELDS_SIZE = 252;
    uint256 internal constant H_SIZE = 665;

    // The record (machine root fields after the module root), offsets from its status byte.
    uint256 internal constant R_STATUS = 0;
    uint256 internal constant R_RUN_TICK = 1; // u64
    uint256 internal constant R_PC = 9; // u32
    uint256 internal constant R_STACK_HEIGHT = 13; // u32
    uint256 internal constant R_STACK_HASH = 17;
    uint256 internal constant R_FRAME_DEPTH = 49; // u32
    uint256 internal constant R_FRAMES_HASH = 53;
    uint256 internal constant R_MEMORY_PAGES = 85; // u32
    uint256 internal constant R_MEMORY_MAX = 89; // u32
    uint256 internal constant R_MEMORY_ROOT = 93;
    uint256 internal constant R_GLOBALS_ROOT = 125;
    uint256 internal constant R_TABLES_ROOT = 157;
    uint256 internal constant R_DROPPED_ROOT = 189;
    uint256 internal constant R_INSTANCE_END = 221;

    // The module fields, offsets from H_MODULE.
    uint256 internal constant M_CODE_ROOT = 0;
    uint256 internal constant M_CODE_LEN = 32; // u32
    uint256 internal constant M_FUNCS_ROOT = 36;
    uint256 internal constant M_FUNCS = 68; // u32
    uint256 internal constant M_DATA_ROOT = 140;
    uint256 internal constant M_DATAS = 172; // u32
    uint256 internal constant M_ELEMS_ROOT = 176;
    uint256 internal constant M_ELEMS = 208; // u32
    uint256 internal constant M_GLOBALS = 212; // u32
    uint256 internal constant M_TABLES = 216; // u32

    /// @dev Depth of the memory tree (2^23 leaves of 32 bytes).
    uint256 internal constant MEMORY_DEPTH = 23;
    uint256 internal constant PAGE_SIZE = 65536;
    uint256 internal constant MAX_CALL_DEPTH = 300;

    // ------------------------------------------------------------ calldata

    /// @dev The big-endian `n`-byte integer at absolute calldata offset `at`.
    function _cdUint(uint256 at, uint256 n) internal pure returns (uint256 v) {
        assembly ("memory-safe") {
            v := shr(sub(256, shl(3, n)), calldataload(at))
        }
    }

    function _cdWord(uint256 at) internal pure returns (bytes32 v) {
        assembly ("memory-safe") {
            v := calldataload(at)
        }
    }

    // ------------------------------------------------------------ the in-memory record

    function _memUint(bytes memory b, uint256 at, uint256 n) internal pure returns (uint256 v) {
        assembly ("memory-safe") {
            v := shr(sub(256, shl(3, n)), mload(add(add(b, 0x20), at)))
        }
    }

    function _memWord(bytes memory b, uint256 at) internal pure returns (bytes32 v) {
        assembly ("memory-safe") {
            v := mload(add(add(b, 0x20), at))
        }
    }

    /// @dev Writes `v` as an `n`-byte big-endian integer at `at`, keeping the bytes around it.
    function _memSetUint(bytes memory b, uint256 at, uint256 n, uint256 v) internal pure {
        assembly ("memory-safe") {
            let p := add(add(b, 0x20), at)
            let bits := shl(3, n)
            let keep := shr(bits, not(0))
            mstore(p, or(and(mload(p), keep), shl(sub(256, bits), v)))
        }
    }

    function _memSetWord(bytes memory b, uint256 at, bytes32 v) internal pure {
        assembly ("memory-safe") {
            mstore(add(add(b, 0x20), at), v)
        }
    }

    // ------------------------------------------------------------ hashing

    function _node(bytes32 l, bytes32 r) internal pure returns (bytes32 h) {
        assembly ("memory-safe") {
            mstore(0, l)
            mstore(0x20, r)
            h := keccak256(0, 0x40)
        }
    }

    /// @dev `H(h ‖ u64 v)`: one link of the stack chain.
    function _push(bytes32 h, uint256 v) internal pure returns (bytes32 out) {
        assembly ("memory-safe") {
            mstore(0, h)
            mstore(0x20, shl(192, v))
            out := keccak256(0, 40)
        }
    }

    /// @dev `H(prev ‖ u32 return_pc ‖ u32 local_count ‖ locals_root)`: one link of the frame chain.
    function _frameLink(bytes32 prev, uint256 returnPc, uint256 locals, bytes32 localsRoot)
        internal
        pure
        returns (bytes32 h)
    {
        assembly ("memory-safe") {
            let m := mload(0x40)
            mstore(m, prev)
            mstore(add(m, 0x20), or(shl(224, returnPc), shl(192, locals)))
            mstore(add(m, 0x28), localsRoot)
            h := keccak256(m, 72)
        }
    }

    /// @dev `ceil(log2(count))`, 0 for 0 or 1: the path length of a list of `count` leaves.
    function _depth(uint256 count) internal pure returns (uint256 d) {
        if (count <= 1) return 0;
        uint256 x = count - 1;
        while (x != 0) {
            d++;
            x >>= 1;
        }
    }

    /// @dev The root from `leaf` at `index` through the `depth` siblings at absolute calldata
    /// offset `path` (the protocol's Merkle rule: the index bit chooses the side).
    function _rootFromPath(bytes32 leaf, uint256 index, uint256 path, uint256 depth)
        internal
        pure
        returns (bytes32 acc)
    {
        assembly ("memory-safe") {
            acc := leaf
            for { let h := 0 } lt(h, depth) { h := add(h, 1) } {
                let sib := calldataload(add(path, shl(5, h)))
                switch and(shr(h, index), 1)
                case 0 {
                    mstore(0, acc)
                    mstore(0x20, sib)
                }
                default {
                    mstore(0, sib)
                    mstore(0x20, acc)
                }
                acc := keccak256(0, 0x40)
            }
        }
    }

    /// @dev The root of an all-zero subtree of height `h`.
    function _zeroSubtree(uint256 h) internal pure returns (bytes32 z) {
        for (uint256 i = 0; i < h; i++) {
            z = _node(z, z);
        }
    }

    /// @dev A 64-bit value as a 32-byte leaf.
    function _word(uint256 v) internal pure returns (bytes32) {
        return bytes32(v);
    }
}
