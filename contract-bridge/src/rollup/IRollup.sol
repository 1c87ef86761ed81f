// SPDX-License-Identifier: MIT OR Apache-2.0
pragma solidity ^0.8.30;

/// @title IRollup
/// @notice Everything a node, a poster, a staker or a game sees of a rollup on the L1: its
/// origination parameters, the events from which its whole L1 state can be rebuilt, and the
/// named errors of every entry point. The specification is docs/contracts.md.
interface IRollup {
    // ================================================================ types

    /// @notice The parameters fixed at origination (docs/contracts.md section 2).
    struct Config {
        /// blake2b-256 of the kernel's root reveal page; the reveal hash is `0x00 || this`.
        bytes32 kernelRevealHash;
        /// The durable value hash of the same kernel (docs/pvm.md 9.7): the key under which the
        /// one-step verifier looks its module root up.
        bytes32 kernelValueHash;
        /// The kernel's module root (docs/pvm.md 9.4): its lowered code and tables, committed
        /// once so that a run's first tick can be proven from the module fields alone.
        bytes32 kernelModuleRoot;
        /// The PVM's state hash before the first level (the genesis commitment's state).
        bytes32 genesisStateHash;
        /// Ticks every kernel run counts (B, docs/pvm.md 4.1); at least 3 (two driver ticks
        /// and one instruction).
        uint64 tickBudget;
        /// Levels between consecutive commitments.
        uint32 commitmentPeriod;
        /// L1 blocks a commitment stays refutable after its first publication.
        uint64 challengeWindow;
        /// Wei a staker deposits once for its whole chain of commitments.
        uint256 stakeAmount;
        /// k of the refutation game's k-way dissection (read by the game contract).
        uint32 sectionsPerDissection;
        /// L1 blocks each player of a refutation game has on its clock (read by the game contract).
        uint64 timeoutPerPlayer;
        /// How many levels back outbox messages stay executable (at most 2^20).
        uint32 maxActiveOutboxLevels;
        /// The ISequencerVerifier that checks batch certificates.
        address verifier;
        /// The rollup's namespace in the sequencer's blocks.
        uint64 sequencerNamespace;
        /// The sequencer chain every posted header must name.
        uint64 sequencerChainId;
        /// The sequencer block the rollup starts after: the first posted block is its child.
        bytes32 sequencerStartBlockHash;
        /// That block's height.
        uint64 sequencerStartHeight;
        /// L1 blocks after which anyone may force a waiting delayed message into the inbox.
        uint64 delayedInclusionTimeout;
        /// The refutation game contract allowed to settle games. RollupFactory deploys the game
        /// and names it here itself: pass zero to `originate`.
        address gameResolver;
    }

    /// @notice A staker's claim (docs/protocol.md section 4).
    struct Commitment {
        bytes32 predecessor;
        bytes32 stateHash;
        uint32 inboxLevel;
        uint64 numberOfTicks;
    }

    /// @notice Where an outbox message sits in a cemented state (docs/protocol.md section 3.1).
    struct OutboxProof {
        bytes32 pvmRoot;
        uint32 level;
        uint32 index;
        uint32 count;
        bytes32[] messagePath;
        bytes32[] slotPath;
    }

    // ================================================================ events

    /// @notice The rollup exists; `originationBlock` is its origination level (reveal metadata).
    event Originated(address indexed factory, uint64 originationBlock, bytes32 genesisCommitment, Config config);

    /// @notice A message (with `value` wei, 0 for a plain message) joined the delayed inbox. It
    /// becomes the internal transfer `00 00 || sender || value || payload` whose hash is
    /// `messageHash`.
    event DelayedMessageEnqueued(
        uint64 indexed index, address indexed sender, uint256 value, uint64 l1Block, bytes32 messageHash, bytes payload
    );

    /// @notice Batch `batchIndex` appended levels `firstLevel .. firstLevel + levelCount - 1`.
    /// Its contents are the calldata of the `postBatch` call (a top-level call) or, when a
    /// contract posted it, the `BatchData` event of the same batch; a forced level is described
    /// by `InclusionForced`.
    event BatchPosted(
        uint64 indexed batchIndex,
        uint32 firstLevel,
        uint32 levelCount,
        bytes32 batchRoot,
        bytes32 accumulator,
        uint64 delayedIncluded
    );

    /// @notice The batch bytes, when `postBatch` was not called directly by a transaction.
    event BatchData(uint64 indexed batchIndex, bytes batch);

    /// @notice A forced level holding delayed messages `[delayedStart, delayedEnd)`.
    event InclusionForced(
        uint64 indexed batchIndex,
        uint32 level,
        uint64 delayedStart,
        uint64 delayedEnd,
        uint64 timestampMs,
        bytes32 blockHash
    );

