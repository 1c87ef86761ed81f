// SPDX-License-Identifier: MIT OR Apache-2.0
pragma solidity ^0.8.30;

import {RollupBase} from "./RollupBase.sol";
import {ProtocolCodec} from "../ProtocolCodec.sol";

/// @title DelayedInbox
/// @notice The L1's own way into the rollup: any account or contract enqueues a message, with or
/// without ETH, and it becomes the internal transfer `00 00 || sender || value || payload` of a
/// later level (docs/protocol.md section 6.3). ETH deposits are the bridge's way in; the ETH
/// stays here until outbox messages pay it out. The sequencer includes delayed messages in
/// order; if it does not, anyone can force them in (SequencerInbox.forceInclusion).
/// @dev Per message the contract stores its hash (what an input proof checks) and its enqueue L1
/// block (what inclusion hints and forced inclusion check), the blocks packed four per slot.
abstract contract DelayedInbox is RollupBase {
    uint64 internal _delayedCount;
    mapping(uint256 => bytes32) internal _delayedHash;
    mapping(uint256 => uint256) internal _delayedBlockWords;

    /// @notice Deposits `msg.value` wei into the rollup for the kernel to credit as it decides
    /// from `payload` (for instance, an L2 recipient). Returns the message's queue index.
    function depositEth(bytes calldata payload) external payable returns (uint64 index) {
        if (msg.value == 0) revert ZeroDeposit();
        _bridgeBalance += msg.value;
        return _enqueue(payload, msg.value);
    }

    /// @notice Sends `payload` to the kernel as an internal message from `msg.sender`.
    function sendMessage(bytes calldata payload) external returns (uint64 index) {
        return _enqueue(payload, 0);
    }

    /// @notice How many delayed messages were ever enqueued.
    function delayedCount() external view returns (uint64) {
        return _delayedCount;
    }

    /// @notice The stored hash and enqueue L1 block of delayed message `index`.
    function delayedMessage(uint64 index)
        external
        view
        override
        returns (bytes32 messageHash, uint64 l1Block)
    {
        if (index >= _delayedCount) return (bytes32(0), 0);
        return (_delayedHash[index], uint64(_delayedBlock(index)));
    }

    function _enqueue(bytes calldata payload, uint256 value) internal returns (uint64 index) {
        if (payload.length > ProtocolCodec.MAX_TRANSFER_PAYLOAD) {
            revert PayloadTooLarge(payload.length, ProtocolCodec.MAX_TRANSFER_PAYLOAD);
        }
        index = _delayedCount;
        bytes32 h = ProtocolCodec.delayedMessageHash(msg.sender, value, payload);
        _delayedHash[index] = h;
        uint256 word = index / 4;
        uint256 shift = (index % 4) * 64;
        _delayedBlockWords[word] |= block.number << shift;
        _delayedCount = index + 1;
        emit DelayedMessageEnqueued(index, msg.sender, value, uint64(block.number), h, payload);
    }

    /// @dev The L1 block at which message `index` was enqueued.
    function _delayedBlock(uint256 index) internal view returns (uint256) {
        return (_delayedBlockWords[index / 4] >> ((index % 4) * 64)) & type(uint64).max;
    }
}
