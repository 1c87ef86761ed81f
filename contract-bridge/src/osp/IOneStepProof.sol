// SPDX-License-Identifier: MIT OR Apache-2.0
pragma solidity ^0.8.30;

/// @title IOneStepProof
/// @notice The judge of a refutation game's last move: it executes one tick of the reference
/// machine (docs/pvm.md section 9) from a proof alone and returns the state hash after it. One
/// deployment serves every rollup: the L1 facts a tick may need come from `rollup`
/// (`IStepContext`).
interface IOneStepProof {
    /// @notice The state hash one tick after `preStateHash`, as `proof` (docs/pvm.md 9.5)
    /// shows it. A state that ends level `lastLevel` (status 0 at that level) is final: its step
    /// returns it unchanged, so a game over a commitment's ticks can extend the shorter of two
    /// traces. Reverts with a named error on a proof that is malformed, tampered, or whose
    /// header does not hash to `preStateHash` (checked before any other work).
    function step(address rollup, uint32 lastLevel, bytes32 preStateHash, bytes calldata proof)
        external
        view
        returns (bytes32 postStateHash);
}

/// @title IStepContext
/// @notice What a rollup tells the one-step verifier (docs/pvm.md 9.6: `StepContext`).
interface IStepContext {
    /// @notice The ticks of one run (B); fixed at origination.
    function tickBudget() external view returns (uint64);
    /// @notice The module root (docs/pvm.md 9.4) of the kernel whose value hash is
    /// `kernelValueHash`, or zero when the rollup knows no such kernel.
    function moduleRoot(bytes32 kernelValueHash) external view returns (bytes32);
    /// @notice What `reveal_metadata` answers: the rollup's address and origination level.
    function metadata() external view returns (address rollupAddress, uint32 originationLevel);
    /// @notice The inbox accumulator after batch `index` (docs/protocol.md 6), zero for a batch
    /// not posted: what a `read_input` step's level record is checked against.
    function batchAccumulator(uint64 index) external view returns (bytes32);
    /// @notice The stored hash of delayed message `index` (zero if never enqueued) and its L1
    /// block: what a `read_input` step's delayed message is checked against.
    function delayedMessage(uint64 index) external view returns (bytes32 messageHash, uint64 l1Block);
}
