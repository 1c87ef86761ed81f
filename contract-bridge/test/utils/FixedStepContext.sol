// SPDX-License-Identifier: MIT OR Apache-2.0
pragma solidity ^0.8.30;

import {IStepContext} from "../../src/osp/IOneStepProof.sol";

/// @notice Test support: the L1 facts a one-step proof needs, set by hand, as the Rust tests'
/// `SyntheticL1` holds them (the rollup contract answers them in a deployment).
contract FixedStepContext is IStepContext {
    uint64 public immutable tickBudget;
    mapping(bytes32 => bytes32) public moduleRoot;
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

    function setModuleRoot(bytes32 kernelValueHash, bytes32 root) external {
        moduleRoot[kernelValueHash] = root;
    }
}
