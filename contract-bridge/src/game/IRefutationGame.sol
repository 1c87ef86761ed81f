// SPDX-License-Identifier: MIT OR Apache-2.0
pragma solidity ^0.8.30;

import {IRollup} from "../rollup/IRollup.sol";

/// @title IRefutationGame
/// @notice What players, nodes and the rollup see of the refutation game: the moves, the events
/// from which a node replays every game from L1 logs alone (dissections are in the events, since
/// storage keeps only their hash), and the named error of every refused move. The specification
/// is docs/contracts.md section "Refutation game".
/// @title IGameDeployer
/// @notice What a RefutationGame's constructor asks its deployer (RollupFactory): the rollup
/// and the one-step verifier. Not constructor arguments, so the game's CREATE2 address does not
/// depend on the rollup's, which must name the game before the game exists.
interface IGameDeployer {
    function gameParameters() external view returns (address rollup, address verifier);
}

interface IRefutationGame {
    // ================================================================ types

    /// @notice How a game stands. `None`: no such game.
    enum Outcome {
        None,
        Running,
        ChallengerWon,
        DefenderWon,
        BothLost
    }

    /// @notice Why a game ended: a one-step proof, a clock that ran out, or a player whose stake
    /// another game took (then nobody is slashed by this game).
    enum EndReason {
        None,
        Proof,
        Timeout,
        Forfeit
    }

    /// @notice A commitment with the 77-byte status-0 header of its state (docs/pvm.md 9.5): the
    /// header proves the state hash is a level's end at the commitment's level and tick count,
    /// which is what lets the shorter trace stutter at its final state. At `start` the
    /// defender's header may be empty: then the defender reveals it before its first move.
    struct Claim {
        IRollup.Commitment commitment;
        bytes header;
    }

    /// @notice Everything a player or node needs about one game. Clocks are the blocks left now
    /// (the mover's clock already counts the blocks since the last move).
    struct GameView {
        address challenger;
        address defender;
        bytes32 challengerCommitment;
        bytes32 defenderCommitment;
        uint32 inboxLevel;
        uint64 start;
        uint64 end;
        bytes32 dissectionHash;
        address toMove;
        uint64 challengerClock;
        uint64 defenderClock;
        uint64 lastMoveAt;
        Outcome outcome;
        EndReason reason;
        bool defenderHeaderPending;
    }

    // ================================================================ events

    /// @notice `challenger` opened game `gameId` against `defender` over the ticks `[0, ticks]`
    /// after the predecessor's state `startState`; its first dissection follows as `Dissected`.
    event GameStarted(
        uint256 indexed gameId,
        address indexed challenger,
        address indexed defender,
        bytes32 challengerCommitment,
        bytes32 defenderCommitment,
        bytes32 startState,
        uint64 ticks,
        uint32 inboxLevel
    );

    /// @notice `player` split the ticks `[start, end]` at the points `dissectionPoints(start, end)`
    /// and claims `hashes` there; the opponent is to move.
    event Dissected(uint256 indexed gameId, address indexed player, uint64 start, uint64 end, bytes32[] hashes);

    /// @notice `player` agreed with the start of section `section` of the opponent's last
    /// dissection and claims `claim` at its end.
    event SectionChosen(uint256 indexed gameId, address indexed player, uint256 section, bytes32 claim);

    /// @notice The verifier executed tick `tick` (relative to the predecessor) for `player`:
    /// the state after it is `postState`.
    event StepProven(uint256 indexed gameId, address indexed player, uint64 tick, bytes32 postState);

    /// @notice The defender's final-state header, checked (given at `start` or revealed later).
    event DefenderHeaderRevealed(uint256 indexed gameId, bytes header);

    /// @notice The game is over; the rollup's `StakerSlashed` events of the same transaction say
    /// which stakes were taken (none after a forfeit).
    event GameEnded(uint256 indexed gameId, Outcome outcome, EndReason reason);

    // ================================================================ errors

