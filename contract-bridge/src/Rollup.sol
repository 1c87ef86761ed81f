// SPDX-License-Identifier: MIT OR Apache-2.0
pragma solidity ^0.8.30;

import {RollupBase} from "./rollup/RollupBase.sol";
import {Outbox} from "./rollup/Outbox.sol";

/// @title Rollup
/// @notice One smart optimistic rollup on the L1: its inbox (sequencer batches and the delayed
/// inbox), its commitments and stakes, its outbox and bridge, at one address, which is the
/// rollup address kernels read in their metadata. Originated by RollupFactory; specified in
/// docs/contracts.md. The layers, bottom up: RollupBase (parameters, ETH accounting),
/// DelayedInbox, SequencerInbox, Commitments, Outbox.
contract Rollup is Outbox {
    constructor(Config memory c) RollupBase(c) {
        emit Originated(msg.sender, ORIGINATION_BLOCK, _lastCemented, c);
    }
}
