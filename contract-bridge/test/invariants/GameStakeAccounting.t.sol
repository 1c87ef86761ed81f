// SPDX-License-Identifier: MIT OR Apache-2.0
pragma solidity ^0.8.30;

import {GameTestBase} from "../utils/GameTestBase.sol";
import {ToyMachine} from "../utils/ToyMachine.sol";
import {IRollup} from "../../src/rollup/IRollup.sol";
import {Rollup} from "../../src/Rollup.sol";
import {RefutationGame} from "../../src/game/RefutationGame.sol";
import {IRefutationGame} from "../../src/game/IRefutationGame.sol";

/// @notice Drives stakers through random refutation games on the level after genesis: honest
/// and wrong commitments (wrong from a random tick, shorter or longer), starts, moves by each
/// player's own strategy, clocks running out, forfeits after slashings elsewhere, new stakes,
/// cementing, stake recovery and reward claims. Stakes only move through game outcomes.
contract GameHandler is GameTestBase {
    address[4] internal actors;
    mapping(address => Player) internal persona;
    mapping(address => bool) internal isHonest;
    mapping(uint256 => bytes32[]) internal current; // each game's last dissection
    uint256[] internal started;
    uint256 public ghostIn;
    uint256 public ghostPaidOut;
    uint256 public ghostBurnt;
    uint256 public ghostRewards;
    uint256 public ghostClaimed;
    uint256 public gamesEnded;
    bool public honestLostByProof;

    constructor(Rollup r, RefutationGame g, ToyMachine m, bytes32 gState, bytes memory gHeader, uint64 ticks) {
        rollup = r;
        game = g;
        machine = m;
        genesisState = gState;
        genesisHeader = gHeader;
        honestTicks = ticks;
        tipHash = START_HASH;
        tipHeight = START_HEIGHT;
        for (uint256 i = 0; i < 4; i++) {
            actors[i] = address(uint160(0xA000 + i));
        }
        _advanceInbox(PERIOD);
    }

    function actor(uint256 i) external view returns (address) {
        return actors[i];
    }

    function startedCount() external view returns (uint256) {
        return started.length;
    }

    function publish(uint256 who, uint256 mode, uint256 seed) external {
        address a = actors[who % 4];
        (uint64 id,,) = rollup.staker(a);
        (, uint32 lccLevel,) = rollup.lastCemented();
        if (id != 0 || lccLevel != 0) return;
        Player memory p;
        if (mode % 3 == 0) {
            p = _honest(a);
        } else {
            uint64 ticks = uint64(bound(seed, 1, 3 * honestTicks));
            p = _evil(a, ticks, uint64(bound(seed >> 64, 1, ticks)));
        }
        p = _join(p);
        persona[a] = p;
        isHonest[a] = mode % 3 == 0;
        ghostIn += STAKE;
    }

    function start(uint256 x, uint256 y) external {
        address a = actors[x % 4];
        address b = actors[y % 4];
        Player memory pa = persona[a];
        Player memory pb = persona[b];
        (uint256 id, bytes32[] memory d) = _start(pa, pb);
        started.push(id);
        current[id] = d;
    }

    function play(uint256 pick) external {
        if (started.length == 0) return;
        uint256 id = started[pick % started.length];
        IRefutationGame.GameView memory v = game.game(id);
        if (v.outcome != IRefutationGame.Outcome.Running) return;
        Player memory p = persona[v.toMove];
        bytes32[] memory next = _step(id, p, current[id]);
        current[id] = next;
        _account(id);
    }

    function roll(uint256 n) external {
        vm.roll(block.number + bound(n, 1, 2 * CLOCK));
    }

    function timeout(uint256 pick) external {
        if (started.length == 0) return;
        uint256 id = started[pick % started.length];
        game.timeout(id);
        _account(id);
    }

    function forfeit(uint256 pick) external {
        if (started.length == 0) return;
        uint256 id = started[pick % started.length];
        game.forfeit(id);
        _account(id);
    }

    function cement(uint256 pick) external {
        bytes32[] memory at = rollup.commitmentsAt(PERIOD);
        if (at.length == 0) return;
        bytes32 h = at[pick % at.length];
        for (uint256 i = 0; i < 4; i++) {
            Player memory p = persona[actors[i]];
            if (p.hash == h) {
                rollup.cement(p.c);
                return;
            }
        }
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
        ghostClaimed += amount;
    }

    /// @dev Books what the game's end (if it just ended) did to the stakes.
    function _account(uint256 id) internal {
        IRefutationGame.GameView memory v = game.game(id);
        if (v.outcome == IRefutationGame.Outcome.Running) return;
        gamesEnded++;
        if (v.reason == IRefutationGame.EndReason.Forfeit) return;
        if (v.outcome == IRefutationGame.Outcome.BothLost) {
            ghostBurnt += 2 * STAKE;
        } else {
            ghostBurnt += STAKE - STAKE / 2;
            ghostRewards += STAKE / 2;
        }
        if (v.reason == IRefutationGame.EndReason.Proof) {
            bool challengerLost = v.outcome != IRefutationGame.Outcome.ChallengerWon;
            bool defenderLost = v.outcome != IRefutationGame.Outcome.DefenderWon;
            if ((challengerLost && isHonest[v.challenger]) || (defenderLost && isHonest[v.defender])) {
                honestLostByProof = true;
            }
        }
    }
}

