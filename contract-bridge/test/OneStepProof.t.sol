// SPDX-License-Identifier: MIT OR Apache-2.0
pragma solidity ^0.8.30;

import {Test} from "./utils/Test.sol";
import {FixedStepContext} from "./utils/FixedStepContext.sol";
import {OneStepProof} from "../src/osp/OneStepProof.sol";
import {OspBase} from "../src/osp/OspBase.sol";
import {PreimageOracle} from "../src/preimage/PreimageOracle.sol";
import {OspHostCalls} from "../src/osp/OspHostCalls.sol";

/// @notice What the Rust differential suite cannot reach: the final-state rule (a commitment's
/// last state stutters) and the entry point's refusals before any step. Every instruction is
/// compared against the Rust verifier by `contract-bridge/osp-differential`.
contract OneStepProofTest is Test {
    OneStepProof osp;
    FixedStepContext ctx;

    function setUp() public {
        osp = new OneStepProof(new OspHostCalls(new PreimageOracle()));
        ctx = new FixedStepContext(1000);
    }

    /// A status-0 header (docs/pvm.md 9.5) and its state hash.
    function _levelState(uint32 level, uint64 tick) internal pure returns (bytes memory header, bytes32 h) {
        bytes32 durable = keccak256("durable");
        bytes32 outbox = keccak256("outbox");
        header = abi.encodePacked(level, tick, durable, outbox, uint8(0));
        bytes32 pvmRoot = keccak256(
            abi.encodePacked(keccak256("rollup.pvm.state.v1"), uint8(0), level, tick, durable, bytes32(0))
        );
        h = keccak256(abi.encodePacked(pvmRoot, outbox));
    }

    function test_a_commitments_final_state_stutters() public view {
        (bytes memory header, bytes32 h) = _levelState(8, 4000);
        assertEq(header.length, 77);
        assertEq(osp.step(address(ctx), 8, h, header), h);
    }

    function test_the_final_state_takes_the_header_alone() public {
        (bytes memory header, bytes32 h) = _levelState(8, 4000);
        vm.expectRevert(abi.encodeWithSelector(OspBase.TrailingBytes.selector, 1));
        osp.step(address(ctx), 8, h, bytes.concat(header, hex"00"));
    }

    function test_a_level_state_before_the_last_level_starts_a_run() public {
        (bytes memory header, bytes32 h) = _levelState(7, 3000);
        // The run's first tick is not executed on the L1 yet: refused by name, not stuttered.
        vm.expectRevert(abi.encodeWithSelector(OspBase.NotProvable.selector, "driver: run start"));
        osp.step(address(ctx), 8, h, header);
    }

    function test_a_header_of_another_state_is_refused_before_any_work() public {
        (bytes memory header,) = _levelState(8, 4000);
        vm.expectRevert(OspBase.PreStateMismatch.selector);
        osp.step(address(ctx), 8, keccak256("another state"), header);
    }

    function test_short_proofs_are_truncated() public {
        (bytes memory header, bytes32 h) = _levelState(8, 4000);
        vm.expectRevert(abi.encodeWithSelector(OspBase.ProofTruncated.selector, 50));
        osp.step(address(ctx), 8, h, _prefix(header, 50));
        // A running status needs the whole 665-byte header.
        bytes memory running = bytes.concat(_prefix(header, 76), hex"01", new bytes(100));
        vm.expectRevert(abi.encodeWithSelector(OspBase.ProofTruncated.selector, 177));
        osp.step(address(ctx), 8, h, running);
    }

    function _prefix(bytes memory b, uint256 n) internal pure returns (bytes memory out) {
        out = new bytes(n);
        for (uint256 i = 0; i < n; i++) {
            out[i] = b[i];
        }
    }
}
