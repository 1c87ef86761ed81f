// SPDX-License-Identifier: MIT OR Apache-2.0
pragma solidity ^0.8.30;

import {IRollup} from "../rollup/IRollup.sol";
import {IOneStepProof} from "../osp/IOneStepProof.sol";
import {ProtocolCodec} from "../ProtocolCodec.sol";
import {IRefutationGame, IGameDeployer} from "./IRefutationGame.sol";

/// @title RefutationGame
/// @notice The refutation game of one rollup (docs/contracts.md, "Refutation game"): two stakers
/// on rival commitments dissect the ticks between their common predecessor and their claims,
/// k sections at a time, until they dispute one tick, which the one-step verifier executes. The
/// loser's stake is taken through the rollup's `settleGame`, which only this contract may call,
/// so nothing but a game's outcome moves a stake.
/// @dev Turn order: the challenger's `start` is its first dissection; from then on every move
/// picks a section of the opponent's last dissection and either dissects it (`move`) or, if it is
/// one tick, proves it (`prove`). Storage keeps a hash of the last dissection; the hashes are in
/// the `Dissected` events and the next move gives them back.
contract RefutationGame is IRefutationGame {
    /// @notice Games a staker may play at once (Tezos's bound). Each game needs moves from the
    /// staker within its clock; the bound keeps a flood of challengers from exhausting an honest
    /// staker's ability to answer them all in time.
    uint256 public constant MAX_GAMES_PER_STAKER = 32;

    /// @dev docs/pvm.md 9.5: `u32 level ‖ u64 tick ‖ durable_root ‖ outbox_root ‖ u8 status`.
    uint256 internal constant HEADER_LENGTH = 77;
    bytes32 internal constant STATE_TAG = keccak256("rollup.pvm.state.v1");

    /// @notice The one rollup whose stakes this game settles.
    IRollup public immutable ROLLUP;
    /// @notice The judge of the last move, fixed so that no one can change how games end.
    IOneStepProof public immutable VERIFIER;
    /// @notice k: sections per dissection (the rollup's `sectionsPerDissection`).
    uint256 public immutable SECTIONS_PER_DISSECTION;
    /// @notice L1 blocks on each player's clock (the rollup's `timeoutPerPlayer`).
    uint64 public immutable TIMEOUT_PER_PLAYER;

    struct Game {
        address[2] players; // 0 challenger, 1 defender
        uint64[2] stakerIds; // the stakes the game is about: a new stake of the same address is another
        uint64[2] clocks; // blocks left, as of `lastMoveAt`
        bytes32[2] commitments;
        bytes32 dissectionHash; // keccak of the last dissection, over [start, end]
        uint64 start;
        uint64 end;
        uint64 lastMoveAt;
        uint32 inboxLevel;
        uint8 turn;
        Outcome outcome;
        EndReason reason;
        bool defenderHeaderPending; // the defender must reveal its header before it moves
    }

    struct PendingHeader {
        bytes32 stateHash;
        uint256 tick;
    }

    /// @notice Games started so far; ids are 1 ..= gameCount.
    uint256 public gameCount;
    mapping(uint256 => Game) internal _games;
    mapping(bytes32 => uint256) internal _runningFor; // pair of rival commitments => running game
    mapping(address => uint256[]) internal _gamesOf; // running games of a player
    mapping(uint256 => PendingHeader) internal _pendingHeader; // what the defender's header must show

    /// @notice Binds the game to the rollup and the one-step verifier its deployer names
    /// (`IGameDeployer.gameParameters`). The rollup must already name this address as its game
    /// resolver, so every outcome can be settled.
    constructor() {
        (address rollup, address verifier) = IGameDeployer(msg.sender).gameParameters();
        IRollup.Config memory c = IRollup(rollup).config();
        if (c.gameResolver != address(this)) revert NotRollupResolver(c.gameResolver);
        if (verifier.code.length == 0) revert VerifierWithoutCode(verifier);
        ROLLUP = IRollup(rollup);
        VERIFIER = IOneStepProof(verifier);
        SECTIONS_PER_DISSECTION = c.sectionsPerDissection;
        TIMEOUT_PER_PLAYER = c.timeoutPerPlayer;
    }

    // ---------------------------------------------------------------- moves

    /// @notice Opens a game of `msg.sender` (the challenger) against `defender` over the
    /// commitments where their chains fork, with the challenger's first dissection of the ticks
    /// `[0, max(ticks)]`. The headers prove each commitment's state is the end of its level at the
    /// right tick count; a commitment without one is not valid and cannot be defended. The
    /// defender's header may be left empty (only the defender may know it): the defender must
    /// then `revealDefenderHeader` before it moves, on its own clock.
    function start(
        address defender,
        Claim calldata predecessor,
        Claim calldata mine,
        Claim calldata theirs,
        bytes32[] calldata dissection
    ) external returns (uint256 gameId) {
        Opening memory o;
        o.defender = defender;
        o.ids = [_stakerId(msg.sender), _stakerId(defender)];
        uint64 predTick;
        (o.challengerCommitment, o.defenderCommitment, predTick) = _checkRivals(defender, predecessor, mine, theirs);
        o.ticks = mine.commitment.numberOfTicks;
        if (theirs.commitment.numberOfTicks > o.ticks) o.ticks = theirs.commitment.numberOfTicks;
        o.inboxLevel = mine.commitment.inboxLevel;
        o.startState = predecessor.commitment.stateHash;
        _checkDissection(dissection, 0, o.ticks, o.startState, mine.commitment.stateHash);
        gameId = _open(o, _hashList(dissection));
        emit Dissected(gameId, msg.sender, 0, o.ticks, dissection);
        _defenderHeader(gameId, theirs, predTick);
    }

    /// @notice Gives the defender's final-state header when `start` could not: only the defender
    /// may have it (a commitment without one is invalid, and its defender then cannot move and
    /// loses on time). Anyone may give it; it does not use a turn.
    function revealDefenderHeader(uint256 gameId, bytes calldata header) external {
        Game storage g = _games[gameId];
        _requireRunning(gameId, g);
        if (!g.defenderHeaderPending) revert NoHeaderPending(gameId);
        PendingHeader memory p = _pendingHeader[gameId];
        _checkFinalHeader(header, p.stateHash, g.inboxLevel, p.tick);
        g.defenderHeaderPending = false;
        delete _pendingHeader[gameId];
        emit DefenderHeaderRevealed(gameId, header);
    }

    /// @notice One move: agree with the start of section `section` of the opponent's current
    /// `dissection`, claim `claim` at its end (which the opponent's dissection disputes) and post
    /// `next`, the mover's dissection of that section. Sections of one tick are proven instead.
    function move(
        uint256 gameId,
        bytes32[] calldata dissection,
        uint256 section,
        bytes32 claim,
        bytes32[] calldata next
    ) external {
        Game storage g = _games[gameId];
        _takeTurn(gameId, g);
        (uint64 s, uint64 e, bytes32 agreed,) = _pick(g, dissection, section, claim);
        if (e - s == 1) revert SectionIsOneTick(section);
        _checkDissection(next, s, e, agreed, claim);
        g.dissectionHash = _hashList(next);
        g.start = s;
        g.end = e;
        emit SectionChosen(gameId, msg.sender, section, claim);
        emit Dissected(gameId, msg.sender, s, e, next);
    }

    /// @notice The last move: section `section` of the opponent's `dissection` is one tick; the
    /// verifier executes it from the agreed start with `proof`. A result equal to the mover's
    /// `claim` refutes the opponent; equal to the opponent's, it refutes the mover; equal to
    /// neither, both claims were wrong and both lose.
    function prove(uint256 gameId, bytes32[] calldata dissection, uint256 section, bytes32 claim, bytes calldata proof)
        external
    {
        Game storage g = _games[gameId];
        uint256 me = _takeTurn(gameId, g);
        (uint64 s, uint64 e, bytes32 agreed, bytes32 theirs) = _pick(g, dissection, section, claim);
        if (e - s != 1) revert SectionNotOneTick(section, e - s);
        bytes32 post = VERIFIER.step(address(ROLLUP), g.inboxLevel, agreed, proof);
        emit SectionChosen(gameId, msg.sender, section, claim);
        emit StepProven(gameId, msg.sender, s, post);
        Outcome o;
        if (post == claim) o = me == 0 ? Outcome.ChallengerWon : Outcome.DefenderWon;
        else if (post == theirs) o = me == 0 ? Outcome.DefenderWon : Outcome.ChallengerWon;
        else o = Outcome.BothLost;
        _end(gameId, g, o, EndReason.Proof, true);
    }

    /// @notice Ends a game whose player to move let its clock run out: that player loses.
    /// Anyone may call it. A game where a player lost its stake elsewhere ends as a forfeit
    /// instead, so the remaining player is never slashed for a clock that ran while its opponent
    /// was already gone.
    function timeout(uint256 gameId) external {
        Game storage g = _games[gameId];
        _requireRunning(gameId, g);
        if (_forfeited(gameId, g)) return;
        uint256 mover = g.turn;
        uint256 deadline = uint256(g.lastMoveAt) + g.clocks[mover];
        if (block.number <= deadline) revert ClockRunning(deadline);
        _end(gameId, g, mover == 0 ? Outcome.DefenderWon : Outcome.ChallengerWon, EndReason.Timeout, true);
    }

    /// @notice Ends a game in which another game took a player's stake: the remaining player
    /// wins (both lose if both stakes are gone). Nobody is slashed or rewarded by this game: the
    /// stake it was about is already settled. Anyone may call it.
    function forfeit(uint256 gameId) external {
        Game storage g = _games[gameId];
        _requireRunning(gameId, g);
        if (!_forfeited(gameId, g)) revert NothingForfeited(gameId);
    }

    // ---------------------------------------------------------------- views

    /// @notice One game as players and nodes need it.
    function game(uint256 gameId) external view returns (GameView memory v) {
        Game storage g = _games[gameId];
        v.challenger = g.players[0];
        v.defender = g.players[1];
        v.challengerCommitment = g.commitments[0];
        v.defenderCommitment = g.commitments[1];
        v.inboxLevel = g.inboxLevel;
        v.start = g.start;
        v.end = g.end;
        v.dissectionHash = g.dissectionHash;
        v.challengerClock = g.clocks[0];
        v.defenderClock = g.clocks[1];
        v.lastMoveAt = g.lastMoveAt;
        v.outcome = g.outcome;
        v.reason = g.reason;
        v.defenderHeaderPending = g.defenderHeaderPending;
        if (g.outcome == Outcome.Running) {
            v.toMove = g.players[g.turn];
            uint256 elapsed = block.number - g.lastMoveAt;
            uint64 left = g.clocks[g.turn];
            left = elapsed >= left ? 0 : left - uint64(elapsed);
            if (g.turn == 0) v.challengerClock = left;
            else v.defenderClock = left;
        }
    }

    /// @notice The running games of `player`.
    function gamesOf(address player) external view returns (uint256[] memory) {
        return _gamesOf[player];
    }

    /// @notice The running game over two rival commitments (either order), 0 if none.
    function gameBetween(bytes32 commitmentA, bytes32 commitmentB) external view returns (uint256) {
        return _runningFor[_pairKey(commitmentA, commitmentB)];
    }

    /// @notice The ticks at which a dissection of `[start, end]` claims states:
    /// `start + (end - start) * i / n` for `i = 0 ..= n`, `n = min(k, end - start)`.
    function dissectionPoints(uint64 start_, uint64 end_) external view returns (uint64[] memory p) {
        uint256 n = _sections(start_, end_);
        p = new uint64[](n + 1);
        for (uint256 i = 0; i <= n; i++) {
            p[i] = _point(start_, end_, n, i);
        }
    }

    // ---------------------------------------------------------------- internals

    /// @dev What `start` checked, for `_open`.
    struct Opening {
        address defender;
        uint64[2] ids;
        bytes32 challengerCommitment;
        bytes32 defenderCommitment;
        uint64 ticks;
        uint32 inboxLevel;
        bytes32 startState;
    }

    /// @dev Records a new game, the challenger's dissection of `[0, ticks]` made, the defender
    /// to move.
    function _open(Opening memory o, bytes32 dissectionHash) internal returns (uint256 gameId) {
        bytes32 key = _pairKey(o.challengerCommitment, o.defenderCommitment);
        if (_runningFor[key] != 0) revert GameExists(_runningFor[key]);
        if (_gamesOf[msg.sender].length >= MAX_GAMES_PER_STAKER) revert TooManyGames(msg.sender);
        if (_gamesOf[o.defender].length >= MAX_GAMES_PER_STAKER) revert TooManyGames(o.defender);
        gameId = ++gameCount;
        Game storage g = _games[gameId];
        g.players = [msg.sender, o.defender];
        g.stakerIds = o.ids;
        g.clocks = [TIMEOUT_PER_PLAYER, TIMEOUT_PER_PLAYER];
        g.commitments = [o.challengerCommitment, o.defenderCommitment];
        g.dissectionHash = dissectionHash;
        g.end = o.ticks;
        g.lastMoveAt = uint64(block.number);
        g.inboxLevel = o.inboxLevel;
        g.turn = 1;
        g.outcome = Outcome.Running;
        _runningFor[key] = gameId;
        _gamesOf[msg.sender].push(gameId);
        _gamesOf[o.defender].push(gameId);
        emit GameStarted(
            gameId,
            msg.sender,
            o.defender,
            o.challengerCommitment,
            o.defenderCommitment,
            o.startState,
            o.ticks,
            o.inboxLevel
        );
    }

    /// @dev Checks the defender's header now if the challenger gave it, else records what it
    /// must prove for `revealDefenderHeader`.
    function _defenderHeader(uint256 gameId, Claim calldata theirs, uint64 predTick) internal {
        uint256 tick = uint256(predTick) + theirs.commitment.numberOfTicks;
        if (theirs.header.length != 0) {
            _checkFinalHeader(theirs.header, theirs.commitment.stateHash, theirs.commitment.inboxLevel, tick);
            emit DefenderHeaderRevealed(gameId, theirs.header);
        } else {
            _games[gameId].defenderHeaderPending = true;
            _pendingHeader[gameId] = PendingHeader(theirs.commitment.stateHash, tick);
        }
    }

    function _stakerId(address account) internal view returns (uint64 id) {
        (id,,) = ROLLUP.staker(account);
        if (id == 0) revert NotAStaker(account);
    }

    /// @dev The rivals are where the players' chains fork (so they are alive, known, staked by
    /// the right player and share the predecessor), with valid final headers.
    function _checkRivals(address defender, Claim calldata predecessor, Claim calldata mine, Claim calldata theirs)
        internal
        view
        returns (bytes32 hc, bytes32 hd, uint64 predTick)
    {
        hc = _commitmentHash(mine.commitment);
        hd = _commitmentHash(theirs.commitment);
        (bytes32 ofC, bytes32 ofD) = ROLLUP.conflictPoint(msg.sender, defender);
        if (ofC != hc || ofD != hd) revert NotConflictPoint(ofC, ofD);
        bytes32 hp = _commitmentHash(predecessor.commitment);
        if (mine.commitment.predecessor != hp) revert WrongPredecessor(mine.commitment.predecessor, hp);
        predTick = _checkHeader(predecessor.header, predecessor.commitment.stateHash, predecessor.commitment.inboxLevel);
        _checkFinalHeader(
            mine.header,
            mine.commitment.stateHash,
            mine.commitment.inboxLevel,
            uint256(predTick) + mine.commitment.numberOfTicks
        );
    }

    function _checkFinalHeader(bytes calldata h, bytes32 stateHash, uint32 level, uint256 tick) internal pure {
        uint64 got = _checkHeader(h, stateHash, level);
        if (got != tick) revert HeaderTickMismatch(tick, got);
    }

    /// @dev Checks that `h` is a status-0 header of `level` hashing to `stateHash` (docs/pvm.md
    /// 6 and 9.5) and returns its tick counter.
    function _checkHeader(bytes calldata h, bytes32 stateHash, uint32 level) internal pure returns (uint64 tick) {
        if (h.length != HEADER_LENGTH) revert BadHeaderLength(h.length);
        uint8 status = uint8(h[76]);
        if (status != 0) revert HeaderNotFinal(status);
        uint32 headerLevel = uint32(bytes4(h[0:4]));
        tick = uint64(bytes8(h[4:12]));
        bytes32 pvmRoot = keccak256(abi.encodePacked(STATE_TAG, uint8(0), h[0:44], bytes32(0)));
        bytes32 state = keccak256(abi.encodePacked(pvmRoot, h[44:76]));
        if (state != stateHash) revert HeaderMismatch(stateHash, state);
        if (headerLevel != level) revert HeaderLevelMismatch(level, headerLevel);
    }

    function _commitmentHash(IRollup.Commitment calldata c) internal pure returns (bytes32) {
        return ProtocolCodec.commitmentHash(c.predecessor, c.stateHash, c.inboxLevel, c.numberOfTicks);
    }

    function _pairKey(bytes32 a, bytes32 b) internal pure returns (bytes32) {
        return a < b ? keccak256(abi.encodePacked(a, b)) : keccak256(abi.encodePacked(b, a));
    }

    function _hashList(bytes32[] calldata list) internal pure returns (bytes32) {
        return keccak256(abi.encodePacked(list));
    }

    function _sections(uint64 s, uint64 e) internal view returns (uint256) {
        uint256 len = e - s;
        return len < SECTIONS_PER_DISSECTION ? len : SECTIONS_PER_DISSECTION;
    }

    function _point(uint64 s, uint64 e, uint256 n, uint256 i) internal pure returns (uint64) {
        return s + uint64((uint256(e - s) * i) / n);
    }

    /// @dev A dissection of `[s, e]`: one hash per point, the first the agreed start, the last
    /// the mover's claim.
    function _checkDissection(bytes32[] calldata d, uint64 s, uint64 e, bytes32 agreed, bytes32 claim) internal view {
        uint256 expected = _sections(s, e) + 1;
        if (d.length != expected) revert WrongDissectionLength(expected, d.length);
        if (d[0] != agreed) revert DissectionStartMismatch(agreed, d[0]);
        if (d[expected - 1] != claim) revert DissectionEndMismatch(claim, d[expected - 1]);
    }

    /// @dev Section `section` of the current dissection (given back as `d`, checked against the
    /// stored hash, so old or altered moves are refused): its ticks, its agreed start and the
    /// opponent's claim at its end, which `claim` must dispute.
    function _pick(Game storage g, bytes32[] calldata d, uint256 section, bytes32 claim)
        internal
        view
        returns (uint64 s, uint64 e, bytes32 agreed, bytes32 theirs)
    {
        bytes32 h = _hashList(d);
        if (h != g.dissectionHash) revert StaleDissection(g.dissectionHash, h);
        uint64 s0 = g.start;
        uint64 e0 = g.end;
        uint256 n = _sections(s0, e0);
        if (section >= n) revert SectionOutOfRange(section, n);
        theirs = d[section + 1];
        if (claim == theirs) revert SectionNotDisputed(section);
        agreed = d[section];
        s = _point(s0, e0, n, section);
        e = _point(s0, e0, n, section + 1);
    }

    function _requireRunning(uint256 gameId, Game storage g) internal view {
        Outcome o = g.outcome;
        if (o == Outcome.None) revert UnknownGame(gameId);
        if (o != Outcome.Running) revert GameOver(gameId);
    }

    /// @dev The caller's turn, in time, with both stakes in place; charges its clock and passes
    /// the turn. Returns the mover's index.
    function _takeTurn(uint256 gameId, Game storage g) internal returns (uint256 me) {
        _requireRunning(gameId, g);
        me = g.turn;
        address mover = g.players[me];
        if (msg.sender != mover) revert NotYourTurn(mover, msg.sender);
        if (me == 1 && g.defenderHeaderPending) revert HeaderNotRevealed(gameId);
        uint256 elapsed = block.number - g.lastMoveAt;
        uint64 left = g.clocks[me];
        if (elapsed > left) revert OutOfTime(uint256(g.lastMoveAt) + left);
        for (uint256 i = 0; i < 2; i++) {
            if (!_stillStaked(g, i)) revert StakeGone(g.players[i]);
        }
        g.clocks[me] = left - uint64(elapsed);
        g.lastMoveAt = uint64(block.number);
        g.turn = uint8(1 - me);
    }

    function _stillStaked(Game storage g, uint256 i) internal view returns (bool) {
        (uint64 id,,) = ROLLUP.staker(g.players[i]);
        return id == g.stakerIds[i];
    }

    /// @dev Ends the game as a forfeit if a player's stake is gone; says whether it did.
    function _forfeited(uint256 gameId, Game storage g) internal returns (bool) {
        bool challengerIn = _stillStaked(g, 0);
        bool defenderIn = _stillStaked(g, 1);
        if (challengerIn && defenderIn) return false;
        Outcome o = challengerIn ? Outcome.ChallengerWon : defenderIn ? Outcome.DefenderWon : Outcome.BothLost;
        _end(gameId, g, o, EndReason.Forfeit, false);
        return true;
    }

    /// @dev Records the outcome, frees the pair and the players' game slots, then (unless the
    /// stakes are already gone) has the rollup take the losers' stakes.
    function _end(uint256 gameId, Game storage g, Outcome o, EndReason r, bool settle) internal {
        g.outcome = o;
        g.reason = r;
        address challenger = g.players[0];
        address defender = g.players[1];
        delete _runningFor[_pairKey(g.commitments[0], g.commitments[1])];
        _unlist(challenger, gameId);
        _unlist(defender, gameId);
        emit GameEnded(gameId, o, r);
        if (!settle) return;
        if (o == Outcome.ChallengerWon) {
            ROLLUP.settleGame(defender, challenger);
        } else if (o == Outcome.DefenderWon) {
            ROLLUP.settleGame(challenger, defender);
        } else {
            ROLLUP.settleGame(challenger, address(0));
            ROLLUP.settleGame(defender, address(0));
        }
    }

    function _unlist(address player, uint256 gameId) internal {
        uint256[] storage list = _gamesOf[player];
        uint256 n = list.length;
        for (uint256 i = 0; i < n; i++) {
            if (list[i] == gameId) {
                list[i] = list[n - 1];
                list.pop();
                return;
            }
        }
    }
}
