// SPDX-License-Identifier: MIT OR Apache-2.0
pragma solidity ^0.8.30;

import {Commitments} from "./Commitments.sol";
import {ProtocolCodec} from "../ProtocolCodec.sol";

/// @title Outbox
/// @notice Runs the rollup's outbox messages on the L1 (docs/protocol.md section 3): anyone
/// proves a message against a cemented state and its batch of L1 calls runs from the rollup,
/// paying values out of the ETH deposited through the bridge, all calls or none. A message runs
/// at most once (one bitmap word per level) and only while its level is among the last
/// `maxActiveOutboxLevels` cemented ones. Withdrawals are messages with one call that sends
/// ETH to the recipient.
abstract contract Outbox is Commitments {
    mapping(uint32 => uint256) internal _executed;

    /// @notice Executes `message`, proven by `proof` to be in the state of the cemented
    /// commitment `cemented` (the last cemented one, or any earlier cemented one).
    function executeOutboxMessage(bytes32 cemented, OutboxProof calldata proof, bytes calldata message)
        external
        nonReentrant
    {
        _proveAndMark(cemented, proof, message);
        _run(proof.level, proof.index, message);
    }

    /// @dev Checks the proof, the level window and replay, then marks the message executed.
    function _proveAndMark(bytes32 cemented, OutboxProof calldata proof, bytes calldata message) private {
        bytes32 stateHash = _cementedState[cemented];
        if (stateHash == bytes32(0)) revert NotCemented(cemented);
        uint32 cementedLevel = _records[cemented].inboxLevel;
        if (proof.level > cementedLevel) revert OutboxLevelNotCemented(proof.level, cementedLevel);
        uint256 last = _lastCementedLevel;
        uint256 oldest = last >= MAX_ACTIVE_OUTBOX_LEVELS ? last - MAX_ACTIVE_OUTBOX_LEVELS + 1 : 0;
        if (proof.level < oldest) revert OutboxLevelExpired(proof.level, oldest);
        bytes32 proven = ProtocolCodec.outboxStateHash(
            proof.pvmRoot, proof.level, proof.index, proof.count, proof.messagePath, proof.slotPath, message
        );
        if (proven != stateHash) revert InvalidOutboxProof();
        // The proof bounds index < count <= 100, so one word per level holds the bitmap.
        uint256 bit = 1 << proof.index;
        uint256 word = _executed[proof.level];
        if (word & bit != 0) revert OutboxMessageAlreadyExecuted(proof.level, proof.index);
        _executed[proof.level] = word | bit;
    }

    /// @dev Decodes the message, takes its total value from the bridge and runs its calls.
    function _run(uint32 level, uint32 index, bytes calldata message) private {
        ProtocolCodec.L1Call[] memory calls = ProtocolCodec.decodeOutboxMessage(message);
        uint256 total;
        for (uint256 i = 0; i < calls.length; i++) {
            if (calls[i].destination == address(this)) revert OutboxCallToRollup(i);
            unchecked {
                uint256 sum = total + calls[i].value;
                if (sum < total) revert InsufficientBridgeBalance(type(uint256).max, _bridgeBalance);
                total = sum;
            }
        }
        uint256 balance = _bridgeBalance;
        if (total > balance) revert InsufficientBridgeBalance(total, balance);
        _bridgeBalance = balance - total;
        emit OutboxMessageExecuted(level, index, keccak256(message), total);
        for (uint256 i = 0; i < calls.length; i++) {
            (bool ok, bytes memory ret) = calls[i].destination.call{value: calls[i].value}(calls[i].data);
            if (!ok) revert OutboxCallFailed(i, ret);
        }
    }

    /// @notice Whether outbox message `index` of `level` has run.
    function isOutboxMessageExecuted(uint32 level, uint32 index) external view returns (bool) {
        return index < 256 && (_executed[level] >> index) & 1 == 1;
    }
}
