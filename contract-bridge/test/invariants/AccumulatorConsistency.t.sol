// SPDX-License-Identifier: MIT OR Apache-2.0
pragma solidity ^0.8.30;

import {RollupTestBase} from "../utils/RollupTestBase.sol";
import {Rollup} from "../../src/Rollup.sol";

/// @notice Posts random batches (random transactions, L1 blocks and exact hints), enqueues and
/// forces delayed messages, tries invalid batches, and recomputes every level record and the
/// accumulator on its own.
contract InboxHandler is RollupTestBase {
    uint64[] internal delayedBlocks;
    uint32 public ghostLevel;
    uint64 public ghostIncluded;
    bytes32 public ghostAcc;
    uint64 public ghostBatches;
    bool public invalidAccepted;

    constructor(Rollup r) {
        rollup = r;
        tipHash = START_HASH;
        tipHeight = START_HEIGHT;
    }

    function tip() external view returns (bytes32, uint64) {
        return (tipHash, tipHeight);
    }

    function enqueue(uint256 n) external {
        n = bound(n, 1, 3);
        for (uint256 i = 0; i < n; i++) {
            rollup.sendMessage(abi.encode(block.number, i));
            delayedBlocks.push(uint64(block.number));
        }
    }

    function roll(uint256 n) external {
        vm.roll(block.number + bound(n, 1, 15));
        vm.warp(block.timestamp + 12);
    }

    function _hint(uint64 l1Block) internal view returns (uint64 n) {
        while (n < delayedBlocks.length && delayedBlocks[n] <= l1Block) n++;
    }

    function post(uint256 levels, uint256 seed) external {
        levels = bound(levels, 1, 4);
        Blk[] memory blocks = new Blk[](levels);
        bytes32[] memory leaves = new bytes32[](levels);
        uint64 included = ghostIncluded;
        for (uint256 i = 0; i < levels; i++) {
            uint256 s = uint256(keccak256(abi.encode(seed, i)));
            uint256 ntx = s % 4;
            bytes[] memory txs = new bytes[](ntx);
            for (uint256 t = 0; t < ntx; t++) {
                txs[t] = abi.encodePacked(keccak256(abi.encode(s, t)), new bytes((s >> 8 + t) % 70));
            }
            uint64 l1Block = uint64(block.number - 1 - ((s >> 32) % (block.number - 1 < 30 ? block.number - 1 : 30)));
            uint64 hint = _hint(l1Block);
            blocks[i] = _nextBlock(txs, l1Block, hint);
            uint64 end = hint > included ? hint : included;
            leaves[i] = keccak256(
                abi.encodePacked(
                    ghostLevel + uint32(i) + 1,
                    blocks[i].timestampMs,
                    blocks[i].blockHash,
                    included,
                    end,
                    blocks[i].txCount,
                    blocks[i].txRoot
                )
            );
            included = end;
        }
        bytes memory batch = _batch(blocks);
        vm.prank(address(this), address(this));
        rollup.postBatch(batch, "");
        ghostAcc = keccak256(abi.encodePacked(ghostAcc, _merkleRoot(leaves), ghostLevel + 1, uint32(levels)));
        ghostLevel += uint32(levels);
        ghostIncluded = included;
        ghostBatches++;
    }

    function postInvalid(uint256 kind) external {
        bytes32 savedHash = tipHash;
        uint64 savedHeight = tipHeight;
        uint64 l1Block = uint64(block.number - 1);
        Blk memory b = _nextBlock(new bytes[](0), l1Block, _hint(l1Block));
        bytes memory batch;
        kind = kind % 4;
        if (kind == 0) {
            batch = bytes.concat(_batch(_one(b)), hex"00"); // trailing byte
        } else if (kind == 1) {
            b.delayedThrough += 1; // inexact hint
            batch = _batch(_one(b));
        } else if (kind == 2) {
            b.header = _header(b.height, b.timestampMs, l1Block, keccak256("fork"), keccak256(b.nsTable));
            batch = _batch(_one(b)); // wrong parent
        } else {
            b.header = _header(b.height, b.timestampMs, uint64(block.number), savedHash, keccak256(b.nsTable));
            batch = _batch(_one(b)); // L1 block not final
        }
        tipHash = savedHash;
        tipHeight = savedHeight;
        vm.prank(address(this), address(this));
        try rollup.postBatch(batch, "") {
            invalidAccepted = true;
        } catch {}
    }

    function force(uint256 n) external {
        if (delayedBlocks.length == ghostIncluded) return;
        uint64 through = uint64(ghostIncluded + 1 + n % (delayedBlocks.length - ghostIncluded));
        bool overdue = block.number > delayedBlocks[through - 1] + TIMEOUT;
        try rollup.forceInclusion(through) {
            if (!overdue) invalidAccepted = true;
            uint64 ts = uint64(block.timestamp) * 1000;
            bytes32 bh =
                keccak256(abi.encodePacked("rollup.inbox.forced.v1", uint64(block.number), ghostIncluded, through));
            bytes32 leaf =
                keccak256(abi.encodePacked(ghostLevel + 1, ts, bh, ghostIncluded, through, uint32(0), bytes32(0)));
            ghostAcc = keccak256(abi.encodePacked(ghostAcc, leaf, ghostLevel + 1, uint32(1)));
            ghostLevel += 1;
            ghostIncluded = through;
            ghostBatches++;
        } catch {
            if (overdue) invalidAccepted = true; // an overdue force must succeed
        }
    }
}

/// @notice The contract's inbox state is always what an independent replay of the same batches
/// and forced inclusions computes.
contract AccumulatorConsistencyInvariants is RollupTestBase {
    InboxHandler internal handler;

    function setUp() public override {
        super.setUp();
        handler = new InboxHandler(rollup);
        targetContract(address(handler));
        bytes4[] memory selectors = new bytes4[](6);
        selectors[0] = InboxHandler.enqueue.selector;
        selectors[1] = InboxHandler.roll.selector;
        selectors[2] = InboxHandler.post.selector;
        selectors[3] = InboxHandler.postInvalid.selector;
        selectors[4] = InboxHandler.force.selector;
        selectors[5] = InboxHandler.post.selector;
        targetSelector(FuzzSelector(address(handler), selectors));
    }

    function invariant_stateMatchesReplay() public view {
        (uint32 level, uint64 height, bytes32 tip, uint64 included, uint64 batches, bytes32 acc) = rollup.inboxState();
        (bytes32 ghostTip, uint64 ghostHeight) = handler.tip();
        assertEq(level, handler.ghostLevel(), "level");
        assertEq(acc, handler.ghostAcc(), "accumulator");
        assertEq(included, handler.ghostIncluded(), "delayed included");
        assertEq(batches, handler.ghostBatches(), "batches");
        assertEq(tip, ghostTip, "sequencer tip");
        assertEq(height, ghostHeight, "sequencer height");
        if (batches > 0) assertEq(rollup.batchAccumulator(batches - 1), acc, "stored accumulator");
        assertEq(rollup.batchAccumulator(batches), bytes32(0), "nothing past the last batch");
    }

    function invariant_noInvalidInputAccepted() public view {
        assertFalse(handler.invalidAccepted(), "an invalid batch or an early force was accepted");
    }
}
