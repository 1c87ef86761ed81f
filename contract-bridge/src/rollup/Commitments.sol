// SPDX-License-Identifier: MIT OR Apache-2.0
pragma solidity ^0.8.30;

import {SequencerInbox} from "./SequencerInbox.sol";
import {ProtocolCodec} from "../ProtocolCodec.sol";

/// @title Commitments
/// @notice Commitments, stakes and cementing, as in the seeds (docs/contracts.md section 6):
/// a staker deposits one stake and with it publishes a chain of commitments, one per commitment
/// period, each extending its previous one; a commitment is cemented once its challenge window
/// has passed and no staked sibling disputes it; the refutation game (fixed at origination)
/// settles disputes through `settleGame`, which takes the loser's stake (half to the winner,
/// half burnt); a staker with nothing uncemented takes its stake back.
/// @dev A commitment is *alive* while some active staker stakes on it. Stakers are numbered: a
/// stake that is slashed or recovered retires its number, so every commitment it backed loses
/// that support at once, with no walk over the chain (slashing is O(1)). Dead commitments block
/// nothing and are deleted when their level is cemented.
abstract contract Commitments is SequencerInbox {
    struct Record {
        bytes32 predecessor;
        uint32 inboxLevel;
        uint64 publishedAt; // L1 block of first publication; 0 = no such commitment
        uint32 stakerCount;
        uint64 firstStaker;
    }

    struct Staker {
        uint64 id; // 0 = no stake
        uint32 headLevel;
        bytes32 head; // the last commitment it published
    }

    mapping(bytes32 => Record) internal _records;
    mapping(bytes32 => mapping(uint256 => uint64)) internal _moreStakers; // stakers 1.. of a commitment
    // The commitments of an uncemented level: the first one published (one slot in the common
    // case of no dispute), then its rivals.
    mapping(uint32 => bytes32) internal _firstAt;
    mapping(uint32 => bytes32[]) internal _rivalsAt;
    mapping(address => Staker) internal _stakers;
    mapping(uint64 => address) internal _stakerAddress;
    mapping(bytes32 => bytes32) internal _cementedState;
    mapping(address => uint256) internal _claimable;
    bytes32 internal _lastCemented;
    uint32 internal _lastCementedLevel;
    uint64 internal _nextStakerId;

    constructor() {
        bytes32 genesis = ProtocolCodec.commitmentHash(bytes32(0), GENESIS_STATE_HASH, 0, 0);
        _records[genesis].publishedAt = uint64(block.number);
        _lastCemented = genesis;
        _cementedState[genesis] = GENESIS_STATE_HASH;
        _nextStakerId = 1;
    }

    /// @notice Publishes (or joins) commitment `c` for `msg.sender`. The first commitment of a
    /// stake carries exactly the stake amount; later ones carry nothing and must extend the
    /// staker's previous commitment (or start from the last cemented one if that is cemented).
    function publish(Commitment calldata c) external payable returns (bytes32 hash) {
        if (c.numberOfTicks == 0) revert ZeroTicks();
        uint32 current = _currentInboxLevel();
        if (c.inboxLevel > current) revert InboxLevelNotReached(c.inboxLevel, current);
        Staker memory s = _stakers[msg.sender];
        if (s.id == 0) {
            if (msg.value != STAKE_AMOUNT) revert WrongStakeAmount(STAKE_AMOUNT, msg.value);
            s.id = _nextStakerId++;
            _stakerAddress[s.id] = msg.sender;
            _totalStaked += msg.value;
            emit StakeDeposited(msg.sender, s.id, msg.value);
        } else if (msg.value != 0) {
            revert WrongStakeAmount(0, msg.value);
        }
        uint32 lccLevel = _lastCementedLevel;
        bool fromCemented = s.head == bytes32(0) || s.headLevel <= lccLevel;
        bytes32 expected = fromCemented ? _lastCemented : s.head;
        if (c.predecessor != expected) revert WrongPredecessor(expected, c.predecessor);
        uint256 level = uint256(fromCemented ? lccLevel : s.headLevel) + COMMITMENT_PERIOD;
        if (c.inboxLevel != level) {
            revert WrongInboxLevel(level > type(uint32).max ? type(uint32).max : uint32(level), c.inboxLevel);
        }

        hash = ProtocolCodec.commitmentHash(c.predecessor, c.stateHash, c.inboxLevel, c.numberOfTicks);
        Record storage r = _records[hash];
        bool first = r.publishedAt == 0;
        if (first) {
            r.predecessor = c.predecessor;
            r.inboxLevel = c.inboxLevel;
            r.publishedAt = uint64(block.number);
            r.stakerCount = 1;
            r.firstStaker = s.id;
            bytes32 firstAtLevel = _firstAt[c.inboxLevel];
            if (firstAtLevel == bytes32(0)) {
                _firstAt[c.inboxLevel] = hash;
            } else {
                _rivalsAt[c.inboxLevel].push(hash);
                emit CommitmentConflict(c.inboxLevel, firstAtLevel, hash);
            }
        } else {
            // A dead commitment blocked nothing and nobody had a reason to refute it: alive
            // again, it gets a whole challenge window from now.
            if (!_isAlive(hash, r)) r.publishedAt = uint64(block.number);
            // A staker's chain has one commitment per level, so it cannot already be here.
            _moreStakers[hash][r.stakerCount] = s.id;
            r.stakerCount += 1;
        }
        s.head = hash;
        s.headLevel = c.inboxLevel;
        _stakers[msg.sender] = s;
        emit CommitmentPublished(hash, msg.sender, c.predecessor, c.stateHash, c.inboxLevel, c.numberOfTicks, first);
    }

    /// @notice Cements `c`: a child of the last cemented commitment, published at least a
    /// challenge window ago, still staked, with no staked sibling. Anyone may call it. Dead
    /// siblings are removed.
    function cement(Commitment calldata c) external returns (bytes32 hash) {
        hash = ProtocolCodec.commitmentHash(c.predecessor, c.stateHash, c.inboxLevel, c.numberOfTicks);
        Record memory r = _records[hash];
        if (r.publishedAt == 0) revert UnknownCommitment(hash);
        bytes32 lcc = _lastCemented;
        if (r.predecessor != lcc) revert NotChildOfLastCemented(r.predecessor, lcc);
        uint256 closesAt = uint256(r.publishedAt) + CHALLENGE_WINDOW;
        if (block.number < closesAt) revert ChallengeWindowOpen(closesAt);
        if (!_isAlive(hash, r)) revert CommitmentHasNoStake(hash);

        bytes32[] memory atLevel = commitmentsAt(r.inboxLevel);
        for (uint256 i = 0; i < atLevel.length; i++) {
            bytes32 x = atLevel[i];
            if (x == hash) continue;
            Record memory xr = _records[x];
            // A rival whose predecessor is not the last cemented one descends from a sibling
            // that was dead when it was passed over, so it is dead too.
            if (xr.predecessor == lcc && _isAlive(x, xr)) revert CommitmentDisputed(x);
        }
        for (uint256 i = 0; i < atLevel.length; i++) {
            bytes32 x = atLevel[i];
            if (x == hash) continue;
            delete _records[x];
            emit CommitmentRemoved(x, r.inboxLevel);
        }
        delete _firstAt[r.inboxLevel];
        delete _rivalsAt[r.inboxLevel];
        _lastCemented = hash;
        _lastCementedLevel = r.inboxLevel;
        _cementedState[hash] = c.stateHash;
        emit CommitmentCemented(hash, r.inboxLevel, c.stateHash);
    }

    /// @notice Returns the caller's stake once nothing it staked on is uncemented (the seeds'
    /// bailout): its last commitment is cemented.
    function recoverStake() external nonReentrant {
        Staker memory s = _stakers[msg.sender];
        if (s.id == 0) revert NotAStaker(msg.sender);
        if (s.headLevel > _lastCementedLevel) revert StakeInUse(s.head);
        delete _stakers[msg.sender];
        _totalStaked -= STAKE_AMOUNT;
        emit StakeRecovered(msg.sender, STAKE_AMOUNT);
        _send(msg.sender, STAKE_AMOUNT);
    }

    /// @notice The refutation game's outcome: `loser` loses its stake; if `winner` is not the
    /// zero address it is credited half of it (claimable with `claimReward`) and the rest is
    /// burnt; with no winner (both players lost) the whole stake is burnt. Every commitment that
    /// only `loser` backed is dead from now on. Callable only by the game resolver fixed at
    /// origination, and with a winner only between rivals (`NoConflict` otherwise).
    function settleGame(address loser, address winner) external {
        if (msg.sender != GAME_RESOLVER) revert NotGameResolver(msg.sender);
        if (_stakers[loser].id == 0) revert NotAStaker(loser);
        uint256 reward;
        if (winner != address(0)) {
            if (winner == loser) revert SamePlayer(loser);
            if (_stakers[winner].id == 0) revert NotAStaker(winner);
            // Only rivals play a game: a winner whose chain does not fork from the loser's
            // could not have refuted anything (reverts NoConflict).
            conflictPoint(loser, winner);
            reward = STAKE_AMOUNT / 2;
            _claimable[winner] += reward;
            _totalClaimable += reward;
        }
        uint256 burnt = STAKE_AMOUNT - reward;
        delete _stakers[loser];
        _totalStaked -= STAKE_AMOUNT;
        _totalBurnt += burnt;
        emit StakerSlashed(loser, winner, reward, burnt);
        _send(BURN_ADDRESS, burnt);
    }

    /// @notice Withdraws the caller's game rewards.
    function claimReward() external nonReentrant {
        uint256 amount = _claimable[msg.sender];
        if (amount == 0) revert NothingToClaim(msg.sender);
        _claimable[msg.sender] = 0;
        _totalClaimable -= amount;
        emit RewardClaimed(msg.sender, amount);
        _send(msg.sender, amount);
    }

    // ---------------------------------------------------------------- views

    /// @notice The last cemented commitment, its level and its state hash.
    function lastCemented() external view returns (bytes32 hash, uint32 inboxLevel, bytes32 stateHash) {
        hash = _lastCemented;
        return (hash, _lastCementedLevel, _cementedState[hash]);
    }

    /// @notice The state hash of a cemented commitment (zero if it is not cemented).
    function cementedStateHash(bytes32 commitment_) external view returns (bytes32) {
        return _cementedState[commitment_];
    }

    /// @notice What the contract holds about a commitment (`publishedAt == 0`: unknown).
    function commitment(bytes32 hash)
        external
        view
        returns (bytes32 predecessor, uint32 inboxLevel, uint64 publishedAt, uint32 stakerCount, bool alive)
    {
        Record memory r = _records[hash];
        return (r.predecessor, r.inboxLevel, r.publishedAt, r.stakerCount, r.stakerCount > 0 && _isAlive(hash, r));
    }

    /// @notice The commitments published at an uncemented `inboxLevel`, in publication order.
    function commitmentsAt(uint32 inboxLevel) public view returns (bytes32[] memory all) {
        bytes32 first = _firstAt[inboxLevel];
        if (first == bytes32(0)) return all;
        bytes32[] storage rivals = _rivalsAt[inboxLevel];
        all = new bytes32[](1 + rivals.length);
        all[0] = first;
        for (uint256 i = 0; i < rivals.length; i++) {
            all[i + 1] = rivals[i];
        }
    }

    /// @notice A staker's number (0: none), last commitment and that commitment's level.
    function staker(address account) external view returns (uint64 id, bytes32 head, uint32 headLevel) {
        Staker memory s = _stakers[account];
        return (s.id, s.head, s.headLevel);
    }

    /// @notice The active stakers of a commitment.
    function stakersOf(bytes32 hash) external view returns (address[] memory active) {
        Record memory r = _records[hash];
        address[] memory all = new address[](r.stakerCount);
        uint256 k;
        for (uint256 i = 0; i < r.stakerCount; i++) {
            uint64 id = i == 0 ? r.firstStaker : _moreStakers[hash][i];
            if (_isActive(id)) all[k++] = _stakerAddress[id];
        }
        assembly ("memory-safe") {
            mstore(all, k)
        }
        return all;
    }

    /// @notice Wei credited to `account` by games and not yet claimed.
    function claimable(address account) external view returns (uint256) {
        return _claimable[account];
    }

    /// @notice Where the chains of two stakers fork: the first commitment of each branch after
    /// their last common commitment. This is what a refutation game between them disputes.
    function conflictPoint(address a, address b) public view returns (bytes32 ofA, bytes32 ofB) {
        Staker memory sa = _stakers[a];
        Staker memory sb = _stakers[b];
        if (sa.id == 0) revert NotAStaker(a);
        if (sb.id == 0) revert NotAStaker(b);
        uint32 lccLevel = _lastCementedLevel;
        if (sa.headLevel <= lccLevel || sb.headLevel <= lccLevel) revert NoConflict(a, b);
        (bytes32 x, uint32 lx) = (sa.head, sa.headLevel);
        (bytes32 y, uint32 ly) = (sb.head, sb.headLevel);
        while (lx > ly) (x, lx) = _parent(x, lx);
        while (ly > lx) (y, ly) = _parent(y, ly);
        if (x == y) revert NoConflict(a, b);
        while (_records[x].predecessor != _records[y].predecessor) {
            (x, lx) = _parent(x, lx);
            (y, ly) = _parent(y, ly);
        }
        return (x, y);
    }

    // ---------------------------------------------------------------- internals

    function _parent(bytes32 x, uint32 level) private view returns (bytes32, uint32) {
        return (_records[x].predecessor, level - COMMITMENT_PERIOD);
    }

    function _isActive(uint64 id) internal view returns (bool) {
        return id != 0 && _stakers[_stakerAddress[id]].id == id;
    }

    /// @dev Whether some active staker still stakes on `hash`.
    function _isAlive(bytes32 hash, Record memory r) internal view returns (bool) {
        if (_isActive(r.firstStaker)) return true;
        for (uint256 i = 1; i < r.stakerCount; i++) {
            if (_isActive(_moreStakers[hash][i])) return true;
        }
        return false;
    }
}