    /// @notice The rollup does not name this contract as its game resolver: it could settle nothing.
    error NotRollupResolver(address resolver);
    /// @notice The one-step verifier has no code.
    error VerifierWithoutCode(address verifier);
    /// @notice The account has no stake on the rollup.
    error NotAStaker(address account);
    /// @notice The commitments are not where the two players' chains fork (the rollup's
    /// `conflictPoint(challenger, defender)` is `expectedChallenger, expectedDefender`).
    error NotConflictPoint(bytes32 expectedChallenger, bytes32 expectedDefender);
    /// @notice The predecessor claim is not the rivals' predecessor.
    error WrongPredecessor(bytes32 expected, bytes32 got);
    /// @notice A header is 77 bytes (docs/pvm.md 9.5, status 0).
    error BadHeaderLength(uint256 length);
    /// @notice A commitment's state is a level's end: status 0.
    error HeaderNotFinal(uint8 status);
    /// @notice The header does not hash to the commitment's state hash.
    error HeaderMismatch(bytes32 stateHash, bytes32 headerStateHash);
    /// @notice The header's level is not the commitment's inbox level.
    error HeaderLevelMismatch(uint32 expected, uint32 got);
    /// @notice The header's tick counter is not the predecessor's plus the commitment's ticks.
    error HeaderTickMismatch(uint256 expected, uint64 got);
    /// @notice The defender has not revealed its final-state header yet: it cannot move before.
    error HeaderNotRevealed(uint256 gameId);
    /// @notice The defender's header is already known.
    error NoHeaderPending(uint256 gameId);
    /// @notice A game over these two commitments is running.
    error GameExists(uint256 gameId);
    /// @notice The player is already in `MAX_GAMES_PER_STAKER` games.
    error TooManyGames(address player);

    /// @notice No game has this id.
    error UnknownGame(uint256 gameId);
    /// @notice The game has ended.
    error GameOver(uint256 gameId);
    /// @notice The other player is to move.
    error NotYourTurn(address toMove, address caller);
    /// @notice The mover's clock ran out at block `deadline`: the game can only be timed out.
    error OutOfTime(uint256 deadline);
    /// @notice The mover still has time until block `deadline`.
    error ClockRunning(uint256 deadline);
    /// @notice Another game took `player`'s stake: call `forfeit` instead of moving.
    error StakeGone(address player);
    /// @notice Both players still have their stakes.
    error NothingForfeited(uint256 gameId);

    /// @notice A dissection of the section has `expected` hashes (sections + 1).
    error WrongDissectionLength(uint256 expected, uint256 got);
    /// @notice A dissection starts at the section's agreed start.
    error DissectionStartMismatch(bytes32 expected, bytes32 got);
    /// @notice A dissection ends at the mover's own claim.
    error DissectionEndMismatch(bytes32 expected, bytes32 got);
    /// @notice The dissection given is not the game's current one (an old or altered move).
    error StaleDissection(bytes32 expected, bytes32 got);
    /// @notice The dissection has `sections` sections.
    error SectionOutOfRange(uint256 section, uint256 sections);
    /// @notice The claim equals the opponent's at the section's end: nothing is disputed there.
    error SectionNotDisputed(uint256 section);
    /// @notice A one-tick section is not dissected: it is proven.
    error SectionIsOneTick(uint256 section);
    /// @notice Only a one-tick section is proven; this one has `ticks` ticks.
    error SectionNotOneTick(uint256 section, uint64 ticks);

    // ================================================================ entry points

    function start(
        address defender,
        Claim calldata predecessor,
        Claim calldata mine,
        Claim calldata theirs,
        bytes32[] calldata dissection
    ) external returns (uint256 gameId);
    function move(
        uint256 gameId,
        bytes32[] calldata dissection,
        uint256 section,
        bytes32 claim,
        bytes32[] calldata next
    ) external;
    function prove(uint256 gameId, bytes32[] calldata dissection, uint256 section, bytes32 claim, bytes calldata proof)
        external;
    function revealDefenderHeader(uint256 gameId, bytes calldata header) external;
    function timeout(uint256 gameId) external;
    function forfeit(uint256 gameId) external;

    function game(uint256 gameId) external view returns (GameView memory);
    function gamesOf(address player) external view returns (uint256[] memory);
    function gameBetween(bytes32 commitmentA, bytes32 commitmentB) external view returns (uint256);
    function dissectionPoints(uint64 start, uint64 end) external view returns (uint64[] memory);
    function gameCount() external view returns (uint256);
}
