// SPDX-License-Identifier: MIT OR Apache-2.0
pragma solidity ^0.8.30;

import {RollupTestBase} from "./utils/RollupTestBase.sol";
import {IRollup} from "../src/rollup/IRollup.sol";
import {Rollup} from "../src/Rollup.sol";
import {RollupFactory} from "../src/RollupFactory.sol";
import {ProtocolCodec} from "../src/ProtocolCodec.sol";

/// @notice Origination: addresses, parameters, events, and every invalid parameter.
contract RollupFactoryTest is RollupTestBase {
    function test_originate_predictsAddress_andRecordsParameters() public {
        IRollup.Config memory c = _config();
        address predicted = factory.rollupAddress(address(this), c, bytes32("salt"));
        vm.expectEmit(true, true, false, true, address(factory));
        emit RollupFactory.RollupOriginated(predicted, address(this), bytes32("salt"));
        address r = factory.originate(c, bytes32("salt"));
        assertEq(r, predicted);
        assertTrue(factory.isRollup(r));
        assertEq(factory.rollupCount(), 2);
        assertEq(factory.rollupAt(1), r);
        IRollup.Config memory got = Rollup(payable(r)).config();
        assertEq(keccak256(abi.encode(got)), keccak256(abi.encode(c)));
        assertEq(Rollup(payable(r)).ORIGINATION_BLOCK(), block.number);
        // Someone else with the same salt gets another address.
        assertTrue(factory.rollupAddress(address(1), c, bytes32("salt")) != r);
        assertEq(factory.ROLLUP_CREATION_CODE_HASH(), keccak256(type(Rollup).creationCode));
    }

    function test_originate_emitsOriginated_andStartsFromGenesis() public {
        IRollup.Config memory c = _config();
        bytes32 genesis = keccak256(abi.encodePacked(bytes32(0), GENESIS_STATE, uint32(0), uint64(0)));
        vm.expectEmit(true, false, false, true);
        emit IRollup.Originated(address(factory), uint64(block.number), genesis, c);
        Rollup r = Rollup(payable(factory.originate(c, bytes32("events"))));
        (bytes32 lcc, uint32 level, bytes32 state) = r.lastCemented();
        assertEq(lcc, genesis);
        assertEq(level, 0);
        assertEq(state, GENESIS_STATE);
        (uint32 inboxLevel, uint64 height, bytes32 tip, uint64 included, uint64 batches, bytes32 acc) = r.inboxState();
        assertEq(inboxLevel, 0);
        assertEq(height, START_HEIGHT);
        assertEq(tip, START_HASH);
        assertEq(included, 0);
        assertEq(batches, 0);
        assertEq(acc, bytes32(0));
    }

    function test_originate_sameSaltTwice_reverts() public {
        IRollup.Config memory c = _config();
        address r = factory.originate(c, bytes32("once"));
        vm.expectRevert(abi.encodeWithSelector(RollupFactory.RollupExists.selector, r));
        factory.originate(c, bytes32("once"));
    }

    function test_originate_rejectsEachInvalidParameter() public {
        IRollup.Config memory c;
        c = _config();
        c.kernelRevealHash = 0;
        _expectInvalid(c, "kernelRevealHash");
        c = _config();
        c.genesisStateHash = 0;
        _expectInvalid(c, "genesisStateHash");
        c = _config();
        c.commitmentPeriod = 0;
        _expectInvalid(c, "commitmentPeriod");
        c = _config();
        c.challengeWindow = 0;
        _expectInvalid(c, "challengeWindow");
        c = _config();
        c.stakeAmount = 0;
        _expectInvalid(c, "stakeAmount");
        c = _config();
        c.sectionsPerDissection = 1;
        _expectInvalid(c, "sectionsPerDissection");
        c = _config();
        c.timeoutPerPlayer = 0;
        _expectInvalid(c, "timeoutPerPlayer");
        c = _config();
        c.maxActiveOutboxLevels = 0;
        _expectInvalid(c, "maxActiveOutboxLevels");
        c = _config();
        c.maxActiveOutboxLevels = (1 << 20) + 1;
        _expectInvalid(c, "maxActiveOutboxLevels");
        c = _config();
        c.verifier = address(0x1234);
        _expectInvalid(c, "verifier");
        c = _config();
        c.delayedInclusionTimeout = 0;
        _expectInvalid(c, "delayedInclusionTimeout");
        c = _config();
        c.gameResolver = address(0);
        _expectInvalid(c, "gameResolver");
        c = _config();
        c.maxActiveOutboxLevels = 1 << 20;
        factory.originate(c, bytes32("max outbox"));
    }

    /// @notice Outbox levels must stay executable for at least one commitment period, or the
    /// first levels a cemented commitment covers would already be expired when it cements.
    function test_originate_rejectsOutboxWindowShorterThanPeriod() public {
        IRollup.Config memory c = _config();
        c.maxActiveOutboxLevels = c.commitmentPeriod - 1;
        _expectInvalid(c, "maxActiveOutboxLevels");
        c.maxActiveOutboxLevels = c.commitmentPeriod;
        factory.originate(c, bytes32("outbox = period"));
    }

    function _expectInvalid(IRollup.Config memory c, string memory name) internal {
        vm.expectRevert(abi.encodeWithSelector(IRollup.InvalidParameter.selector, name));
        factory.originate(c, bytes32(bytes(name)));
    }
}
