// SPDX-License-Identifier: MIT OR Apache-2.0
pragma solidity ^0.8.30;

import {RollupTestBase} from "./utils/RollupTestBase.sol";
import {IRollup} from "../src/rollup/IRollup.sol";
import {Rollup} from "../src/Rollup.sol";
import {RollupFactory} from "../src/RollupFactory.sol";
import {ProtocolCodec} from "../src/ProtocolCodec.sol";
import {RefutationGame} from "../src/game/RefutationGame.sol";
import {IStepContext} from "../src/osp/IOneStepProof.sol";

/// @notice Origination: addresses, parameters, events, the rollup's own game, and every
/// invalid parameter.
contract RollupFactoryTest is RollupTestBase {
    /// @notice What the factory is given: every parameter but the resolver, which it fills in.
    function _factoryConfig() internal view returns (IRollup.Config memory c) {
        c = _config();
        c.gameResolver = address(0);
    }

    function test_originate_predictsAddress_andRecordsParameters() public {
        IRollup.Config memory c = _factoryConfig();
        address predicted = factory.rollupAddress(address(this), c, bytes32("salt"));
        address game = factory.gameAddress(address(this), c, bytes32("salt"));
        vm.expectEmit(true, true, false, true, address(factory));
        emit RollupFactory.RollupOriginated(predicted, address(this), bytes32("salt"), game);
        address r = factory.originate(c, bytes32("salt"));
        assertEq(r, predicted);
        assertTrue(factory.isRollup(r));
        assertEq(factory.rollupCount(), 1);
        assertEq(factory.rollupAt(0), r);
        IRollup.Config memory got = Rollup(payable(r)).config();
        c.gameResolver = game;
        assertEq(keccak256(abi.encode(got)), keccak256(abi.encode(c)));
        assertEq(Rollup(payable(r)).ORIGINATION_BLOCK(), block.number);
        // Someone else with the same salt gets another address.
        assertTrue(factory.rollupAddress(address(1), c, bytes32("salt")) != r);
        assertEq(factory.ROLLUP_CREATION_CODE_HASH(), keccak256(type(Rollup).creationCode));
        assertEq(factory.GAME_CREATION_CODE_HASH(), keccak256(type(RefutationGame).creationCode));
    }

    /// @notice No account settles a factory rollup's games: its resolver is a game deployed in
    /// the same transaction, bound to it and to the factory's one-step verifier.
    function test_originate_deploysTheRollupsOwnGame() public {
        IRollup.Config memory c = _factoryConfig();
        Rollup r = Rollup(payable(factory.originate(c, bytes32("own game"))));
        RefutationGame game = RefutationGame(r.config().gameResolver);
        assertEq(address(game), factory.gameAddress(address(this), c, bytes32("own game")));
        assertTrue(address(game).code.length != 0);
        assertEq(address(game.ROLLUP()), address(r));
        assertEq(address(game.VERIFIER()), factory.ONE_STEP_PROOF());
        assertEq(game.SECTIONS_PER_DISSECTION(), c.sectionsPerDissection);
        assertEq(game.TIMEOUT_PER_PLAYER(), c.timeoutPerPlayer);
        // Another rollup gets another game.
        Rollup r2 = Rollup(payable(factory.originate(c, bytes32("other game"))));
        assertTrue(r2.config().gameResolver != address(game));
        // Outside origination the factory names no rollup, so no stray game can be built.
        (address pending, address v) = factory.gameParameters();
        assertEq(pending, address(0));
        assertEq(v, address(0));
        vm.expectRevert();
        new RefutationGame();
    }

    function test_originate_refusesAGivenResolver() public {
        IRollup.Config memory c = _factoryConfig();
        c.gameResolver = address(this);
        vm.expectRevert(abi.encodeWithSelector(RollupFactory.GameResolverNotZero.selector, address(this)));
        factory.originate(c, bytes32("resolver"));
    }

    function test_constructor_refusesAVerifierWithoutCode() public {
        vm.expectRevert(abi.encodeWithSelector(RollupFactory.VerifierWithoutCode.selector, address(0x1234)));
        new RollupFactory(address(0x1234));
    }

    /// @notice What the one-step verifier asks the rollup (IStepContext).
    function test_stepContext_answersFromTheOriginationParameters() public {
        IRollup.Config memory c = _factoryConfig();
        IStepContext r = IStepContext(factory.originate(c, bytes32("context")));
        assertEq(r.tickBudget(), c.tickBudget);
        assertEq(r.moduleRoot(c.kernelValueHash), c.kernelModuleRoot);
        assertEq(r.moduleRoot(keccak256("another kernel")), bytes32(0));
        (address at, uint32 level) = r.metadata();
        assertEq(at, address(r));
        assertEq(level, uint32(block.number));
    }

    function test_originate_emitsOriginated_andStartsFromGenesis() public {
        IRollup.Config memory c = _factoryConfig();
        bytes32 genesis = keccak256(abi.encodePacked(bytes32(0), GENESIS_STATE, uint32(0), uint64(0)));
        IRollup.Config memory full = _factoryConfig(); // a copy: memory structs are references
        full.gameResolver = factory.gameAddress(address(this), c, bytes32("events"));
        vm.expectEmit(true, false, false, true);
        emit IRollup.Originated(address(factory), uint64(block.number), genesis, full);
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
        IRollup.Config memory c = _factoryConfig();
        address r = factory.originate(c, bytes32("once"));
        vm.expectRevert(abi.encodeWithSelector(RollupFactory.RollupExists.selector, r));
        factory.originate(c, bytes32("once"));
    }

    function test_originate_rejectsEachInvalidParameter() public {
        IRollup.Config memory c;
        c = _factoryConfig();
        c.kernelRevealHash = 0;
        _expectInvalid(c, "kernelRevealHash");
        c = _factoryConfig();
        c.kernelValueHash = 0;
        _expectInvalid(c, "kernelValueHash");
        c = _factoryConfig();
        c.kernelModuleRoot = 0;
        _expectInvalid(c, "kernelModuleRoot");
        c = _factoryConfig();
        c.genesisStateHash = 0;
        _expectInvalid(c, "genesisStateHash");
        c = _factoryConfig();
        c.tickBudget = 2;
        _expectInvalid(c, "tickBudget");
        c.tickBudget = 3;
        factory.originate(c, bytes32("three ticks"));
        c = _factoryConfig();
        c.commitmentPeriod = 0;
        _expectInvalid(c, "commitmentPeriod");
        c = _factoryConfig();
        c.challengeWindow = 0;
        _expectInvalid(c, "challengeWindow");
        c = _factoryConfig();
        c.stakeAmount = 0;
        _expectInvalid(c, "stakeAmount");
        c = _factoryConfig();
        c.sectionsPerDissection = 1;
        _expectInvalid(c, "sectionsPerDissection");
        c = _factoryConfig();
        c.timeoutPerPlayer = 0;
        _expectInvalid(c, "timeoutPerPlayer");
        c = _factoryConfig();
        c.maxActiveOutboxLevels = 0;
        _expectInvalid(c, "maxActiveOutboxLevels");
        c = _factoryConfig();
        c.maxActiveOutboxLevels = (1 << 20) + 1;
        _expectInvalid(c, "maxActiveOutboxLevels");
        c = _factoryConfig();
        c.verifier = address(0x1234);
        _expectInvalid(c, "verifier");
        c = _factoryConfig();
        c.delayedInclusionTimeout = 0;
        _expectInvalid(c, "delayedInclusionTimeout");
        // Deployed without the factory, a rollup still needs a resolver.
        c = _config();
        c.gameResolver = address(0);
        vm.expectRevert(abi.encodeWithSelector(IRollup.InvalidParameter.selector, "gameResolver"));
        new Rollup(c);
        c = _factoryConfig();
        c.maxActiveOutboxLevels = 1 << 20;
        factory.originate(c, bytes32("max outbox"));
    }

    /// @notice Outbox levels must stay executable for at least one commitment period, or the
    /// first levels a cemented commitment covers would already be expired when it cements.
    function test_originate_rejectsOutboxWindowShorterThanPeriod() public {
        IRollup.Config memory c = _factoryConfig();
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
