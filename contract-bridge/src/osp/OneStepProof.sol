// SPDX-License-Identifier: MIT OR Apache-2.0
pragma solidity ^0.8.30;

import {IOneStepProof, IStepContext} from "./IOneStepProof.sol";
import {OspHostCalls} from "./OspHostCalls.sol";
import {OspInstructions} from "./OspInstructions.sol";

/// @title OneStepProof
/// @notice The L1 judge of one tick of the reference machine (docs/pvm.md section 9.5): it
/// rebuilds the pre-state hash from the proof's header, executes the tick from the witnesses
/// alone and hashes the post-state once. The Rust twin is `pvm_reference::verify_step`; the
/// differential suite (`contract-bridge/osp-differential`) runs both on the same proofs.
/// @dev The header is decoded at fixed offsets and the post-state hashed once. The common
/// instruction families (`OspInstructions`) run in this contract.
contract OneStepProof is IOneStepProof, OspInstructions {
    /// @notice Where host calls execute (a contract of its own: the code size limit).
    OspHostCalls public immutable hostCalls;

    constructor(OspHostCalls hostCalls_) {
        hostCalls = hostCalls_;
    }

    /// @inheritdoc IOneStepProof
    function step(address rollup, uint32 lastLevel, bytes32 preStateHash, bytes calldata proof)
        external
        view
        returns (bytes32)
    {
        uint256 base;
        assembly ("memory-safe") {
            base := proof.offset
        }
        uint256 headerSize = _headerSize(base, proof.length);
        uint8 status = uint8(_cdUint(base + H_STATUS, 1));

        // The pre-state, hashed before any other work.
        bytes memory rec = _copyRecord(base, status);
        bytes32 moduleRoot = status == 0 || status == STATUS_NEXT_RUN ? bytes32(0) : _moduleRoot(base);
        if (_stateHash(base, status, _cdUint(base + H_TICK, 8), rec, moduleRoot) != preStateHash) {
            revert PreStateMismatch();
        }

        if (status == 0 && _cdUint(base + H_LEVEL, 4) == lastLevel) {
            // A commitment's final state: the trace stutters here.
            if (proof.length != headerSize) revert TrailingBytes(proof.length - headerSize);
            return preStateHash;
        }
        if (_cdUint(base + H_TICK, 8) == type(uint64).max) revert InvalidWitness("tick counter");
        if (status == 0 || status == STATUS_NEXT_RUN) {
            if (status == STATUS_NEXT_RUN && _memUint(rec, R_RUN_TICK, 8) != 0) revert InvalidWitness("run tick between runs");
            revert NotProvable("driver: run start");
        }
        if (status > STATUS_NEXT_RUN) revert InvalidWitness("status");
        _advanceRunTick(rec, IStepContext(rollup).tickBudget());

        if (status != STATUS_RUNNING) {
            // Padding: the header alone.
            if (proof.length != headerSize) revert TrailingBytes(proof.length - headerSize);
        } else {
            rec = _execute(rec, base, proof.length, rollup);
        }
        return _stateHash(base, uint8(rec[0]), _cdUint(base + H_TICK, 8) + 1, rec, moduleRoot);
    }

    /// @dev The header's size by its status (77, 413 or 665 bytes), checked against the proof's.
    function _headerSize(uint256 base, uint256 len) private pure returns (uint256 size) {
        if (len < H_BASE + 1) revert ProofTruncated(len < H_BASE ? len : H_BASE);
        uint256 status = _cdUint(base + H_STATUS, 1);
        size = status == 0 ? H_BASE + 1 : status == STATUS_NEXT_RUN ? H_BASE + RECORD_SIZE : H_SIZE;
        if (len < size) revert ProofTruncated(len);
    }

    /// @dev Tick `run_tick` of a run of `budget` ticks, 1 to B - 2 (0 and B - 1 are the
    /// driver's), moves to the next one.
    function _advanceRunTick(bytes memory rec, uint256 budget) private pure {
        uint256 runTick = _memUint(rec, R_RUN_TICK, 8);
        if (runTick == 0 || runTick >= budget) revert InvalidWitness("run tick");
        if (runTick + 1 == budget) revert NotProvable("driver: run end");
        _memSetUint(rec, R_RUN_TICK, 8, runTick + 1);
    }

    /// @dev The 337 record bytes of the header (status first); a status-0 header has only the
    /// status byte of them.
    function _copyRecord(uint256 base, uint8 status) private pure returns (bytes memory rec) {
        rec = new bytes(RECORD_SIZE);
        if (status == 0) return rec;
        assembly ("memory-safe") {
            calldatacopy(add(rec, 0x20), add(base, 76), 337)
        }
    }

    /// @dev The module root from the header's module fields.
    function _moduleRoot(uint256 base) private pure returns (bytes32 h) {
        bytes32 tag = MODULE_TAG;
        assembly ("memory-safe") {
            let m := mload(0x40)
            mstore(m, tag)
            calldatacopy(add(m, 0x20), add(base, 413), 252)
            h := keccak256(m, 284)
        }
    }

    /// @dev `H(pvm_root ‖ outbox_root)` with `pvm_root` of docs/pvm.md section 6 and the machine
    /// root of 9.4 (zero between levels; without module root between runs).
    /// The level, durable root and outbox root are the header's (at calldata offset `base`).
    function _stateHash(uint256 base, uint8 status, uint256 tick, bytes memory rec, bytes32 moduleRoot)
        private
        pure
        returns (bytes32 h)
    {
        bytes32 machineRoot;
        if (status != 0) {
            bytes32 tag = MACHINE_TAG;
            assembly ("memory-safe") {
                let m := mload(0x40)
                mstore(m, tag)
                mstore(add(m, 0x20), moduleRoot)
                mcopy(add(m, 0x40), add(rec, 0x20), 337)
                machineRoot := keccak256(m, 401)
            }
        }
        bytes32 pvmRoot = keccak256(
            abi.encodePacked(
                STATE_TAG,
                status,
                uint32(_cdUint(base + H_LEVEL, 4)),
                uint64(tick),
                _cdWord(base + H_DURABLE),
                machineRoot
            )
        );
        h = keccak256(abi.encodePacked(pvmRoot, _cdWord(base + H_OUTBOX)));
    }

    /// @dev Runs the host call in `hostCalls` over the whole proof, from the cursor on.
    function _hostCall(Cursor memory c, bytes memory rec, Stack memory s, uint256 imm) internal view override {
        (bytes memory post, uint256 at, uint256 result) = _callHost(c, rec, _args(s), imm);
        _replaceRecord(rec, post);
        c.at = c.base + at;
        s.n = 0;
        if (result != NO_RESULT) s.v[s.n++] = result;
    }

    function _callHost(Cursor memory c, bytes memory rec, uint256[] memory args, uint256 imm)
        private
        view
        returns (bytes memory, uint256, uint256)
    {
        return hostCalls.hostCall(msg.data[c.base:c.end], ((c.at - c.base) << 64) | imm, rec, args, c.rollup);
    }

    /// @dev The live stack values, bottom first: a host call's parameters.
    function _args(Stack memory s) private pure returns (uint256[] memory args) {
        args = new uint256[](s.n);
        for (uint256 i = 0; i < s.n; i++) {
            args[i] = s.v[i];
        }
    }

    function _replaceRecord(bytes memory rec, bytes memory post) private pure {
        if (post.length != rec.length) revert InvalidWitness("host call record");
        assembly ("memory-safe") {
            mcopy(add(rec, 0x20), add(post, 0x20), mload(rec))
        }
    }
}