    /// @notice `staker` deposited its stake and got `stakerId`.
    event StakeDeposited(address indexed staker, uint64 indexed stakerId, uint256 amount);

    /// @notice `staker` now stakes on `commitment` (`first`: it was published just now).
    event CommitmentPublished(
        bytes32 indexed commitment,
        address indexed staker,
        bytes32 indexed predecessor,
        bytes32 stateHash,
        uint32 inboxLevel,
        uint64 numberOfTicks,
        bool first
    );

    /// @notice A second, different commitment appeared at `inboxLevel`: a dispute.
    event CommitmentConflict(uint32 indexed inboxLevel, bytes32 indexed existing, bytes32 indexed conflicting);

    /// @notice `commitment` is final; its outbox is executable.
    event CommitmentCemented(bytes32 indexed commitment, uint32 inboxLevel, bytes32 stateHash);

    /// @notice A commitment with no stake left was dropped when its level was cemented.
    event CommitmentRemoved(bytes32 indexed commitment, uint32 inboxLevel);

    /// @notice `staker` took its stake back (nothing of it was uncemented).
    event StakeRecovered(address indexed staker, uint256 amount);

    /// @notice A refutation game took `loser`'s stake: `reward` is credited to `winner` (zero
    /// address when both lost) and `burnt` went to the burn address.
    event StakerSlashed(address indexed loser, address indexed winner, uint256 reward, uint256 burnt);

    /// @notice `account` withdrew game rewards.
    event RewardClaimed(address indexed account, uint256 amount);

    /// @notice Outbox message `index` of `level` ran; `value` wei left the bridge.
    event OutboxMessageExecuted(uint32 indexed level, uint32 indexed index, bytes32 messageHash, uint256 value);

    // ================================================================ errors

    /// @notice An origination parameter is out of range (its name says which).
    error InvalidParameter(string name);
    /// @notice A reentrant call into a guarded entry point.
    error Reentrancy();
    /// @notice A delayed message's payload is over the 4,042-byte limit.
    error PayloadTooLarge(uint256 length, uint256 max);
    /// @notice `depositEth` needs a non-zero value.
    error ZeroDeposit();

    /// @notice The batch ended before a field at `offset`.
    error BatchTruncated(uint256 offset);
    /// @notice Bytes after the last level.
    error TrailingBatchBytes(uint256 extra);
    /// @notice A batch has at least one level.
    error EmptyBatch();
    /// @notice Level numbers would pass 2^32 - 1.
    error InboxLevelOverflow();
    /// @notice The header names another sequencer chain.
    error WrongSequencerChain(uint32 level, uint64 chainId);
    /// @notice The header's height is not its parent's plus one.
    error HeightNotConsecutive(uint32 level, uint64 expected, uint64 got);
    /// @notice The header's parent is not the previous block.
    error ParentMismatch(uint32 level, bytes32 expected, bytes32 got);
    /// @notice The header's L1 block is not strictly before this block: retry in a later block.
    error L1BlockNotFinal(uint32 level, uint64 l1Block);
    /// @notice A namespace table has more than 1,024 entries.
    error NsTableTooLarge(uint32 level, uint256 entries);
    /// @notice Namespaces are not strictly ascending.
    error NsTableNotAscending(uint32 level);
    /// @notice A namespace entry announces no transactions.
    error EmptyNamespaceEntry(uint32 level);
    /// @notice `H(ns_table) != payload_root`.
    error PayloadRootMismatch(uint32 level);
    /// @notice A transaction is over 4,095 bytes.
    error TransactionTooLarge(uint32 level, uint256 length);
    /// @notice The namespace's transactions do not hash to its `tx_root`.
    error TxRootMismatch(uint32 level);
    /// @notice `delayed_through` is not the number of delayed messages enqueued at or before the
    /// header's L1 block.
    error BadDelayedHint(uint32 level, uint64 hint);
    /// @notice A forced inclusion must include at least one waiting message and none past the queue.
    error BadForceRange(uint64 included, uint64 through, uint64 count);
    /// @notice The last message to force has not waited past the timeout; try at `overdueAt`.
    error NotOverdue(uint256 overdueAt);

