// SPDX-License-Identifier: MIT OR Apache-2.0
pragma solidity ^0.8.30;

import {IRollup} from "./IRollup.sol";
import {IStepContext} from "../osp/IOneStepProof.sol";

/// @title RollupBase
/// @notice The origination parameters (immutable: cheap to read, impossible to change) and the
/// small pieces every part of the rollup shares: the ETH accounting buckets and the reentrancy
/// guard. Each part of the rollup (delayed inbox, sequencer inbox, commitments, outbox) is an
/// abstract contract layered on this one, so the rollup is one address holding one balance.
abstract contract RollupBase is IRollup, IStepContext {
    /// @notice Where burnt stake goes. Nobody holds its key, so ETH sent there is gone; the
    /// contract also counts it (`totalBurnt`) so accounting can be checked without it.
    address public constant BURN_ADDRESS = 0x000000000000000000000000000000000000dEaD;
    /// @notice The outbox tree has 2^20 level slots (docs/protocol.md 3.1).
    uint32 public constant MAX_OUTBOX_LEVELS_LIMIT = 1 << 20;

    bytes32 internal immutable KERNEL_REVEAL_HASH;
    bytes32 internal immutable KERNEL_VALUE_HASH;
    bytes32 internal immutable KERNEL_MODULE_ROOT;
    bytes32 internal immutable GENESIS_STATE_HASH;
    uint64 internal immutable TICK_BUDGET;
    uint32 internal immutable COMMITMENT_PERIOD;
    uint64 internal immutable CHALLENGE_WINDOW;
    uint256 internal immutable STAKE_AMOUNT;
    uint32 internal immutable SECTIONS_PER_DISSECTION;
    uint64 internal immutable TIMEOUT_PER_PLAYER;
    uint32 internal immutable MAX_ACTIVE_OUTBOX_LEVELS;
    address internal immutable VERIFIER;
    uint64 internal immutable SEQUENCER_NAMESPACE;
    uint64 internal immutable SEQUENCER_CHAIN_ID;
    bytes32 internal immutable SEQUENCER_START_BLOCK_HASH;
    uint64 internal immutable SEQUENCER_START_HEIGHT;
    uint64 internal immutable DELAYED_INCLUSION_TIMEOUT;
    address internal immutable GAME_RESOLVER;
    /// @notice The L1 block of origination: the rollup's origination level in reveal metadata.
    uint64 public immutable ORIGINATION_BLOCK;

    // ETH accounting: address(this).balance == bridge + staked + claimable, always.
    uint256 internal _bridgeBalance;
    uint256 internal _totalStaked;
    uint256 internal _totalClaimable;
    uint256 internal _totalBurnt;

    /// @dev Transient-storage slot of the reentrancy flag.
    bytes32 private constant REENTRANCY_SLOT = keccak256("rollup.reentrancy");

    modifier nonReentrant() {
        bytes32 slot = REENTRANCY_SLOT;
        bool entered;
        assembly ("memory-safe") {
            entered := tload(slot)
        }
        if (entered) revert Reentrancy();
        assembly ("memory-safe") {
            tstore(slot, 1)
        }
        _;
        assembly ("memory-safe") {
            tstore(slot, 0)
        }
    }

    constructor(Config memory c) {
        if (c.kernelRevealHash == bytes32(0)) revert InvalidParameter("kernelRevealHash");
        if (c.kernelValueHash == bytes32(0)) revert InvalidParameter("kernelValueHash");
        if (c.kernelModuleRoot == bytes32(0)) revert InvalidParameter("kernelModuleRoot");
        if (c.genesisStateHash == bytes32(0)) revert InvalidParameter("genesisStateHash");
        // A run's first and last ticks are the driver's: fewer than 3 leaves no instruction.
        if (c.tickBudget < 3) revert InvalidParameter("tickBudget");
        if (c.commitmentPeriod == 0) revert InvalidParameter("commitmentPeriod");
        if (c.challengeWindow == 0) revert InvalidParameter("challengeWindow");
        if (c.stakeAmount == 0) revert InvalidParameter("stakeAmount");
        if (c.sectionsPerDissection < 2) revert InvalidParameter("sectionsPerDissection");
        if (c.timeoutPerPlayer == 0) revert InvalidParameter("timeoutPerPlayer");
        // Fewer active levels than a period would expire a commitment's first levels before
        // it can be cemented, locking their withdrawals forever.
        if (c.maxActiveOutboxLevels < c.commitmentPeriod || c.maxActiveOutboxLevels > MAX_OUTBOX_LEVELS_LIMIT) {
            revert InvalidParameter("maxActiveOutboxLevels");
        }
        if (c.verifier.code.length == 0) revert InvalidParameter("verifier");
        if (c.delayedInclusionTimeout == 0) revert InvalidParameter("delayedInclusionTimeout");
        if (c.gameResolver == address(0)) revert InvalidParameter("gameResolver");
        KERNEL_REVEAL_HASH = c.kernelRevealHash;
        KERNEL_VALUE_HASH = c.kernelValueHash;
        KERNEL_MODULE_ROOT = c.kernelModuleRoot;
        GENESIS_STATE_HASH = c.genesisStateHash;
        TICK_BUDGET = c.tickBudget;
        COMMITMENT_PERIOD = c.commitmentPeriod;
        CHALLENGE_WINDOW = c.challengeWindow;
        STAKE_AMOUNT = c.stakeAmount;
        SECTIONS_PER_DISSECTION = c.sectionsPerDissection;
        TIMEOUT_PER_PLAYER = c.timeoutPerPlayer;
        MAX_ACTIVE_OUTBOX_LEVELS = c.maxActiveOutboxLevels;
        VERIFIER = c.verifier;
        SEQUENCER_NAMESPACE = c.sequencerNamespace;
        SEQUENCER_CHAIN_ID = c.sequencerChainId;
        SEQUENCER_START_BLOCK_HASH = c.sequencerStartBlockHash;
        SEQUENCER_START_HEIGHT = c.sequencerStartHeight;
        DELAYED_INCLUSION_TIMEOUT = c.delayedInclusionTimeout;
        GAME_RESOLVER = c.gameResolver;
        // Kernels read the origination level as 4 bytes (reveal_metadata).
        if (block.number > type(uint32).max) revert InvalidParameter("originationBlock");
        ORIGINATION_BLOCK = uint64(block.number);
    }

    /// @notice The origination parameters.
    function config() public view returns (Config memory c) {
        c.kernelRevealHash = KERNEL_REVEAL_HASH;
        c.kernelValueHash = KERNEL_VALUE_HASH;
        c.kernelModuleRoot = KERNEL_MODULE_ROOT;
        c.genesisStateHash = GENESIS_STATE_HASH;
        c.tickBudget = TICK_BUDGET;
        c.commitmentPeriod = COMMITMENT_PERIOD;
        c.challengeWindow = CHALLENGE_WINDOW;
        c.stakeAmount = STAKE_AMOUNT;
        c.sectionsPerDissection = SECTIONS_PER_DISSECTION;
        c.timeoutPerPlayer = TIMEOUT_PER_PLAYER;
        c.maxActiveOutboxLevels = MAX_ACTIVE_OUTBOX_LEVELS;
        c.verifier = VERIFIER;
        c.sequencerNamespace = SEQUENCER_NAMESPACE;
        c.sequencerChainId = SEQUENCER_CHAIN_ID;
        c.sequencerStartBlockHash = SEQUENCER_START_BLOCK_HASH;
        c.sequencerStartHeight = SEQUENCER_START_HEIGHT;
        c.delayedInclusionTimeout = DELAYED_INCLUSION_TIMEOUT;
        c.gameResolver = GAME_RESOLVER;
    }

    // ---------------------------------------------------------------- IStepContext

    /// @notice The ticks of one run, for the one-step verifier.
    function tickBudget() external view returns (uint64) {
        return TICK_BUDGET;
    }

    /// @notice The module root of the kernel with durable value hash `kernelValueHash`: the
    /// origination kernel's, zero for any other (a kernel upgrade is not provable yet,
    /// docs/pvm.md 9.7).
    function moduleRoot(bytes32 kernelValueHash) external view returns (bytes32) {
        return kernelValueHash == KERNEL_VALUE_HASH ? KERNEL_MODULE_ROOT : bytes32(0);
    }

    /// @notice The inbox accumulator after batch `index` (SequencerInbox holds them).
    function batchAccumulator(uint64 index) external view virtual override(IRollup, IStepContext) returns (bytes32);

    /// @notice Delayed message `index`'s hash and L1 block (DelayedInbox holds them).
    function delayedMessage(uint64 index)
        external
        view
        virtual
        override(IRollup, IStepContext)
        returns (bytes32 messageHash, uint64 l1Block);

    /// @notice What `reveal_metadata` answers: this address and the origination level.
    function metadata() external view returns (address rollupAddress, uint32 originationLevel) {
        return (address(this), uint32(ORIGINATION_BLOCK));
    }

    /// @notice Where every wei the rollup ever received is: deposited for the bridge, staked,
    /// credited to game winners, or burnt (already sent to BURN_ADDRESS).
    function accounting()
        external
        view
        returns (uint256 bridgeBalance, uint256 totalStaked, uint256 totalClaimable, uint256 totalBurnt)
    {
        return (_bridgeBalance, _totalStaked, _totalClaimable, _totalBurnt);
    }

    /// @dev Sends `amount` wei to `to`, reverting with a named error if the recipient refuses.
    function _send(address to, uint256 amount) internal {
        (bool ok,) = to.call{value: amount}("");
        if (!ok) revert TransferFailed(to, amount);
    }

    /// @dev The inbox's current level (the sequencer inbox owns it).
    function _currentInboxLevel() internal view virtual returns (uint32);
}
