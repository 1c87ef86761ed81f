// SPDX-License-Identifier: MIT OR Apache-2.0
pragma solidity ^0.8.30;

import {Test} from "./Test.sol";
import {Rollup} from "../../src/Rollup.sol";
import {RollupFactory} from "../../src/RollupFactory.sol";
import {IRollup} from "../../src/rollup/IRollup.sol";
import {ProtocolCodec} from "../../src/ProtocolCodec.sol";
import {PermissionlessVerifier} from "../../src/verifiers/PermissionlessVerifier.sol";
import {ToyMachine} from "./ToyMachine.sol";

/// @notice A rollup on a permissionless verifier, deployed directly with an account as its game
/// resolver (so the settlement rules are tested alone; RollupFactory, which the factory and game
/// tests use, always names a game), plus builders for sequencer blocks, batches,
/// commitments and outbox proofs, written from docs/protocol.md independently of the contract.
abstract contract RollupTestBase is Test {
    uint64 internal constant CHAIN_ID = 7;
    uint64 internal constant NAMESPACE = 42;
    uint64 internal constant START_HEIGHT = 100;
    bytes32 internal constant START_HASH = keccak256("sequencer start block");
    bytes32 internal constant GENESIS_STATE = keccak256("genesis state");
    uint32 internal constant PERIOD = 4;
    uint64 internal constant WINDOW = 10;
    uint256 internal constant STAKE = 1 ether;
    uint64 internal constant TIMEOUT = 20;
    uint32 internal constant MAX_OUTBOX_LEVELS = 64;

    RollupFactory internal factory;
    Rollup internal rollup;
    address internal verifier;
    address internal resolver = makeAddr("game resolver");

    // The sequencer chain as the tests build it.
    bytes32 internal tipHash;
    uint64 internal tipHeight;
    uint64 internal nextTimestamp = 1_700_000_000_000;

    function setUp() public virtual {
        vm.roll(1000);
        vm.warp(1_700_000_000);
        factory = new RollupFactory(address(new ToyMachine()));
        verifier = address(new PermissionlessVerifier());
        rollup = _rollupOf(_config());
        tipHash = START_HASH;
        tipHeight = START_HEIGHT;
    }

    function _config() internal view returns (IRollup.Config memory c) {
        c.kernelRevealHash = keccak256("kernel");
        c.kernelValueHash = keccak256("kernel value");
        c.kernelModuleRoot = keccak256("kernel module");
        c.genesisStateHash = GENESIS_STATE;
        c.tickBudget = 1000;
        c.commitmentPeriod = PERIOD;
        c.challengeWindow = WINDOW;
        c.stakeAmount = STAKE;
        c.sectionsPerDissection = 32;
        c.timeoutPerPlayer = 50;
        c.maxActiveOutboxLevels = MAX_OUTBOX_LEVELS;
        c.verifier = verifier;
        c.sequencerNamespace = NAMESPACE;
        c.sequencerChainId = CHAIN_ID;
        c.sequencerStartBlockHash = START_HASH;
        c.sequencerStartHeight = START_HEIGHT;
        c.delayedInclusionTimeout = TIMEOUT;
        c.gameResolver = resolver;
    }

    /// @notice A rollup with parameters `c`, deployed directly (its resolver is `c`'s).
    function _rollupOf(IRollup.Config memory c) internal returns (Rollup) {
        return new Rollup(c);
    }

    // ---------------------------------------------------------------- sequencer blocks

    /// @notice One block as a batch carries it, plus what its level record will hold.
    struct Blk {
        bytes header;
        bytes nsTable;
        uint64 delayedThrough;
        bytes[] txs;
        bytes32 blockHash;
        uint64 height;
        uint64 timestampMs;
        uint32 txCount;
        bytes32 txRoot;
    }

    function _header(uint64 height, uint64 ts, uint64 l1Block, bytes32 parent, bytes32 payloadRoot)
        internal
        pure
        returns (bytes memory)
    {
        return abi.encodePacked(CHAIN_ID, height, uint64(3), ts, l1Block, parent, payloadRoot);
    }

    function _txRoot(bytes[] memory txs) internal pure returns (bytes32) {
        bytes32[] memory leaves = new bytes32[](txs.length);
        for (uint256 i = 0; i < txs.length; i++) {
            leaves[i] = keccak256(txs[i]);
        }
        return _merkleRoot(leaves);
    }

    /// @notice Merkle root per docs/protocol.md 1.1, written recursively (independent of the
    /// contract's in-place loop).
    function _merkleRoot(bytes32[] memory leaves) internal pure returns (bytes32) {
        if (leaves.length == 0) return bytes32(0);
        uint256 width = 1;
        while (width < leaves.length) width *= 2;
        return _subtree(leaves, 0, width);
    }

    function _subtree(bytes32[] memory leaves, uint256 from, uint256 width) private pure returns (bytes32) {
        if (width == 1) return from < leaves.length ? leaves[from] : bytes32(0);
        return
            keccak256(
                abi.encodePacked(_subtree(leaves, from, width / 2), _subtree(leaves, from + width / 2, width / 2))
            );
    }

    /// @notice A table with a neighbour namespace on each side of ours (ours only if `txs` is
    /// non-empty).
    function _nsTable(bytes[] memory txs) internal pure returns (bytes memory t) {
        bytes32 other = keccak256("other namespace txs");
        if (txs.length == 0) {
            return abi.encodePacked(
                uint32(2), uint64(NAMESPACE - 1), uint32(1), other, uint64(NAMESPACE + 1), uint32(5), other
            );
        }
        return abi.encodePacked(
            uint32(3),
            uint64(NAMESPACE - 1),
            uint32(1),
            other,
            uint64(NAMESPACE),
            uint32(txs.length),
            _txRoot(txs),
            uint64(NAMESPACE + 1),
            uint32(5),
            other
        );
    }

    /// @notice The next block of the chain (advancing the tip) with our `txs`, referring to L1
    /// block `l1Block` and including delayed messages up to `delayedThrough`.
    function _nextBlock(bytes[] memory txs, uint64 l1Block, uint64 delayedThrough) internal returns (Blk memory b) {
        b.nsTable = _nsTable(txs);
        b.height = tipHeight + 1;
        b.timestampMs = nextTimestamp;
        nextTimestamp += 1000;
        b.header = _header(b.height, b.timestampMs, l1Block, tipHash, keccak256(b.nsTable));
        b.delayedThrough = delayedThrough;
        b.txs = txs;
        b.blockHash = keccak256(b.header);
        b.txCount = uint32(txs.length);
        b.txRoot = txs.length == 0 ? bytes32(0) : _txRoot(txs);
        tipHash = b.blockHash;
        tipHeight = b.height;
    }

    function _emptyBlock() internal returns (Blk memory) {
        uint64 l1Block = uint64(block.number - 1);
        return _nextBlock(new bytes[](0), l1Block, _hintFor(l1Block));
    }

    /// @notice How many delayed messages were enqueued at or before `l1Block`.
    function _hintFor(uint64 l1Block) internal view returns (uint64 n) {
        n = rollup.delayedCount();
        while (n > 0) {
            (, uint64 at) = rollup.delayedMessage(n - 1);
            if (at <= l1Block) break;
            n--;
        }
    }

    function _encodeLevel(Blk memory b) internal pure returns (bytes memory out) {
        out = abi.encodePacked(b.header, b.nsTable, b.delayedThrough);
        for (uint256 i = 0; i < b.txs.length; i++) {
            out = abi.encodePacked(out, uint32(b.txs[i].length), b.txs[i]);
        }
    }

    function _batch(Blk[] memory blocks) internal pure returns (bytes memory out) {
        out = abi.encodePacked(uint32(blocks.length));
        for (uint256 i = 0; i < blocks.length; i++) {
            out = abi.encodePacked(out, _encodeLevel(blocks[i]));
        }
    }

    function _one(Blk memory b) internal pure returns (Blk[] memory blocks) {
        blocks = new Blk[](1);
        blocks[0] = b;
    }

    function _txs1(bytes memory a) internal pure returns (bytes[] memory txs) {
        txs = new bytes[](1);
        txs[0] = a;
    }

    /// @notice Posts `n` empty blocks as one batch, from an EOA, so the inbox reaches more levels.
    function _advanceInbox(uint256 n) internal {
        Blk[] memory blocks = new Blk[](n);
        for (uint256 i = 0; i < n; i++) {
            blocks[i] = _emptyBlock();
        }
        vm.prank(address(this), address(this));
        rollup.postBatch(_batch(blocks), "");
    }

    // ---------------------------------------------------------------- commitments

    function _commitment(bytes32 predecessor, bytes32 stateHash, uint32 level)
        internal
        pure
        returns (IRollup.Commitment memory)
    {
        return IRollup.Commitment(predecessor, stateHash, level, 1000);
    }

    function _hash(IRollup.Commitment memory c) internal pure returns (bytes32) {
        return keccak256(abi.encodePacked(c.predecessor, c.stateHash, c.inboxLevel, c.numberOfTicks));
    }

    function _genesis() internal view returns (bytes32) {
        (bytes32 g,,) = rollup.lastCemented();
        return g;
    }

    function _stakeAndPublish(address who, IRollup.Commitment memory c) internal returns (bytes32) {
        vm.deal(who, who.balance + STAKE);
        vm.prank(who);
        return rollup.publish{value: STAKE}(c);
    }

    function _publish(address who, IRollup.Commitment memory c) internal returns (bytes32) {
        vm.prank(who);
        return rollup.publish(c);
    }
}