    /// @notice A first commitment carries exactly the stake; later ones carry nothing.
    error WrongStakeAmount(uint256 expected, uint256 got);
    /// @notice A staker extends its own chain, or starts from the last cemented commitment.
    error WrongPredecessor(bytes32 expected, bytes32 got);
    /// @notice A commitment is exactly one commitment period after its predecessor.
    error WrongInboxLevel(uint32 expected, uint32 got);
    /// @notice The inbox has not reached the commitment's level yet.
    error InboxLevelNotReached(uint32 inboxLevel, uint32 current);
    /// @notice Every period executes at least one tick.
    error ZeroTicks();
    /// @notice No commitment with this hash was published (or it was removed).
    error UnknownCommitment(bytes32 commitment);
    /// @notice Only a child of the last cemented commitment can be cemented.
    error NotChildOfLastCemented(bytes32 predecessor, bytes32 lastCemented);
    /// @notice The challenge window is open until L1 block `closesAt`.
    error ChallengeWindowOpen(uint256 closesAt);
    /// @notice Every staker of the commitment lost its stake.
    error CommitmentHasNoStake(bytes32 commitment);
    /// @notice A staked sibling disputes the commitment: a game must remove it first.
    error CommitmentDisputed(bytes32 rival);
    /// @notice The account has no stake.
    error NotAStaker(address account);
    /// @notice The stake still backs the uncemented commitment `head`.
    error StakeInUse(bytes32 head);
    /// @notice Only the game resolver fixed at origination settles games.
    error NotGameResolver(address caller);
    /// @notice A player cannot win against itself.
    error SamePlayer(address player);
    /// @notice The account has no reward to claim.
    error NothingToClaim(address account);
    /// @notice Sending ETH failed.
    error TransferFailed(address to, uint256 amount);
    /// @notice There is no fork between two stakers' chains.
    error NoConflict(address a, address b);

    /// @notice The commitment is not cemented.
    error NotCemented(bytes32 commitment);
    /// @notice The message's level is after the cemented commitment's level.
    error OutboxLevelNotCemented(uint32 level, uint32 cementedLevel);
    /// @notice The message's level is older than the max active outbox levels.
    error OutboxLevelExpired(uint32 level, uint256 oldestActive);
    /// @notice The proof does not lead to the cemented state hash.
    error InvalidOutboxProof();
    /// @notice Each outbox message runs at most once.
    error OutboxMessageAlreadyExecuted(uint32 level, uint32 index);
    /// @notice The message pays out more than the bridge holds.
    error InsufficientBridgeBalance(uint256 needed, uint256 available);
    /// @notice Outbox calls may not target the rollup itself.
    error OutboxCallToRollup(uint256 callIndex);
    /// @notice Call `callIndex` reverted; the whole message stays executable.
    error OutboxCallFailed(uint256 callIndex, bytes returnData);

    // ================================================================ entry points

    // origination and accounting (RollupBase)
    function config() external view returns (Config memory);
    function accounting()
        external
        view
        returns (uint256 bridgeBalance, uint256 totalStaked, uint256 totalClaimable, uint256 totalBurnt);
    function ORIGINATION_BLOCK() external view returns (uint64);
    function BURN_ADDRESS() external view returns (address);

    // delayed inbox (DelayedInbox)
    function depositEth(bytes calldata payload) external payable returns (uint64 index);
    function sendMessage(bytes calldata payload) external returns (uint64 index);
    function delayedCount() external view returns (uint64);
    function delayedMessage(uint64 index) external view returns (bytes32 messageHash, uint64 l1Block);

    // sequencer inbox (SequencerInbox)
    function postBatch(bytes calldata batch, bytes calldata certificate) external;
    function forceInclusion(uint64 through) external;
    function inboxState()
        external
        view
        returns (
            uint32 level,
            uint64 lastHeight,
            bytes32 lastBlockHash,
            uint64 delayedIncluded,
            uint64 batchCount,
            bytes32 accumulator
        );
    function batchAccumulator(uint64 index) external view returns (bytes32);

    // commitments and stakes (Commitments)
    function publish(Commitment calldata c) external payable returns (bytes32 hash);
    function cement(Commitment calldata c) external returns (bytes32 hash);
    function recoverStake() external;
    function settleGame(address loser, address winner) external;
    function claimReward() external;
    function lastCemented() external view returns (bytes32 hash, uint32 inboxLevel, bytes32 stateHash);
    function cementedStateHash(bytes32 commitment_) external view returns (bytes32);
    function commitment(bytes32 hash)
        external
        view
        returns (bytes32 predecessor, uint32 inboxLevel, uint64 publishedAt, uint32 stakerCount, bool alive);
    function commitmentsAt(uint32 inboxLevel) external view returns (bytes32[] memory);
    function staker(address account) external view returns (uint64 id, bytes32 head, uint32 headLevel);
    function stakersOf(bytes32 hash) external view returns (address[] memory active);
    function claimable(address account) external view returns (uint256);
    function conflictPoint(address a, address b) external view returns (bytes32 ofA, bytes32 ofB);

    // outbox and bridge (Outbox)
    function executeOutboxMessage(bytes32 cemented, OutboxProof calldata proof, bytes calldata message) external;
    function isOutboxMessageExecuted(uint32 level, uint32 index) external view returns (bool);
}
