// SPDX-License-Identifier: MIT OR Apache-2.0
pragma solidity ^0.8.30;

import {RollupTestBase} from "./utils/RollupTestBase.sol";
import {IRollup} from "../src/rollup/IRollup.sol";

/// @notice Refuses ETH: a staker that cannot be paid.
contract NoReceive {
    function publish(address rollup, IRollup.Commitment calldata c) external payable {
        IRollup.Commitment memory m = c;
        (bool ok, bytes memory ret) =
            rollup.call{value: msg.value}(abi.encodeWithSignature("publish((bytes32,bytes32,uint32,uint64))", m));
        if (!ok) {
            assembly {
                revert(add(ret, 0x20), mload(ret))
            }
        }
    }

    function recover(address rollup) external {
        (bool ok, bytes memory ret) = rollup.call(abi.encodeWithSignature("recoverStake()"));
        if (!ok) {
            assembly {
                revert(add(ret, 0x20), mload(ret))
            }
        }
    }
}

/// @notice Publishing, joining, conflicts, cementing, games, stake recovery and rewards.
contract CommitmentsTest is RollupTestBase {
    address internal alice = makeAddr("alice");
    address internal bob = makeAddr("bob");
    address internal carol = makeAddr("carol");

    function setUp() public override {
        super.setUp();
        _advanceInbox(12);
    }

    function test_publish_firstCommitmentTakesTheStake() public {
        IRollup.Commitment memory c = _commitment(_genesis(), keccak256("s4"), PERIOD);
        vm.deal(alice, STAKE);
        vm.expectEmit(true, true, false, true, address(rollup));
        emit IRollup.StakeDeposited(alice, 1, STAKE);
        vm.expectEmit(true, true, true, true, address(rollup));
        emit IRollup.CommitmentPublished(_hash(c), alice, _genesis(), c.stateHash, PERIOD, 1000, true);
        vm.prank(alice);
        bytes32 h = rollup.publish{value: STAKE}(c);
        assertEq(h, _hash(c));
        (bytes32 pred, uint32 level, uint64 publishedAt, uint32 count, bool alive) = rollup.commitment(h);
        assertEq(pred, _genesis());
        assertEq(level, PERIOD);
        assertEq(publishedAt, block.number);
        assertEq(count, 1);
        assertTrue(alive);
        (uint64 id, bytes32 head, uint32 headLevel) = rollup.staker(alice);
        assertEq(id, 1);
        assertEq(head, h);
        assertEq(headLevel, PERIOD);
        (, uint256 staked,,) = rollup.accounting();
        assertEq(staked, STAKE);
        assertEq(address(rollup).balance, STAKE);
    }

    function test_publish_extendsOwnChainWithoutNewStake() public {
        bytes32 c1 = _stakeAndPublish(alice, _commitment(_genesis(), "s4", PERIOD));
        bytes32 c2 = _publish(alice, _commitment(c1, "s8", 2 * PERIOD));
        bytes32 c3 = _publish(alice, _commitment(c2, "s12", 3 * PERIOD));
        (, bytes32 head, uint32 headLevel) = rollup.staker(alice);
        assertEq(head, c3);
        assertEq(headLevel, 3 * PERIOD);
        (, uint256 staked,,) = rollup.accounting();
        assertEq(staked, STAKE);
    }

    function test_publish_joinsExistingCommitment() public {
        IRollup.Commitment memory c = _commitment(_genesis(), "s4", PERIOD);
        bytes32 h = _stakeAndPublish(alice, c);
        vm.deal(bob, STAKE);
        vm.expectEmit(true, true, true, true, address(rollup));
        emit IRollup.CommitmentPublished(h, bob, _genesis(), c.stateHash, PERIOD, 1000, false);
        vm.prank(bob);
        rollup.publish{value: STAKE}(c);
        address[] memory stakers = rollup.stakersOf(h);
        assertEq(stakers.length, 2);
        assertEq(stakers[0], alice);
        assertEq(stakers[1], bob);
        (,,, uint32 count,) = rollup.commitment(h);
        assertEq(count, 2);
    }

    function test_publish_rejectsBadCommitments() public {
        bytes32 g = _genesis();
        vm.deal(alice, 10 ether);
        vm.startPrank(alice);
        vm.expectRevert(IRollup.ZeroTicks.selector);
        rollup.publish{value: STAKE}(IRollup.Commitment(g, "s", PERIOD, 0));
        vm.expectRevert(abi.encodeWithSelector(IRollup.InboxLevelNotReached.selector, 16, 12));
        rollup.publish{value: STAKE}(_commitment(g, "s", 16));
        vm.expectRevert(abi.encodeWithSelector(IRollup.WrongStakeAmount.selector, STAKE, 0));
        rollup.publish(_commitment(g, "s", PERIOD));
        vm.expectRevert(abi.encodeWithSelector(IRollup.WrongStakeAmount.selector, STAKE, STAKE + 1));
        rollup.publish{value: STAKE + 1}(_commitment(g, "s", PERIOD));
        vm.expectRevert(abi.encodeWithSelector(IRollup.WrongPredecessor.selector, g, bytes32("x")));
        rollup.publish{value: STAKE}(_commitment("x", "s", PERIOD));
        vm.expectRevert(abi.encodeWithSelector(IRollup.WrongInboxLevel.selector, PERIOD, PERIOD + 1));
        rollup.publish{value: STAKE}(_commitment(g, "s", PERIOD + 1));
        vm.expectRevert(abi.encodeWithSelector(IRollup.WrongInboxLevel.selector, PERIOD, 0));
        rollup.publish{value: STAKE}(_commitment(g, "s", 0));

        bytes32 c1 = rollup.publish{value: STAKE}(_commitment(g, "s4", PERIOD));
        // Once staked: no more value, and only extensions of its own chain.
        vm.expectRevert(abi.encodeWithSelector(IRollup.WrongStakeAmount.selector, 0, STAKE));
        rollup.publish{value: STAKE}(_commitment(c1, "s8", 2 * PERIOD));
        vm.expectRevert(abi.encodeWithSelector(IRollup.WrongPredecessor.selector, c1, g));
        rollup.publish(_commitment(g, "other", PERIOD));
        vm.expectRevert(abi.encodeWithSelector(IRollup.WrongInboxLevel.selector, 2 * PERIOD, 3 * PERIOD));
        rollup.publish(_commitment(c1, "s12", 3 * PERIOD));
        vm.stopPrank();
    }

    function test_conflict_isRecorded_andBlocksCementing() public {
        bytes32 g = _genesis();
        IRollup.Commitment memory honest = _commitment(g, "right", PERIOD);
        IRollup.Commitment memory wrong = _commitment(g, "wrong", PERIOD);
        bytes32 h = _stakeAndPublish(alice, honest);
        vm.expectEmit(true, true, true, true, address(rollup));
        emit IRollup.CommitmentConflict(PERIOD, h, _hash(wrong));
        bytes32 w = _stakeAndPublish(bob, wrong);
        bytes32[] memory at = rollup.commitmentsAt(PERIOD);
        assertEq(at.length, 2);
        assertEq(at[1], w);
        (bytes32 a, bytes32 b) = rollup.conflictPoint(alice, bob);
        assertEq(a, h);
        assertEq(b, w);

        vm.roll(block.number + WINDOW);
        vm.expectRevert(abi.encodeWithSelector(IRollup.CommitmentDisputed.selector, w));
        rollup.cement(honest);
        vm.expectRevert(abi.encodeWithSelector(IRollup.CommitmentDisputed.selector, h));
        rollup.cement(wrong);

        // The game settles: bob loses, alice wins half of his stake, the rest is burnt.
        uint256 burnBefore = rollup.BURN_ADDRESS().balance;
        vm.expectEmit(true, true, false, true, address(rollup));
        emit IRollup.StakerSlashed(bob, alice, STAKE / 2, STAKE - STAKE / 2);
        vm.prank(resolver);
        rollup.settleGame(bob, alice);
        assertEq(rollup.BURN_ADDRESS().balance - burnBefore, STAKE - STAKE / 2);
        assertEq(rollup.claimable(alice), STAKE / 2);
        (,,,, bool wrongAlive) = rollup.commitment(w);
        assertFalse(wrongAlive);

        vm.expectEmit(true, false, false, true, address(rollup));
        emit IRollup.CommitmentRemoved(w, PERIOD);
        vm.expectEmit(true, false, false, true, address(rollup));
        emit IRollup.CommitmentCemented(h, PERIOD, honest.stateHash);
        rollup.cement(honest);
        (bytes32 lcc, uint32 lccLevel, bytes32 lccState) = rollup.lastCemented();
        assertEq(lcc, h);
        assertEq(lccLevel, PERIOD);
        assertEq(lccState, honest.stateHash);
        assertEq(rollup.cementedStateHash(h), honest.stateHash);
        (,, uint64 removedAt,,) = rollup.commitment(w);
        assertEq(removedAt, 0);
        assertEq(rollup.commitmentsAt(PERIOD).length, 0);
    }

    function test_fork_deeperThanFirst_onlyBlocksFromThere() public {
        bytes32 g = _genesis();
        bytes32 c1 = _stakeAndPublish(alice, _commitment(g, "s4", PERIOD));
        _stakeAndPublish(bob, _commitment(g, "s4", PERIOD)); // bob agrees at level 4
        bytes32 a2 = _publish(alice, _commitment(c1, "a8", 2 * PERIOD));
        bytes32 b2 = _publish(bob, _commitment(c1, "b8", 2 * PERIOD));
        (bytes32 x, bytes32 y) = rollup.conflictPoint(alice, bob);
        assertEq(x, a2);
        assertEq(y, b2);
        vm.roll(block.number + WINDOW);
        rollup.cement(_commitment(g, "s4", PERIOD)); // the shared part cements
        vm.expectRevert(abi.encodeWithSelector(IRollup.CommitmentDisputed.selector, b2));
        rollup.cement(_commitment(c1, "a8", 2 * PERIOD));
        // Both players lose: both stakes are burnt, and the level has no live commitment.
        vm.startPrank(resolver);
        rollup.settleGame(alice, address(0));
        rollup.settleGame(bob, address(0));
        vm.stopPrank();
        vm.expectRevert(abi.encodeWithSelector(IRollup.CommitmentHasNoStake.selector, a2));
        rollup.cement(_commitment(c1, "a8", 2 * PERIOD));
        (, uint256 staked,, uint256 burnt) = rollup.accounting();
        assertEq(staked, 0);
        assertEq(burnt, 2 * STAKE);
        // Carol, a new staker, builds on the last cemented commitment and cements.
        bytes32 c2 = _stakeAndPublish(carol, _commitment(c1, "c8", 2 * PERIOD));
        vm.roll(block.number + WINDOW);
        rollup.cement(_commitment(c1, "c8", 2 * PERIOD));
        (bytes32 lcc,,) = rollup.lastCemented();
        assertEq(lcc, c2);
    }

    function test_cement_rejectsOutOfOrderAndEarly() public {
        bytes32 g = _genesis();
        vm.expectRevert(abi.encodeWithSelector(IRollup.UnknownCommitment.selector, _hash(_commitment(g, "s4", PERIOD))));
        rollup.cement(_commitment(g, "s4", PERIOD));
        bytes32 c1 = _stakeAndPublish(alice, _commitment(g, "s4", PERIOD));
        uint256 published = block.number;
        _publish(alice, _commitment(c1, "s8", 2 * PERIOD));
        vm.expectRevert(abi.encodeWithSelector(IRollup.NotChildOfLastCemented.selector, c1, g));
        rollup.cement(_commitment(c1, "s8", 2 * PERIOD));
        vm.roll(published + WINDOW - 1);
        vm.expectRevert(abi.encodeWithSelector(IRollup.ChallengeWindowOpen.selector, published + WINDOW));
        rollup.cement(_commitment(g, "s4", PERIOD));
        vm.roll(published + WINDOW);
        rollup.cement(_commitment(g, "s4", PERIOD));
        // Cementing twice: it is no longer a child of the last cemented commitment.
        vm.expectRevert(abi.encodeWithSelector(IRollup.NotChildOfLastCemented.selector, g, c1));
        rollup.cement(_commitment(g, "s4", PERIOD));
        // The genesis commitment is cemented at origination and cannot be cemented again.
        vm.expectRevert(abi.encodeWithSelector(IRollup.NotChildOfLastCemented.selector, bytes32(0), c1));
        rollup.cement(IRollup.Commitment(bytes32(0), GENESIS_STATE, 0, 0));
    }

    function test_recoverStake_onlyWithNothingUncemented() public {
        vm.expectRevert(abi.encodeWithSelector(IRollup.NotAStaker.selector, alice));
        vm.prank(alice);
        rollup.recoverStake();
        bytes32 c1 = _stakeAndPublish(alice, _commitment(_genesis(), "s4", PERIOD));
        vm.expectRevert(abi.encodeWithSelector(IRollup.StakeInUse.selector, c1));
        vm.prank(alice);
        rollup.recoverStake();
        vm.roll(block.number + WINDOW);
        rollup.cement(_commitment(_genesis(), "s4", PERIOD));
        vm.expectEmit(true, false, false, true, address(rollup));
        emit IRollup.StakeRecovered(alice, STAKE);
        vm.prank(alice);
        rollup.recoverStake();
        assertEq(alice.balance, STAKE);
        (uint64 id,,) = rollup.staker(alice);
        assertEq(id, 0);
        (, uint256 staked,,) = rollup.accounting();
        assertEq(staked, 0);
        assertEq(address(rollup).balance, 0);
        // Staking again starts a new chain from the last cemented commitment, with a new stake.
        vm.expectRevert(abi.encodeWithSelector(IRollup.WrongStakeAmount.selector, STAKE, 0));
        vm.prank(alice);
        rollup.publish(_commitment(c1, "s8", 2 * PERIOD));
        _stakeAndPublish(alice, _commitment(c1, "s8", 2 * PERIOD));
        (uint64 id2,,) = rollup.staker(alice);
        assertEq(id2, 2);
    }

    function test_stakerWithCementedHead_continuesFromLastCemented() public {
        bytes32 c1 = _stakeAndPublish(alice, _commitment(_genesis(), "s4", PERIOD));
        _stakeAndPublish(bob, _commitment(_genesis(), "s4", PERIOD));
        bytes32 c2 = _publish(bob, _commitment(c1, "s8", 2 * PERIOD));
        vm.roll(block.number + WINDOW);
        rollup.cement(_commitment(_genesis(), "s4", PERIOD));
        rollup.cement(_commitment(c1, "s8", 2 * PERIOD));
        // alice's head (level 4) is cemented; her next commitment builds on the last cemented one.
        vm.expectRevert(abi.encodeWithSelector(IRollup.WrongPredecessor.selector, c2, c1));
        vm.prank(alice);
        rollup.publish(_commitment(c1, "s8'", 2 * PERIOD));
        _publish(alice, _commitment(c2, "s12", 3 * PERIOD));
    }

    function test_recoverStake_failsForStakerThatRefusesEth() public {
        NoReceive nr = new NoReceive();
        vm.deal(address(this), STAKE);
        nr.publish{value: STAKE}(address(rollup), _commitment(_genesis(), "s4", PERIOD));
        vm.roll(block.number + WINDOW);
        rollup.cement(_commitment(_genesis(), "s4", PERIOD));
        vm.expectRevert(abi.encodeWithSelector(IRollup.TransferFailed.selector, address(nr), STAKE));
        nr.recover(address(rollup));
    }

    function test_settleGame_checksCallerAndPlayers() public {
        _stakeAndPublish(alice, _commitment(_genesis(), "a", PERIOD));
        _stakeAndPublish(bob, _commitment(_genesis(), "b", PERIOD));
        vm.expectRevert(abi.encodeWithSelector(IRollup.NotGameResolver.selector, alice));
        vm.prank(alice);
        rollup.settleGame(bob, alice);
        vm.startPrank(resolver);
        vm.expectRevert(abi.encodeWithSelector(IRollup.NotAStaker.selector, carol));
        rollup.settleGame(carol, alice);
        vm.expectRevert(abi.encodeWithSelector(IRollup.NotAStaker.selector, carol));
        rollup.settleGame(bob, carol);
        vm.expectRevert(abi.encodeWithSelector(IRollup.SamePlayer.selector, bob));
        rollup.settleGame(bob, bob);
        rollup.settleGame(bob, alice);
        // A stake is taken once.
        vm.expectRevert(abi.encodeWithSelector(IRollup.NotAStaker.selector, bob));
        rollup.settleGame(bob, alice);
        vm.stopPrank();
    }

    function test_claimReward_paysOnce() public {
        _stakeAndPublish(alice, _commitment(_genesis(), "a", PERIOD));
        _stakeAndPublish(bob, _commitment(_genesis(), "b", PERIOD));
        vm.prank(resolver);
        rollup.settleGame(bob, alice);
        vm.expectEmit(true, false, false, true, address(rollup));
        emit IRollup.RewardClaimed(alice, STAKE / 2);
        vm.prank(alice);
        rollup.claimReward();
        assertEq(alice.balance, STAKE / 2);
        vm.expectRevert(abi.encodeWithSelector(IRollup.NothingToClaim.selector, alice));
        vm.prank(alice);
        rollup.claimReward();
        (uint256 bridge, uint256 staked, uint256 claimable, uint256 burnt) = rollup.accounting();
        assertEq(bridge + staked + claimable, address(rollup).balance);
        assertEq(staked, STAKE);
        assertEq(claimable, 0);
        assertEq(burnt, STAKE - STAKE / 2);
    }

    function test_conflictPoint_requiresAFork() public {
        vm.expectRevert(abi.encodeWithSelector(IRollup.NotAStaker.selector, alice));
        rollup.conflictPoint(alice, bob);
        bytes32 c1 = _stakeAndPublish(alice, _commitment(_genesis(), "s4", PERIOD));
        vm.expectRevert(abi.encodeWithSelector(IRollup.NotAStaker.selector, bob));
        rollup.conflictPoint(alice, bob);
        _stakeAndPublish(bob, _commitment(_genesis(), "s4", PERIOD));
        _publish(bob, _commitment(c1, "s8", 2 * PERIOD));
        // bob's chain extends alice's: no fork.
        vm.expectRevert(abi.encodeWithSelector(IRollup.NoConflict.selector, alice, bob));
        rollup.conflictPoint(alice, bob);
        vm.roll(block.number + WINDOW);
        rollup.cement(_commitment(_genesis(), "s4", PERIOD));
        vm.expectRevert(abi.encodeWithSelector(IRollup.NoConflict.selector, alice, bob));
        rollup.conflictPoint(alice, bob);
    }

    function test_deadCommitment_canBeJoinedAgainByANewStake() public {
        IRollup.Commitment memory w = _commitment(_genesis(), "w", PERIOD);
        bytes32 h = _stakeAndPublish(bob, w);
        _stakeAndPublish(alice, _commitment(_genesis(), "r", PERIOD));
        vm.prank(resolver);
        rollup.settleGame(bob, alice);
        (,,,, bool alive) = rollup.commitment(h);
        assertFalse(alive);
        assertEq(rollup.stakersOf(h).length, 0);
        _stakeAndPublish(carol, w);
        (,,,, alive) = rollup.commitment(h);
        assertTrue(alive);
        assertEq(rollup.stakersOf(h)[0], carol);
    }

    /// @notice A settlement between stakers whose chains do not fork is not a game outcome.
    function test_settleGame_refusesNonRivals() public {
        bytes32 c1 = _stakeAndPublish(alice, _commitment(_genesis(), "s4", PERIOD));
        _stakeAndPublish(bob, _commitment(_genesis(), "s4", PERIOD));
        _publish(bob, _commitment(c1, "s8", 2 * PERIOD)); // bob extends alice's chain
        vm.expectRevert(abi.encodeWithSelector(IRollup.NoConflict.selector, bob, alice));
        vm.prank(resolver);
        rollup.settleGame(bob, alice);
        _stakeAndPublish(carol, _commitment(_genesis(), "s4", PERIOD)); // carol agrees with alice
        vm.expectRevert(abi.encodeWithSelector(IRollup.NoConflict.selector, carol, alice));
        vm.prank(resolver);
        rollup.settleGame(carol, alice);
    }

    /// @notice A dead commitment joined again is refutable for a whole window from then on.
    function test_deadCommitment_rejoined_getsAFreshChallengeWindow() public {
        IRollup.Commitment memory w = _commitment(_genesis(), "w", PERIOD);
        bytes32 h = _stakeAndPublish(bob, w);
        vm.prank(resolver);
        rollup.settleGame(bob, address(0));
        vm.roll(block.number + 2 * WINDOW);
        _stakeAndPublish(carol, w);
        (,, uint64 publishedAt,,) = rollup.commitment(h);
        assertEq(publishedAt, block.number, "alive again: published now");
        vm.expectRevert(abi.encodeWithSelector(IRollup.ChallengeWindowOpen.selector, block.number + WINDOW));
        rollup.cement(w);
        vm.roll(block.number + WINDOW);
        rollup.cement(w);
    }
}
