// SPDX-License-Identifier: MIT OR Apache-2.0
pragma solidity ^0.8.30;

/// @title ISequencerVerifier
/// @notice The one question a rollup's inbox asks about a posted batch: did the rollup's sequencer
/// finalize this block? The verifier is fixed at origination, so a committee-run sequencer, a
/// single permissioned key or an open inbox plug in without touching the rollup contract.
interface ISequencerVerifier {
    /// @notice Returns normally when `certificate` proves that block `blockHash` at `height` of
    /// sequencer chain `chainId` is final, and reverts with a named error otherwise.
    /// @dev Finality of a block implies finality of its ancestors, so the inbox checks only the
    /// last block of a batch and chains the others to it by parent hash.
    function verify(uint64 chainId, uint64 height, bytes32 blockHash, bytes calldata certificate) external view;
}
