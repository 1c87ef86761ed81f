// SPDX-License-Identifier: MIT OR Apache-2.0
pragma solidity ^0.8.30;

import {GameTestBase} from "./utils/GameTestBase.sol";
import {GasLog} from "./utils/GasLog.sol";
import {Vm} from "./utils/Test.sol";
import {IRollup} from "../src/rollup/IRollup.sol";
import {Rollup} from "../src/Rollup.sol";
import {RefutationGame} from "../src/game/RefutationGame.sol";
import {IRefutationGame, IGameDeployer} from "../src/game/IRefutationGame.sol";

/// @notice Deploys a game that asks this contract for its rollup and verifier, to test the
/// game's own checks on them.
contract FakeGameDeployer is IGameDeployer {
    address internal R;
    address internal V;

    function set(address rollup_, address verifier_) external {
        R = rollup_;
        V = verifier_;
    }

    function gameParameters() external view returns (address, address) {
        return (R, V);
    }

    function deploy() external returns (RefutationGame) {
        return new RefutationGame();
    }
}

/// @notice The refutation game alone, judged by the toy machine: every move and its refusals,
/// clocks, outcomes and their settlement on the rollup.
contract RefutationGameTest is GameTestBase {
    address internal alice = makeAddr("alice");
    address internal bob = makeAddr("bob");
    address internal carol = makeAddr("carol");
    address internal dave = makeAddr("dave");

    function setUp() public override {
        super.setUp();
        _deployGame();
        _setHonest(1000);
        _advanceInbox(12);
    }

    function _running() internal pure returns (IRefutationGame.Outcome) {
        return IRefutationGame.Outcome.Running;
    }

    // ---------------------------------------------------------------- construction and start

    function test_constructor_needsTheRollupsResolverRoleAndAVerifier() public {
        // A game for a rollup that names another resolver (this test's game) cannot settle.
        FakeGameDeployer other = new FakeGameDeployer();
        other.set(address(rollup), address(machine));
        vm.expectRevert(abi.encodeWithSelector(IRefutationGame.NotRollupResolver.selector, address(game)));
        other.deploy();
        // A verifier without code could never end a game by proof.
        FakeGameDeployer noCode = new FakeGameDeployer();
        IRollup.Config memory c = _config();
        c.gameResolver = vm.computeCreateAddress(address(noCode), 1);
        noCode.set(address(_rollupOf(c)), address(0x1234));
        vm.expectRevert(abi.encodeWithSelector(IRefutationGame.VerifierWithoutCode.selector, address(0x1234)));
        noCode.deploy();
    }

    function test_gameOfTheFactory_isBoundToItsRollupAndVerifier() public view {
        assertEq(address(game.ROLLUP()), address(rollup));
        assertEq(address(game.VERIFIER()), address(machine));
        assertEq(address(game.VERIFIER()), factory.ONE_STEP_PROOF());
        assertEq(game.SECTIONS_PER_DISSECTION(), K);
        assertEq(game.TIMEOUT_PER_PLAYER(), CLOCK);
    }

    function test_start_recordsTheGameAndEmitsWhatANodeNeeds() public {
        Player memory a = _join(_honest(alice));
        Player memory b = _join(_evil(bob, 1000, 500));
        bytes32[] memory d = _dissection(b, 0, 1000);
        IRefutationGame.Claim memory g = _genesisClaim();
        vm.expectEmit(true, true, true, true, address(game));
        emit IRefutationGame.GameStarted(1, bob, alice, b.hash, a.hash, genesisState, 1000, PERIOD);
        vm.expectEmit(true, true, false, true, address(game));
        emit IRefutationGame.Dissected(1, bob, 0, 1000, d);
        vm.expectEmit(true, false, false, true, address(game));
        emit IRefutationGame.DefenderHeaderRevealed(1, a.header);
        vm.prank(bob);
        uint256 id = game.start(alice, g, _claim(b), _claim(a), d);
        assertEq(id, 1);
        assertEq(game.gameCount(), 1);
        IRefutationGame.GameView memory v = game.game(id);
        assertEq(v.challenger, bob);
        assertEq(v.defender, alice);
        assertEq(v.challengerCommitment, b.hash);
        assertEq(v.defenderCommitment, a.hash);
        assertEq(uint256(v.inboxLevel), PERIOD);
        assertEq(uint256(v.start), 0);
        assertEq(uint256(v.end), 1000);
        assertEq(v.dissectionHash, keccak256(abi.encodePacked(d)));
        assertEq(v.toMove, alice);
        assertEq(uint256(v.challengerClock), CLOCK);
        assertEq(uint256(v.defenderClock), CLOCK);
        assertTrue(v.outcome == _running());
        assertFalse(v.defenderHeaderPending);
        assertEq(game.gameBetween(a.hash, b.hash), id);
        assertEq(game.gameBetween(b.hash, a.hash), id);
        assertEq(game.gamesOf(alice).length, 1);
        assertEq(game.gamesOf(bob)[0], id);
        uint64[] memory pts = game.dissectionPoints(0, 1000);
        assertEq(pts.length, K + 1);
        for (uint256 i = 0; i <= K; i++) {
            assertEq(uint256(pts[i]), uint256(_pt(0, 1000, i)));
        }
        assertEq(game.dissectionPoints(7, 10).length, 4, "short sections: one tick each");
        // The defender's clock runs.
        vm.roll(block.number + 20);
        assertEq(uint256(game.game(id).defenderClock), CLOCK - 20);
    }

    /// @notice A node rebuilds the current dissection from the logs alone: the last `Dissected`
    /// event of the game carries the hashes whose keccak the contract stores.
    function test_logs_carryTheDissections() public {
        Player memory a = _join(_honest(alice));
        Player memory b = _join(_evil(bob, 100_000, 60_000));
        vm.recordLogs();
        (uint256 id, bytes32[] memory d) = _start(b, a);
        d = _step(id, a, d);
        d = _step(id, b, d);
        bytes32 topic = keccak256("Dissected(uint256,address,uint64,uint64,bytes32[])");
        Vm.Log[] memory logs = vm.getRecordedLogs();
        uint256 seen;
        uint64 s;
        uint64 e;
        bytes32[] memory hashes;
        for (uint256 i = 0; i < logs.length; i++) {
            if (logs[i].emitter != address(game) || logs[i].topics[0] != topic) continue;
            assertEq(uint256(logs[i].topics[1]), id);
            (s, e, hashes) = abi.decode(logs[i].data, (uint64, uint64, bytes32[]));
            seen++;
        }
        assertEq(seen, 3, "one per dissection");
        IRefutationGame.GameView memory v = game.game(id);
        assertEq(uint256(s), uint256(v.start));
        assertEq(uint256(e), uint256(v.end));
        assertEq(keccak256(abi.encodePacked(hashes)), v.dissectionHash);
        assertEq(keccak256(abi.encodePacked(hashes)), keccak256(abi.encodePacked(d)));
    }

    function test_start_refusesNonStakersAndNonRivals() public {
        Player memory a = _join(_honest(alice));
        Player memory b = _join(_evil(bob, 1000, 500));
        Player memory c = _evil(carol, 1000, 400);
        bytes32[] memory d = _dissection(b, 0, 1000);
        IRefutationGame.Claim memory g = _genesisClaim();
        vm.expectRevert(abi.encodeWithSelector(IRefutationGame.NotAStaker.selector, carol));
        vm.prank(carol);
        game.start(alice, g, _claim(c), _claim(a), d);
        vm.expectRevert(abi.encodeWithSelector(IRefutationGame.NotAStaker.selector, carol));
        vm.prank(bob);
        game.start(carol, g, _claim(b), _claim(c), d);
        // carol agrees with alice: no conflict between them.
        Player memory c2 = _honest(carol);
        c2 = _join(c2);
        bytes32[] memory dc = _dissection(c2, 0, 1000);
        vm.expectRevert(abi.encodeWithSelector(IRollup.NoConflict.selector, carol, alice));
        vm.prank(carol);
        game.start(alice, g, _claim(c2), _claim(a), dc);
        // Commitments other than the fork of the two chains.
        vm.expectRevert(abi.encodeWithSelector(IRefutationGame.NotConflictPoint.selector, b.hash, a.hash));
        vm.prank(bob);
        game.start(alice, g, _claim(a), _claim(b), d);
        // A predecessor that is not the rivals'.
        IRefutationGame.Claim memory wrong = g;
        wrong.commitment.numberOfTicks = 1;
        bytes32 wrongHash = keccak256(abi.encodePacked(bytes32(0), genesisState, uint32(0), uint64(1)));
        vm.expectRevert(abi.encodeWithSelector(IRefutationGame.WrongPredecessor.selector, _genesis(), wrongHash));
        vm.prank(bob);
        game.start(alice, wrong, _claim(b), _claim(a), d);
    }

    function test_start_refusesAForkThatIsNotTheConflictPoint() public {
        // alice and dave agree at level 4 and fork at level 8.
        Player memory a = _join(_honest(alice));
        _stakeAndPublish(dave, a.c);
        bytes32 a8 = _publish(alice, IRollup.Commitment(a.hash, keccak256("a8"), 2 * PERIOD, 10));
        bytes32 d8 = _publish(dave, IRollup.Commitment(a.hash, keccak256("d8"), 2 * PERIOD, 10));
        Player memory b = _join(_evil(bob, 1000, 1));
        IRefutationGame.Claim memory g = _genesisClaim();
        bytes32[] memory d = _dissection(b, 0, 1000);
        vm.expectRevert(abi.encodeWithSelector(IRefutationGame.NotConflictPoint.selector, d8, a8));
        vm.prank(dave);
        game.start(alice, g, _claim(a), _claim(a), d);
        // bob forks from both at level 4: his game against dave is over level 4.
        vm.expectRevert(abi.encodeWithSelector(IRefutationGame.NotConflictPoint.selector, b.hash, a.hash));
        vm.prank(bob);
        game.start(dave, g, _claim(b), _claim(b), d);
    }

    function test_start_refusesBadHeaders() public {
        Player memory a = _join(_honest(alice));
        Player memory b = _join(_evil(bob, 1000, 500));
        IRefutationGame.Claim memory g = _genesisClaim();
        bytes32[] memory d = _dissection(b, 0, 1000);
        IRefutationGame.Claim memory mine = _claim(b);

        mine.header = new bytes(76);
        vm.expectRevert(abi.encodeWithSelector(IRefutationGame.BadHeaderLength.selector, 76));
        vm.prank(bob);
        game.start(alice, g, mine, _claim(a), d);

        mine.header = abi.encodePacked(b.header);
        mine.header[76] = 0x01;
        vm.expectRevert(abi.encodeWithSelector(IRefutationGame.HeaderNotFinal.selector, 1));
        vm.prank(bob);
        game.start(alice, g, mine, _claim(a), d);

        // A header of another state (the honest one) for bob's commitment.
        mine.header = a.header;
        vm.expectRevert(abi.encodeWithSelector(IRefutationGame.HeaderMismatch.selector, b.c.stateHash, a.c.stateHash));
        vm.prank(bob);
        game.start(alice, g, mine, _claim(a), d);

        // The predecessor's header is checked too.
        IRefutationGame.Claim memory badG = _genesisClaim();
        badG.header = a.header;
        vm.expectRevert(abi.encodeWithSelector(IRefutationGame.HeaderMismatch.selector, genesisState, a.c.stateHash));
        vm.prank(bob);
        game.start(alice, badG, _claim(b), _claim(a), d);

        // The defender's header, when the challenger gives it.
        IRefutationGame.Claim memory theirs = _claim(a);
        theirs.header = b.header;
        vm.expectRevert(abi.encodeWithSelector(IRefutationGame.HeaderMismatch.selector, a.c.stateHash, b.c.stateHash));
        vm.prank(bob);
        game.start(alice, g, _claim(b), theirs, d);
    }

    function test_start_refusesHeadersOfTheWrongLevelOrTicks() public {
        Player memory a = _join(_honest(alice));
        IRefutationGame.Claim memory g = _genesisClaim();
        // carol's state is a level-3 state.
        bytes memory h3 = _hdr(PERIOD - 1, 1000, "d", "o");
        IRollup.Commitment memory c3 = IRollup.Commitment(_genesis(), _state(PERIOD - 1, 1000, "d", "o"), PERIOD, 1000);
        _stakeAndPublish(carol, c3);
        bytes32[] memory d = new bytes32[](K + 1);
        d[0] = genesisState;
        d[K] = c3.stateHash;
        vm.expectRevert(abi.encodeWithSelector(IRefutationGame.HeaderLevelMismatch.selector, PERIOD, PERIOD - 1));
        vm.prank(carol);
        game.start(alice, g, IRefutationGame.Claim(c3, h3), _claim(a), d);
        // dave claims 1000 ticks with a state at tick 999.
        bytes memory h999 = _hdr(PERIOD, 999, "d", "o");
        IRollup.Commitment memory c999 = IRollup.Commitment(_genesis(), _state(PERIOD, 999, "d", "o"), PERIOD, 1000);
        _stakeAndPublish(dave, c999);
        d[K] = c999.stateHash;
        vm.expectRevert(abi.encodeWithSelector(IRefutationGame.HeaderTickMismatch.selector, 1000, 999));
        vm.prank(dave);
        game.start(alice, g, IRefutationGame.Claim(c999, h999), _claim(a), d);
    }

    function test_start_refusesBadDissections() public {
        Player memory a = _join(_honest(alice));
        Player memory b = _join(_evil(bob, 1000, 500));
        IRefutationGame.Claim memory g = _genesisClaim();
        bytes32[] memory d = _dissection(b, 0, 1000);
        bytes32[] memory short = new bytes32[](K);
        vm.expectRevert(abi.encodeWithSelector(IRefutationGame.WrongDissectionLength.selector, K + 1, K));
        vm.prank(bob);
        game.start(alice, g, _claim(b), _claim(a), short);
        d[0] = keccak256("not the start");
        vm.expectRevert(abi.encodeWithSelector(IRefutationGame.DissectionStartMismatch.selector, genesisState, d[0]));
        vm.prank(bob);
        game.start(alice, g, _claim(b), _claim(a), d);
        d[0] = genesisState;
        d[K] = a.c.stateHash; // ends on the opponent's claim, not its own
        vm.expectRevert(
            abi.encodeWithSelector(IRefutationGame.DissectionEndMismatch.selector, b.c.stateHash, a.c.stateHash)
        );
        vm.prank(bob);
        game.start(alice, g, _claim(b), _claim(a), d);
    }

    // ---------------------------------------------------------------- whole games

    function test_honestDefender_beatsEvilChallenger_andCements() public {
        Player memory a = _join(_honest(alice));
        Player memory b = _join(_evil(bob, 1000, 500));
        (uint256 id, bytes32[] memory d) = _start(b, a);
        _play(id, b, a, d);
        IRefutationGame.GameView memory v = game.game(id);
        assertTrue(v.outcome == IRefutationGame.Outcome.DefenderWon, "alice wins");
        assertTrue(v.reason == IRefutationGame.EndReason.Proof);
        assertEq(v.toMove, address(0));
        (uint64 bobId,,) = rollup.staker(bob);
        assertEq(uint256(bobId), 0, "bob's stake is taken");
        assertEq(rollup.claimable(alice), STAKE / 2);
        (,, uint256 claimable, uint256 burnt) = rollup.accounting();
        assertEq(claimable, STAKE / 2);
        assertEq(burnt, STAKE - STAKE / 2);
        assertEq(game.gamesOf(alice).length, 0);
        assertEq(game.gamesOf(bob).length, 0);
        assertEq(game.gameBetween(a.hash, b.hash), 0);
        // bob's commitment is dead: no game can be played against it.
        bytes32[] memory da = _dissection(a, 0, 1000);
        IRefutationGame.Claim memory g = _genesisClaim();
        vm.expectRevert(abi.encodeWithSelector(IRefutationGame.NotAStaker.selector, bob));
        vm.prank(alice);
        game.start(bob, g, _claim(a), _claim(b), da);
        vm.roll(block.number + WINDOW);
        rollup.cement(a.c);
        (bytes32 lcc,,) = rollup.lastCemented();
        assertEq(lcc, a.hash, "the winner's commitment lives on");
    }

    function test_honestChallenger_beatsLongerEvilDefender_overTheStutteredTrace() public {
        Player memory a = _join(_honest(alice));
        Player memory b = _join(_evil(bob, 5000, 1000)); // runs on after the honest end
        (uint256 id, bytes32[] memory d) = _start(a, b);
        assertEq(uint256(game.game(id).end), 5000);
        _play(id, a, b, d);
        assertTrue(game.game(id).outcome == IRefutationGame.Outcome.ChallengerWon);
        assertEq(rollup.claimable(alice), STAKE / 2);
    }

    function test_honestPlayer_beatsShorterEvil_either_role() public {
        Player memory a = _join(_honest(alice));
        Player memory b = _join(_evil(bob, 300, 300)); // stops early
        (uint256 id, bytes32[] memory d) = _start(b, a);
        _play(id, b, a, d);
        assertTrue(game.game(id).outcome == IRefutationGame.Outcome.DefenderWon);
        Player memory c = _join(_evil(carol, 999, 1)); // wrong from the first tick
        (id, d) = _start(a, c);
        _play(id, a, c, d);
        assertTrue(game.game(id).outcome == IRefutationGame.Outcome.ChallengerWon);
        assertEq(rollup.claimable(alice), STAKE);
    }

    function test_bothLose_whenTheStepMatchesNeitherClaim() public {
        _setHonest(1);
        Player memory b = _join(_evil(bob, 1, 1));
        Player memory c = _join(_evil(carol, 1, 1));
        (uint256 id, bytes32[] memory d) = _start(b, c);
        assertEq(d.length, 2, "one tick: one section");
        bytes memory proof = abi.encode(genesisState, uint64(0));
        vm.expectEmit(true, true, false, true, address(game));
        emit IRefutationGame.StepProven(id, carol, 0, machine.stateAt(genesisState, 1));
        vm.prank(carol);
        game.prove(id, d, 0, c.c.stateHash, proof);
        IRefutationGame.GameView memory v = game.game(id);
        assertTrue(v.outcome == IRefutationGame.Outcome.BothLost);
        (, uint256 staked,, uint256 burnt) = rollup.accounting();
        assertEq(staked, 0);
        assertEq(burnt, 2 * STAKE);
    }

    function test_moveBound_onATrillionTicks() public {
        _setHonest(1e12);
        Player memory a = _join(_honest(alice));
        Player memory b = _join(_evil(bob, 1e12, 777_777_777_777));
        (uint256 id, bytes32[] memory d) = _start(b, a);
        uint256[2] memory moves = _play(id, b, a, d);
        uint256 logK; // ceil(log_k(ticks))
        for (uint256 x = 1; x < 1e12; x *= K) {
            logK++;
        }
        assertEq(logK, 8);
        assertLe(moves[0], logK + 1, "challenger's moves");
        assertLe(moves[1], logK + 1, "defender's moves");
        assertEq(moves[0] + moves[1], logK + 1, "one dissection per power of k, then the proof");
        assertTrue(game.game(id).outcome == IRefutationGame.Outcome.DefenderWon);
    }

    // ---------------------------------------------------------------- clocks

    function test_timeout_defenderOutOfTime_anyoneEndsIt() public {
        Player memory a = _join(_honest(alice));
        Player memory b = _join(_evil(bob, 1000, 500));
        uint256 startedAt = block.number;
        (uint256 id, bytes32[] memory d) = _start(b, a);
        vm.roll(startedAt + CLOCK);
        vm.expectRevert(abi.encodeWithSelector(IRefutationGame.ClockRunning.selector, startedAt + CLOCK));
        game.timeout(id);
        vm.roll(startedAt + CLOCK + 1);
        (uint256 i,, uint64 to) = _choose(a, d, 0, 1000);
        bytes32 claim = _stateAt(a, to);
        bytes32[] memory next = _dissection(a, _pt(0, 1000, i), to);
        vm.expectRevert(abi.encodeWithSelector(IRefutationGame.OutOfTime.selector, startedAt + CLOCK));
        vm.prank(alice);
        game.move(id, d, i, claim, next);
        vm.prank(carol); // not a player
        game.timeout(id);
        IRefutationGame.GameView memory v = game.game(id);
        assertTrue(v.outcome == IRefutationGame.Outcome.ChallengerWon, "a lazy defender loses, even honest");
        assertTrue(v.reason == IRefutationGame.EndReason.Timeout);
        assertEq(rollup.claimable(bob), STAKE / 2);
        vm.expectRevert(abi.encodeWithSelector(IRefutationGame.GameOver.selector, id));
        game.timeout(id);
    }

    function test_timeout_chessClocks_challengerRunsOut() public {
        _setHonest(100_000);
        Player memory a = _join(_honest(alice));
        Player memory b = _join(_evil(bob, 100_000, 50_000));
        (uint256 id, bytes32[] memory d) = _start(b, a);
        vm.roll(block.number + 10);
        d = _step(id, a, d); // alice used 10
        vm.roll(block.number + 30);
        d = _step(id, b, d); // bob used 30
        vm.roll(block.number + 35);
        d = _step(id, a, d); // alice used 45 in all
        IRefutationGame.GameView memory v = game.game(id);
        assertEq(uint256(v.defenderClock), CLOCK - 45);
        assertEq(uint256(v.challengerClock), CLOCK - 30);
        assertEq(v.toMove, bob);
        vm.roll(block.number + 20);
        vm.expectRevert(abi.encodeWithSelector(IRefutationGame.ClockRunning.selector, block.number));
        game.timeout(id);
        vm.roll(block.number + 1);
        assertEq(uint256(game.game(id).challengerClock), 0);
        vm.prank(dave);
        game.timeout(id);
        assertTrue(game.game(id).outcome == IRefutationGame.Outcome.DefenderWon);
        assertTrue(game.game(id).reason == IRefutationGame.EndReason.Timeout);
    }

    // ---------------------------------------------------------------- refused moves

    function test_move_refusesBadDissections() public {
        Player memory a = _join(_honest(alice));
        Player memory b = _join(_evil(bob, 1000, 500));
        (uint256 id, bytes32[] memory d) = _start(b, a);
        (uint256 i, uint64 from, uint64 to) = _choose(a, d, 0, 1000);
        bytes32 claim = _stateAt(a, to);
        bytes32[] memory next = _dissection(a, from, to);
        assertEq(next.length, to - from + 1, "a short section: one tick per section");
        bytes32[] memory bad = new bytes32[](next.length - 1);
        vm.expectRevert(
            abi.encodeWithSelector(IRefutationGame.WrongDissectionLength.selector, next.length, next.length - 1)
        );
        vm.prank(alice);
        game.move(id, d, i, claim, bad);
        next[0] = keccak256("x");
        vm.expectRevert(abi.encodeWithSelector(IRefutationGame.DissectionStartMismatch.selector, d[i], next[0]));
        vm.prank(alice);
        game.move(id, d, i, claim, next);
        next = _dissection(a, from, to);
        next[next.length - 1] = keccak256("y");
        vm.expectRevert(
            abi.encodeWithSelector(IRefutationGame.DissectionEndMismatch.selector, claim, next[next.length - 1])
        );
        vm.prank(alice);
        game.move(id, d, i, claim, next);
    }

    function test_move_refusesWrongSections() public {
        _setHonest(40); // 32 sections of 40 ticks: lengths 1 and 2
        Player memory a = _join(_honest(alice));
        Player memory b = _join(_evil(bob, 40, 1));
        (uint256 id, bytes32[] memory d) = _start(b, a);
        bytes32[] memory next = new bytes32[](3);
        vm.expectRevert(abi.encodeWithSelector(IRefutationGame.SectionOutOfRange.selector, K, K));
        vm.prank(alice);
        game.move(id, d, K, keccak256("c"), next);
        vm.expectRevert(abi.encodeWithSelector(IRefutationGame.SectionNotDisputed.selector, 5));
        vm.prank(alice);
        game.move(id, d, 5, d[6], next);
        // Section 0 is [0, 1]: proven, not dissected.
        assertEq(uint256(_pt(0, 40, 1)), 1);
        bytes32 at1 = _stateAt(a, 1);
        bytes32 at5 = _stateAt(a, 5);
        vm.expectRevert(abi.encodeWithSelector(IRefutationGame.SectionIsOneTick.selector, 0));
        vm.prank(alice);
        game.move(id, d, 0, at1, next);
        // Section 3 is [3, 5]: two ticks, no proof yet.
        assertEq(uint256(_pt(0, 40, 3)), 3);
        assertEq(uint256(_pt(0, 40, 4)), 5);
        bytes memory proof = abi.encode(genesisState, uint64(3));
        vm.expectRevert(abi.encodeWithSelector(IRefutationGame.SectionNotOneTick.selector, 3, 2));
        vm.prank(alice);
        game.prove(id, d, 3, at5, proof);
        // The honest proof of section 0 wins.
        proof = abi.encode(genesisState, uint64(0));
        vm.prank(alice);
        game.prove(id, d, 0, at1, proof);
        assertTrue(game.game(id).outcome == IRefutationGame.Outcome.DefenderWon);
    }

    function test_moves_refuseReplaysTurnsAndEndedGames() public {
        Player memory a = _join(_honest(alice));
        Player memory b = _join(_evil(bob, 100_000, 50_000));
        (uint256 id, bytes32[] memory d0) = _start(b, a);
        (uint256 i, uint64 from, uint64 to) = _choose(a, d0, 0, 100_000);
        bytes32 claim = _stateAt(a, to);
        bytes32[] memory d1 = _dissection(a, from, to);
        vm.expectRevert(abi.encodeWithSelector(IRefutationGame.NotYourTurn.selector, alice, bob));
        vm.prank(bob);
        game.move(id, d0, i, claim, d1);
        vm.prank(alice);
        game.move(id, d0, i, claim, d1);
        // The same move again: out of turn, and once it is alice's turn again, stale.
        vm.expectRevert(abi.encodeWithSelector(IRefutationGame.NotYourTurn.selector, bob, alice));
        vm.prank(alice);
        game.move(id, d0, i, claim, d1);
        bytes32[] memory d2 = _step(id, b, d1);
        vm.expectRevert(
            abi.encodeWithSelector(
                IRefutationGame.StaleDissection.selector,
                keccak256(abi.encodePacked(d2)),
                keccak256(abi.encodePacked(d0))
            )
        );
        vm.prank(alice);
        game.move(id, d0, i, claim, d1);
        // An altered copy of the current dissection is refused the same way.
        bytes32[] memory forged = _dissection(b, game.game(id).start, game.game(id).end);
        forged[1] = keccak256("forged");
        vm.expectRevert(
            abi.encodeWithSelector(
                IRefutationGame.StaleDissection.selector,
                keccak256(abi.encodePacked(d2)),
                keccak256(abi.encodePacked(forged))
            )
        );
        vm.prank(alice);
        game.move(id, forged, 0, claim, d1);
        _play(id, b, a, d2);
        vm.expectRevert(abi.encodeWithSelector(IRefutationGame.GameOver.selector, id));
        vm.prank(alice);
        game.move(id, d2, 0, claim, d1);
        vm.expectRevert(abi.encodeWithSelector(IRefutationGame.UnknownGame.selector, 99));
        game.timeout(99);
    }

    // ---------------------------------------------------------------- the defender's header

    function test_defenderHeader_revealedLater() public {
        Player memory a = _join(_honest(alice));
        Player memory b = _join(_evil(bob, 1000, 500));
        bytes32[] memory d = _dissection(b, 0, 1000);
        IRefutationGame.Claim memory g = _genesisClaim();
        IRefutationGame.Claim memory theirs = _claim(a);
        theirs.header = "";
        vm.prank(bob);
        uint256 id = game.start(alice, g, _claim(b), theirs, d);
        assertTrue(game.game(id).defenderHeaderPending);
        (uint256 i, uint64 from, uint64 to) = _choose(a, d, 0, 1000);
        bytes32 claim = _stateAt(a, to);
        bytes32[] memory next = _dissection(a, from, to);
        vm.expectRevert(abi.encodeWithSelector(IRefutationGame.HeaderNotRevealed.selector, id));
        vm.prank(alice);
        game.move(id, d, i, claim, next);
        vm.expectRevert(abi.encodeWithSelector(IRefutationGame.HeaderMismatch.selector, a.c.stateHash, b.c.stateHash));
        game.revealDefenderHeader(id, b.header);
        vm.expectEmit(true, false, false, true, address(game));
        emit IRefutationGame.DefenderHeaderRevealed(id, a.header);
        game.revealDefenderHeader(id, a.header);
        assertFalse(game.game(id).defenderHeaderPending);
        vm.expectRevert(abi.encodeWithSelector(IRefutationGame.NoHeaderPending.selector, id));
        game.revealDefenderHeader(id, a.header);
        vm.prank(alice);
        game.move(id, d, i, claim, next);
        _playFrom(id, b, a, next, 0);
        assertTrue(game.game(id).outcome == IRefutationGame.Outcome.DefenderWon);
    }

    /// @notice A rival claiming the honest final state with other ticks ends on the same hash,
    /// so no dissection could dispute it; it has no header, so it loses on time.
    function test_defenderWithoutAValidHeader_losesOnTime() public {
        Player memory a = _join(_honest(alice));
        IRollup.Commitment memory same = IRollup.Commitment(_genesis(), a.c.stateHash, PERIOD, 2000);
        bytes32 bh = _stakeAndPublish(bob, same);
        bytes32[] memory d = _dissection(a, 0, 2000);
        IRefutationGame.Claim memory g = _genesisClaim();
        vm.prank(alice);
        uint256 id = game.start(bob, g, _claim(a), IRefutationGame.Claim(same, ""), d);
        assertEq(game.gameBetween(a.hash, bh), id);
        vm.expectRevert(abi.encodeWithSelector(IRefutationGame.HeaderTickMismatch.selector, 2000, 1000));
        game.revealDefenderHeader(id, a.header);
        vm.roll(block.number + CLOCK + 1);
        game.timeout(id);
        assertTrue(game.game(id).outcome == IRefutationGame.Outcome.ChallengerWon);
        assertEq(rollup.claimable(alice), STAKE / 2);
    }

    // ---------------------------------------------------------------- several games

    function test_severalGames_onePerPairOfCommitments() public {
        Player memory a = _join(_honest(alice));
        Player memory b = _join(_evil(bob, 1000, 500));
        Player memory c = _join(_evil(carol, 2000, 10));
        (uint256 g1, bytes32[] memory d1) = _start(b, a);
        (uint256 g2, bytes32[] memory d2) = _start(c, a);
        assertEq(game.gamesOf(alice).length, 2);
        assertEq(game.gamesOf(alice)[0], g1);
        assertEq(game.gamesOf(alice)[1], g2);
        // dave stakes on bob's commitment: the same pair, while bob's game runs.
        _stakeAndPublish(dave, b.c);
        vm.expectRevert(abi.encodeWithSelector(IRefutationGame.GameExists.selector, g1));
        vm.prank(dave);
        game.start(alice, _genesisClaim(), _claim(b), _claim(a), d1);
        bytes32[] memory da = _dissection(a, 0, 1000);
        vm.expectRevert(abi.encodeWithSelector(IRefutationGame.GameExists.selector, g1));
        vm.prank(alice);
        game.start(bob, _genesisClaim(), _claim(a), _claim(b), da);
        // Interleaved moves.
        d1 = _step(g1, a, d1);
        d2 = _step(g2, a, d2);
        _playFrom(g1, b, a, d1, 0);
        _playFrom(g2, c, a, d2, 0);
        assertTrue(game.game(g1).outcome == IRefutationGame.Outcome.DefenderWon);
        assertTrue(game.game(g2).outcome == IRefutationGame.Outcome.DefenderWon);
        assertEq(rollup.claimable(alice), STAKE);
        // Now dave, still staked on bob's commitment, may play over the same pair.
        b.who = dave;
        (uint256 g3, bytes32[] memory d3) = _start(b, a);
        _play(g3, b, a, d3);
        assertTrue(game.game(g3).outcome == IRefutationGame.Outcome.DefenderWon);
        vm.roll(block.number + WINDOW);
        rollup.cement(a.c);
    }

    function test_tooManyGames_perStaker() public {
        Player memory a = _join(_honest(alice));
        uint256 max = game.MAX_GAMES_PER_STAKER();
        for (uint256 j = 0; j < max; j++) {
            Player memory e = _join(_evil(address(uint160(0xE000 + j)), 1000, 1 + uint64(j)));
            _start(e, a);
        }
        assertEq(game.gamesOf(alice).length, max);
        Player memory last = _join(_evil(address(uint160(0xE000 + max)), 1000, 999));
        bytes32[] memory d = _dissection(last, 0, 1000);
        IRefutationGame.Claim memory g = _genesisClaim();
        vm.expectRevert(abi.encodeWithSelector(IRefutationGame.TooManyGames.selector, alice));
        vm.prank(last.who);
        game.start(alice, g, _claim(last), _claim(a), d);
        // alice as challenger is bounded the same way.
        d = _dissection(a, 0, 1000);
        vm.expectRevert(abi.encodeWithSelector(IRefutationGame.TooManyGames.selector, alice));
        vm.prank(alice);
        game.start(last.who, g, _claim(a), _claim(last), d);
    }

    function test_playerSlashedInAnotherGame_endsThisOneWithoutReward() public {
        Player memory a = _join(_honest(alice));
        Player memory b = _join(_evil(bob, 1000, 500));
        Player memory c = _join(_evil(carol, 1000, 10));
        (uint256 g1, bytes32[] memory d1) = _start(a, b);
        (uint256 g2, bytes32[] memory d2) = _start(c, b);
        vm.expectRevert(abi.encodeWithSelector(IRefutationGame.NothingForfeited.selector, g2));
        game.forfeit(g2);
        _play(g1, a, b, d1); // bob loses his stake to alice
        (uint256 i, uint64 from, uint64 to) = _choose(b, d2, 0, 1000);
        bytes32 claim = _stateAt(b, to);
        bytes32[] memory next = _dissection(b, from, to);
        vm.expectRevert(abi.encodeWithSelector(IRefutationGame.StakeGone.selector, bob));
        vm.prank(bob);
        game.move(g2, d2, i, claim, next);
        // bob stakes again (a new stake): the game was about the old one.
        _stakeAndPublish(bob, IRollup.Commitment(_genesis(), keccak256("bob again"), PERIOD, 1));
        (, uint256 stakedBefore,,) = rollup.accounting();
        vm.expectEmit(true, false, false, true, address(game));
        emit IRefutationGame.GameEnded(g2, IRefutationGame.Outcome.ChallengerWon, IRefutationGame.EndReason.Forfeit);
        vm.prank(dave);
        game.forfeit(g2);
        (, uint256 stakedAfter,,) = rollup.accounting();
        assertEq(stakedAfter, stakedBefore, "no stake moves");
        assertEq(rollup.claimable(carol), 0, "no second reward");
        (uint64 bobId,,) = rollup.staker(bob);
        assertTrue(bobId != 0, "bob's new stake is untouched");
        assertEq(game.gamesOf(carol).length, 0);
        assertEq(game.gamesOf(bob).length, 0);
    }

    /// @notice `timeout` on a game with a gone player forfeits it, even past the remaining
    /// player's clock.
    function test_timeout_ofAGameWithAGonePlayer_isAForfeit() public {
        Player memory a = _join(_honest(alice));
        Player memory c = _join(_evil(carol, 1000, 10));
        Player memory e = _join(_evil(dave, 1000, 20));
        (uint256 g3,) = _start(e, c);
        (uint256 g4, bytes32[] memory d4) = _start(a, c);
        _play(g4, a, c, d4); // carol loses her stake to alice
        vm.roll(block.number + 3 * CLOCK);
        game.timeout(g3);
        assertTrue(game.game(g3).reason == IRefutationGame.EndReason.Forfeit);
        assertTrue(game.game(g3).outcome == IRefutationGame.Outcome.ChallengerWon);
        assertEq(rollup.claimable(dave), 0);
    }

    // ---------------------------------------------------------------- gas

    /// @notice Makes the next call pay for every account and slot it touches, as a transaction
    /// of its own would (the test's earlier calls warmed them).
    function _coolAll() internal {
        vm.cool(address(game));
        vm.cool(address(rollup));
        vm.cool(address(machine));
    }

    /// @notice What a transaction pays for its calldata (EIP-2028: 16 per non-zero byte, 4 per zero).
    function _calldataGas(bytes memory data) internal pure returns (uint256 g) {
        for (uint256 i = 0; i < data.length; i++) {
            g += data[i] == 0 ? 4 : 16;
        }
    }

    function _logProveCalldata(uint256 id, bytes32[] memory d, uint256 i, bytes32 claim, bytes memory proof)
        internal
        view
    {
        GasLog.log("  prove calldata gas", _calldataGas(abi.encodeCall(game.prove, (id, d, i, claim, proof))));
    }

    function _logMoveCalldata(uint256 id, bytes32[] memory d, uint256 i, bytes32 claim, bytes32[] memory next)
        internal
        view
    {
        GasLog.log("  move calldata gas", _calldataGas(abi.encodeCall(game.move, (id, d, i, claim, next))));
    }

    /// @notice `_step` with the gas of the game's call alone, accounts cold; logs the calldata.
    function _measuredStep(uint256 id, Player memory p, bytes32[] memory d)
        internal
        returns (bytes32[] memory next, uint256 used)
    {
        IRefutationGame.GameView memory v = game.game(id);
        (uint256 i, uint64 from, uint64 to) = _choose(p, d, v.start, v.end);
        bytes32 claim = _stateAt(p, to);
        uint256 before;
        if (to - from == 1) {
            bytes memory proof = abi.encode(genesisState, from);
            _logProveCalldata(id, d, i, claim, proof);
            _coolAll();
            vm.prank(p.who);
            before = gasleft();
            game.prove(id, d, i, claim, proof);
            return (next, before - gasleft());
        }
        next = _dissection(p, from, to);
        _logMoveCalldata(id, d, i, claim, next);
        _coolAll();
        vm.prank(p.who);
        before = gasleft();
        game.move(id, d, i, claim, next);
        used = before - gasleft();
    }

    function test_gas_ofEachMoveAndAWholeGame() public {
        _setHonest(1e12);
        Player memory a = _join(_honest(alice));
        Player memory b = _join(_evil(bob, 1e12, 777_777_777_777));
        bytes32[] memory d = _dissection(b, 0, 1e12);
        IRefutationGame.Claim memory g = _genesisClaim();
        IRefutationGame.Claim memory mine = _claim(b);
        IRefutationGame.Claim memory theirs = _claim(a);
        GasLog.log("  start calldata gas", _calldataGas(abi.encodeCall(game.start, (alice, g, mine, theirs, d))));
        _coolAll();
        vm.prank(bob);
        uint256 before = gasleft();
        uint256 id = game.start(alice, g, mine, theirs, d);
        uint256 total = before - gasleft();
        GasLog.log("start (k = 32, both headers)", total);
        uint256[2] memory acc; // gas of the dissecting moves, their number
        uint256 turn = 1;
        while (true) {
            (bytes32[] memory next, uint256 used) = _measuredStep(id, turn == 0 ? b : a, d);
            total += used;
            if (next.length == 0) {
                GasLog.log("prove (toy verifier) + settle", used);
                break;
            }
            acc[0] += used;
            acc[1]++;
            d = next;
            turn = 1 - turn;
        }
        GasLog.log("move (pick + dissect, k = 32), average", acc[0] / acc[1]);
        GasLog.log("moves", acc[1] + 2);
        GasLog.log("whole game over 10^12 ticks, execution", total);
        // A timeout.
        Player memory c = _join(_evil(carol, 1e12, 5));
        (uint256 id2,) = _start(c, a);
        vm.roll(block.number + CLOCK + 1);
        _coolAll();
        before = gasleft();
        game.timeout(id2);
        GasLog.log("timeout + settle", before - gasleft());
    }
}
