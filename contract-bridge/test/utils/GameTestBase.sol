// SPDX-License-Identifier: MIT OR Apache-2.0
pragma solidity ^0.8.30;

import {RollupTestBase} from "./RollupTestBase.sol";
import {ToyMachine} from "./ToyMachine.sol";
import {IRollup} from "../../src/rollup/IRollup.sol";
import {Rollup} from "../../src/Rollup.sol";
import {RollupFactory} from "../../src/RollupFactory.sol";
import {RefutationGame} from "../../src/game/RefutationGame.sol";
import {IRefutationGame} from "../../src/game/IRefutationGame.sol";

/// @notice A rollup whose game resolver is a RefutationGame judged by the toy machine, and
/// players that follow a trace: the honest one, or one that leaves it at `divergeAt` (and ends
/// on its own final state after `ticks`). Headers and points are written from docs/pvm.md and
/// docs/contracts.md, independently of the contract.
abstract contract GameTestBase is RollupTestBase {
    RefutationGame internal game;
    ToyMachine internal machine;
    bytes internal genesisHeader;
    bytes32 internal genesisState;
    uint64 internal honestTicks;
    uint256 internal constant K = 32; // the rollup's sectionsPerDissection (RollupTestBase)
    uint64 internal constant CLOCK = 50; // its timeoutPerPlayer
    uint64 internal constant HONEST = type(uint64).max;

    struct Player {
        address who;
        uint64 ticks;
        uint64 divergeAt;
        bytes header;
        IRollup.Commitment c;
        bytes32 hash;
    }

    function _deployGame() internal {
        machine = new ToyMachine();
        genesisHeader = _hdr(0, 0, keccak256("genesis durable"), keccak256("genesis outbox"));
        genesisState = _state(0, 0, keccak256("genesis durable"), keccak256("genesis outbox"));
        IRollup.Config memory c = _config();
        c.genesisStateHash = genesisState;
        c.gameResolver = address(0);
        // The production path: the factory deploys the rollup's game, judged by its verifier.
        factory = new RollupFactory(address(machine));
        rollup = Rollup(payable(factory.originate(c, bytes32("game"))));
        game = RefutationGame(rollup.config().gameResolver);
        require(address(game).code.length != 0, "game deployed");
        tipHash = START_HASH;
        tipHeight = START_HEIGHT;
    }

    // ---------------------------------------------------------------- states and headers

    function _hdr(uint32 level, uint64 tick, bytes32 durable, bytes32 outbox) internal pure returns (bytes memory) {
        return abi.encodePacked(level, tick, durable, outbox, uint8(0));
    }

    function _state(uint32 level, uint64 tick, bytes32 durable, bytes32 outbox) internal pure returns (bytes32) {
        bytes32 pvmRoot =
            keccak256(abi.encodePacked(keccak256("rollup.pvm.state.v1"), uint8(0), level, tick, durable, bytes32(0)));
        return keccak256(abi.encodePacked(pvmRoot, outbox));
    }

    /// @notice Makes `ticks` the honest trace's length from genesis (its final state at PERIOD).
    function _setHonest(uint64 ticks) internal {
        honestTicks = ticks;
        machine.setTrace(genesisState, PERIOD, ticks, _finalOf("honest", ticks));
    }

    function _finalOf(string memory tag, uint64 ticks) internal pure returns (bytes32) {
        return _state(PERIOD, ticks, keccak256(abi.encode(tag, "durable")), keccak256(abi.encode(tag, "outbox")));
    }

    function _honest(address who) internal view returns (Player memory) {
        return _make(who, "honest", honestTicks, HONEST);
    }

    /// @notice A player whose claims leave the honest trace at `divergeAt` (at most `ticks`).
    function _evil(address who, uint64 ticks, uint64 divergeAt) internal pure returns (Player memory) {
        return _make(who, string(abi.encodePacked("evil ", who)), ticks, divergeAt);
    }

    function _make(address who, string memory tag, uint64 ticks, uint64 divergeAt)
        internal
        pure
        returns (Player memory p)
    {
        bytes32 durable = keccak256(abi.encode(tag, "durable"));
        bytes32 outbox = keccak256(abi.encode(tag, "outbox"));
        p.who = who;
        p.ticks = ticks;
        p.divergeAt = divergeAt;
        p.header = _hdr(PERIOD, ticks, durable, outbox);
        p.c = IRollup.Commitment(bytes32(0), _state(PERIOD, ticks, durable, outbox), PERIOD, ticks);
    }

    /// @notice Stakes `p` on its commitment after the genesis commitment.
    function _join(Player memory p) internal returns (Player memory) {
        p.c.predecessor = _genesis();
        p.hash = _stakeAndPublish(p.who, p.c);
        return p;
    }

    function _stateAt(Player memory p, uint64 t) internal view returns (bytes32) {
        if (t < p.divergeAt) return machine.stateAt(genesisState, t);
        if (t >= p.ticks) return p.c.stateHash;
        return keccak256(abi.encode("evil", p.who, t));
    }

    function _genesisClaim() internal view returns (IRefutationGame.Claim memory) {
        return IRefutationGame.Claim(IRollup.Commitment(bytes32(0), genesisState, 0, 0), genesisHeader);
    }

    function _claim(Player memory p) internal pure returns (IRefutationGame.Claim memory) {
        return IRefutationGame.Claim(p.c, p.header);
    }

    // ---------------------------------------------------------------- dissections

    function _n(uint64 s, uint64 e) internal pure returns (uint256) {
        return e - s < K ? e - s : K;
    }

    function _pt(uint64 s, uint64 e, uint256 i) internal pure returns (uint64) {
        return s + uint64((uint256(e - s) * i) / _n(s, e));
    }

    function _dissection(Player memory p, uint64 s, uint64 e) internal view returns (bytes32[] memory d) {
        uint256 n = _n(s, e);
        d = new bytes32[](n + 1);
        for (uint256 i = 0; i <= n; i++) {
            d[i] = _stateAt(p, _pt(s, e, i));
        }
    }

    function _max(uint64 a, uint64 b) internal pure returns (uint64) {
        return a > b ? a : b;
    }

    function _start(Player memory ch, Player memory de) internal returns (uint256 id, bytes32[] memory d) {
        d = _dissection(ch, 0, _max(ch.ticks, de.ticks));
        IRefutationGame.Claim memory g = _genesisClaim();
        vm.prank(ch.who);
        id = game.start(de.who, g, _claim(ch), _claim(de), d);
    }

    /// @notice The first section of `d` over `[s, e]` whose end `p` disputes.
    function _choose(Player memory p, bytes32[] memory d, uint64 s, uint64 e)
        internal
        view
        returns (uint256 i, uint64 from, uint64 to)
    {
        uint256 n = _n(s, e);
        for (i = 0; i < n; i++) {
            if (d[i + 1] != _stateAt(p, _pt(s, e, i + 1))) return (i, _pt(s, e, i), _pt(s, e, i + 1));
        }
        revert("nothing disputed");
    }

    /// @notice One move of `p` against the current dissection `d`: pick and dissect, or prove.
    /// Returns the new dissection (empty after a proof).
    function _step(uint256 id, Player memory p, bytes32[] memory d) internal returns (bytes32[] memory next) {
        IRefutationGame.GameView memory v = game.game(id);
        (uint256 i, uint64 from, uint64 to) = _choose(p, d, v.start, v.end);
        bytes32 claim = _stateAt(p, to);
        if (to - from == 1) {
            bytes memory proof = abi.encode(genesisState, from);
            vm.prank(p.who);
            game.prove(id, d, i, claim, proof);
            return next;
        }
        next = _dissection(p, from, to);
        vm.prank(p.who);
        game.move(id, d, i, claim, next);
    }

    /// @notice Plays a started game to its end; returns the moves of each player (the
    /// challenger's `start` is its first).
    function _play(uint256 id, Player memory ch, Player memory de, bytes32[] memory d)
        internal
        returns (uint256[2] memory moves)
    {
        moves = _playFrom(id, ch, de, d, 1);
        moves[0]++;
    }

    /// @notice Plays a game to its end from a position where player `turn` (0 challenger, 1
    /// defender) is to move against dissection `d`; returns the moves each made.
    function _playFrom(uint256 id, Player memory ch, Player memory de, bytes32[] memory d, uint256 turn)
        internal
        returns (uint256[2] memory moves)
    {
        while (game.game(id).outcome == IRefutationGame.Outcome.Running) {
            d = _step(id, turn == 0 ? ch : de, d);
            moves[turn]++;
            turn = 1 - turn;
        }
    }
}