/// @notice No ETH is created or lost through games, stakes match stakers, and an honest player
/// never loses a game decided by a proof.
contract GameStakeAccountingInvariants is GameTestBase {
    GameHandler internal handler;

    function setUp() public override {
        super.setUp();
        _deployGame();
        _setHonest(1000);
        handler = new GameHandler(rollup, game, machine, genesisState, genesisHeader, 1000);
        targetContract(address(handler));
        bytes4[] memory selectors = new bytes4[](13);
        selectors[0] = GameHandler.publish.selector;
        selectors[1] = GameHandler.publish.selector;
        selectors[2] = GameHandler.start.selector;
        selectors[3] = GameHandler.start.selector;
        selectors[4] = GameHandler.play.selector;
        selectors[5] = GameHandler.play.selector;
        selectors[6] = GameHandler.play.selector;
        selectors[7] = GameHandler.roll.selector;
        selectors[8] = GameHandler.timeout.selector;
        selectors[9] = GameHandler.forfeit.selector;
        selectors[10] = GameHandler.cement.selector;
        selectors[11] = GameHandler.recover.selector;
        selectors[12] = GameHandler.claim.selector;
        targetSelector(FuzzSelector(address(handler), selectors));
    }

    function invariant_balanceIsExactlyAccounted() public view {
        (uint256 bridge, uint256 staked, uint256 claimable, uint256 burnt) = rollup.accounting();
        assertEq(address(rollup).balance, bridge + staked + claimable, "balance = bridge + stakes + rewards");
        assertEq(
            handler.ghostIn(), address(rollup).balance + handler.ghostPaidOut() + burnt, "in = held + paid + burnt"
        );
        assertEq(burnt, handler.ghostBurnt(), "burnt as the game outcomes say");
        assertEq(claimable + handler.ghostClaimed(), handler.ghostRewards(), "rewards as the outcomes say");
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

    function invariant_honestNeverLosesByProof() public view {
        assertFalse(handler.honestLostByProof(), "an honest player lost a proven step");
    }

    function invariant_runningGamesAreListed() public view {
        for (uint256 i = 0; i < 4; i++) {
            uint256[] memory ids = game.gamesOf(handler.actor(i));
            assertLe(ids.length, game.MAX_GAMES_PER_STAKER(), "bounded");
            for (uint256 j = 0; j < ids.length; j++) {
                IRefutationGame.GameView memory v = game.game(ids[j]);
                assertTrue(v.outcome == IRefutationGame.Outcome.Running, "only running games are listed");
                assertTrue(v.challenger == handler.actor(i) || v.defender == handler.actor(i), "a player's own");
            }
        }
    }
}
