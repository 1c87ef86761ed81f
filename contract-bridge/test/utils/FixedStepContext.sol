// SPDX-License-Identifier: MIT OR Apache-2.0
pragma solidity ^0.8.30;

import {IStepContext} from "../../src/osp/IOneStepProof.sol";

/// @notice Test support: the L1 facts a one-step proof needs, set by hand, as the Rust tests'
/// `SyntheticL1` holds them (the rollup contract answers them in a deployment).
contract FixedStepContext is IStepContext {
    uint64 public immutable tickBudget;
    mapping(bytes32 => bytes32) public moduleRoot;

    constructor(uint64 tickBudget_) {
        tickBudget = tickBudget_;
    }

    function setModuleRoot(bytes32 kernelValueHash, bytes32 root) external {
        moduleRoot[kernelValueHash] = root;
    }
}
