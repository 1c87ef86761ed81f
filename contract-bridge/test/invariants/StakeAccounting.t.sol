// SPDX-License-Identifier: MIT OR Apache-2.0
pragma solidity ^0.8.30;

import {RollupTestBase} from "../utils/RollupTestBase.sol";
import {IRollup} from "../../src/rollup/IRollup.sol";
import {Rollup} from "../../src/Rollup.sol";

/// @notice Drives stakers, a game resolver and depositors through random sequences: honest and
/// dishonest commitments, conflicts, games won, lost and drawn, cementing, stake recovery,
/// reward claims and deposits.
contract StakeHandler is RollupTestBase {
    address[4] internal actors;
    mapping(bytes32 => IRollup.Commitment) internal preimage;
    uint256 public ghostIn;
    uint256 public ghostPaidOut;
    uint256 public ghostBurnt;
    uint256 public lastCementedLevel;
    bool public cementedWentBack;

    constructor(Rollup r, address resolver_) {
        rollup = r;
        resolver = resolver_;
        tipHash = START_HASH;
        tipHeight = START_HEIGHT;
        for (uint256 i = 0; i < 4; i++) {
            actors[i] = address(uint160(0xA000 + i));
        }
    }

    function actor(uint256 i) external view returns (address) {
        return actors[i];
    }

    function deposit(uint256 who, uint256 amount) external {
        amount = bound(amount, 1, 3 ether);
        address a = actors[who % 4];
        vm.deal(a, amount);
        vm.prank(a);
        rollup.depositEth{value: amount}("");
        ghostIn += amount;
    }

    function advanceInbox(uint256 n) external {
        vm.roll(block.number + 1);
        _advanceInbox(bound(n, 1, 6));
    }

    function roll(uint256 n) external {
        vm.roll(block.number + bound(n, 1, WINDOW));
    }

    function publish(uint256 who, bool honest) external {
        address a = actors[who % 4];
        (uint64 id, bytes32 head, uint32 headLevel) = rollup.staker(a);
        (bytes32 lcc, uint32 lccLevel,) = rollup.lastCemented();
        bool fromCemented = id == 0 || headLevel <= lccLevel;
        bytes32 pred = fromCemented ? lcc : head;
        uint32 level = (fromCemented ? lccLevel : headLevel) + PERIOD;
        (uint32 inboxLevel,,,,,) = rollup.inboxState();
        if (level > inboxLevel) return;
        bytes32 state = honest ? keccak256(abi.encode("good", level)) : keccak256(abi.encode("bad", a, level));
        IRollup.Commitment memory c = IRollup.Commitment(pred, state, level, 1000);
        uint256 value = id == 0 ? STAKE : 0;
        vm.deal(a, value);
        vm.prank(a);
        bytes32 h = rollup.publish{value: value}(c);
        preimage[h] = c;
        ghostIn += value;
    }

    function cement(uint256 pick) external {
        (, uint32 lccLevel,) = rollup.lastCemented();
        bytes32[] memory at = rollup.commitmentsAt(lccLevel + PERIOD);
        if (at.length == 0) return;
        rollup.cement(preimage[at[pick % at.length]]);
        (, uint32 now_,) = rollup.lastCemented();
        if (now_ < lastCementedLevel) cementedWentBack = true;
        lastCementedLevel = now_;
    }

    function settle(uint256 loser, uint256 winner, bool draw) external {
        address l = actors[loser % 4];
        address w = draw ? address(0) : actors[winner % 4];
        vm.prank(resolver);
        rollup.settleGame(l, w);
        uint256 reward = draw ? 0 : STAKE / 2;
        ghostBurnt += STAKE - reward;
    }

    function recover(uint256 who) external {
        address a = actors[who % 4];
        vm.prank(a);
        rollup.recoverStake();
        ghostPaidOut += STAKE;
    }

    function claim(uint256 who) external {
        address a = actors[who % 4];
        uint256 amount = rollup.claimable(a);
        vm.prank(a);
        rollup.claimReward();
        ghostPaidOut += amount;
    }
}

/// @notice No ETH is created or lost: every wei that entered is in the bridge, in a stake,
/// credited to a winner, paid out, or burnt; stakes match the stakers.
contract StakeAccountingInvariants is RollupTestBase {
    StakeHandler internal handler;

    function setUp() public override {
        super.setUp();
        handler = new StakeHandler(rollup, resolver);
        // The handler owns the sequencer chain from the start block on.
        targetContract(address(handler));
        bytes4[] memory selectors = new bytes4[](9);
        selectors[0] = StakeHandler.deposit.selector;
        selectors[1] = StakeHandler.advanceInbox.selector;
        selectors[2] = StakeHandler.roll.selector;
        selectors[3] = StakeHandler.publish.selector;
        selectors[4] = StakeHandler.cement.selector;
        selectors[5] = StakeHandler.settle.selector;
        selectors[6] = StakeHandler.recover.selector;
        selectors[7] = StakeHandler.claim.selector;
        selectors[8] = StakeHandler.publish.selector; // publishing twice as often
        targetSelector(FuzzSelector(address(handler), selectors));
    }

    function invariant_balanceIsExactlyAccounted() public view {
        (uint256 bridge, uint256 staked, uint256 claimable, uint256 burnt) = rollup.accounting();
        assertEq(address(rollup).balance, bridge + staked + claimable, "balance = bridge + stakes + rewards");
        assertEq(
            handler.ghostIn(), address(rollup).balance + handler.ghostPaidOut() + burnt, "in = held + paid + burnt"
        );
        assertEq(burnt, handler.ghostBurnt(), "burnt as settled");
        assertEq(rollup.BURN_ADDRESS().balance, burnt, "burnt ETH is at the burn address");
    }

    function invariant_stakesMatchStakers() public view {
        (, uint256 staked,,) = rollup.accounting();
        uint256 n;
        for (uint256 i = 0; i < 4; i++) {
            (uint64 id,,) = rollup.staker(handler.actor(i));
            if (id != 0) n++;
        }
        assertEq(staked, n * STAKE, "one stake per staker");
    }

    function invariant_cementingOnlyMovesForward() public view {
        assertFalse(handler.cementedWentBack(), "last cemented level never decreases");
    }
}
