// SPDX-License-Identifier: MIT OR Apache-2.0
pragma solidity ^0.8.30;

import {IStepContext} from "../../src/osp/IOneStepProof.sol";

/// @notice Test support: the L1 facts a one-step proof needs, set by hand, as the Rust tests'
/// `SyntheticL1` holds them (the rollup contract answers them in a deployment).
contract FixedStepContext is IStepContext {
    uint64 public immutable tickBudget;
    mapping(bytes32 => bytes32) public moduleRoot;
    mapping(uint64 => bytes32) public batchAccumulator;
    mapping(uint64 => bytes32) private _delayedHash;
    address private _rollupAddress;
    uint32 private _originationLevel;

    constructor(uint64 tickBudget_) {
        tickBudget = tickBudget_;
    }

    function metadata() external view returns (address, uint32) {
        return (_rollupAddress, _originationLevel);
    }

    function setMetadata(address rollupAddress, uint32 originationLevel) external {
        (_rollupAddress, _originationLevel) = (rollupAddress, originationLevel);
    }

    function delayedMessage(uint64 index) external view returns (bytes32, uint64) {
        return (_delayedHash[index], 0);
    }

    /// @notice Sets the accumulators of batches `0 ..` and the hashes of delayed messages `0 ..`.
    function setInbox(bytes32[] calldata accumulators, bytes32[] calldata delayedHashes) external {
        for (uint64 i = 0; i < accumulators.length; i++) {
            batchAccumulator[i] = accumulators[i];
        }
        for (uint64 i = 0; i < delayedHashes.length; i++) {
            _delayedHash[i] = delayedHashes[i];
        }
    }

    function setModuleRoot(bytes32 kernelValueHash, bytes32 root) external {
        moduleRoot[kernelValueHash] = root;
    }
}
