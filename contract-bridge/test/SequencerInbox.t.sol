// SPDX-License-Identifier: MIT OR Apache-2.0
pragma solidity ^0.8.30;

import {Vm} from "./utils/Test.sol";
import {RollupTestBase} from "./utils/RollupTestBase.sol";
import {IRollup} from "../src/rollup/IRollup.sol";
import {Rollup} from "../src/Rollup.sol";
import {PermissionedVerifier} from "../src/verifiers/PermissionedVerifier.sol";
import {PermissionlessVerifier} from "../src/verifiers/PermissionlessVerifier.sol";
import {ProtocolCodec} from "../src/ProtocolCodec.sol";

/// @notice postBatch, the delayed inbox and forced inclusion: every path and every revert.
contract SequencerInboxTest is RollupTestBase {
    address internal poster = makeAddr("poster");
    address internal alice = makeAddr("alice");

    function _record(uint32 level, Blk memory b, uint64 start, uint64 end) internal pure returns (bytes32) {
        return keccak256(abi.encodePacked(level, b.timestampMs, b.blockHash, start, end, b.txCount, b.txRoot));
    }

    function _post(bytes memory batch) internal {
        vm.prank(poster, poster);
        rollup.postBatch(batch, "");
    }

    function _expectRevertPost(bytes memory batch, bytes memory err) internal {
        vm.expectRevert(err);
        vm.prank(poster, poster);
        rollup.postBatch(batch, "");
    }

    // ---------------------------------------------------------------- happy paths

    function test_postBatch_appendsLevelsRecordsAndAccumulator() public {
        bytes[] memory two = new bytes[](2);
        two[0] = "transfer 1";
        two[1] = hex"";
        Blk[] memory blocks = new Blk[](3);
        blocks[0] = _nextBlock(_txs1("hello"), 990, 0);
        blocks[1] = _nextBlock(new bytes[](0), 995, 0);
        blocks[2] = _nextBlock(two, 999, 0);
        bytes32[] memory leaves = new bytes32[](3);
        for (uint32 i = 0; i < 3; i++) {
            leaves[i] = _record(i + 1, blocks[i], 0, 0);
        }
        bytes32 root = _merkleRoot(leaves);
        bytes32 acc = keccak256(abi.encodePacked(bytes32(0), root, uint32(1), uint32(3)));

        vm.expectEmit(true, false, false, true, address(rollup));
        emit IRollup.BatchPosted(0, 1, 3, root, acc, 0);
        _post(_batch(blocks));

        (uint32 level, uint64 lastHeight, bytes32 lastHash, uint64 included, uint64 batches, bytes32 accNow) =
            rollup.inboxState();
        assertEq(level, 3);
        assertEq(lastHeight, START_HEIGHT + 3);
        assertEq(lastHash, blocks[2].blockHash);
        assertEq(included, 0);
        assertEq(batches, 1);
        assertEq(accNow, acc);
        assertEq(rollup.batchAccumulator(0), acc);

        // A second batch continues the levels and the accumulator.
        Blk memory b4 = _nextBlock(new bytes[](0), 999, 0);
        bytes32 root2 = _record(4, b4, 0, 0);
        bytes32 acc2 = keccak256(abi.encodePacked(acc, root2, uint32(4), uint32(1)));
        vm.expectEmit(true, false, false, true, address(rollup));
        emit IRollup.BatchPosted(1, 4, 1, root2, acc2, 0);
        _post(_batch(_one(b4)));
        assertEq(rollup.batchAccumulator(1), acc2);
    }

    function test_postBatch_fromEOA_logsNoData_fromContract_logsData() public {
        vm.recordLogs();
        _post(_batch(_one(_emptyBlock())));
        Vm.Log[] memory logs = vm.getRecordedLogs();
        assertEq(logs.length, 1); // BatchPosted only

        bytes memory batch = _batch(_one(_emptyBlock()));
        vm.expectEmit(true, false, false, true, address(rollup));
        emit IRollup.BatchData(1, batch);
        rollup.postBatch(batch, ""); // msg.sender (this test) != tx.origin
    }

    function test_postBatch_includesDelayedMessagesByHint() public {
        vm.deal(alice, 10 ether);
        vm.roll(1001);
        vm.prank(alice);
        rollup.depositEth{value: 1 ether}("to bob"); // index 0 at block 1001
        vm.prank(alice);
        rollup.sendMessage("ping"); // index 1 at block 1001
        vm.roll(1003);
        vm.prank(alice);
        rollup.sendMessage("late"); // index 2 at block 1003
        vm.roll(1010);

        Blk[] memory blocks = new Blk[](4);
        blocks[0] = _nextBlock(new bytes[](0), 1000, 0); // nothing yet at 1000
        blocks[1] = _nextBlock(new bytes[](0), 1001, 2); // both of block 1001
        blocks[2] = _nextBlock(new bytes[](0), 1001, 2); // same block again: nothing new
        blocks[3] = _nextBlock(new bytes[](0), 1005, 3); // the late one
        bytes32[] memory leaves = new bytes32[](4);
        leaves[0] = _record(1, blocks[0], 0, 0);
        leaves[1] = _record(2, blocks[1], 0, 2);
        leaves[2] = _record(3, blocks[2], 2, 2);
        leaves[3] = _record(4, blocks[3], 2, 3);
        bytes32 acc = keccak256(abi.encodePacked(bytes32(0), _merkleRoot(leaves), uint32(1), uint32(4)));
        vm.expectEmit(true, false, false, true, address(rollup));
        emit IRollup.BatchPosted(0, 1, 4, _merkleRoot(leaves), acc, 3);
        _post(_batch(blocks));

        // A block whose L1 block is older than what is included already includes nothing.
        Blk memory old = _nextBlock(new bytes[](0), 1000, 0);
        bytes32 acc2 = keccak256(abi.encodePacked(acc, _record(5, old, 3, 3), uint32(5), uint32(1)));
        _post(_batch(_one(old)));
        (,,,,, bytes32 accNow) = rollup.inboxState();
        assertEq(accNow, acc2);
    }

    function test_permissionedVerifier_checksSignatureOfLastBlock() public {
        uint256 key = 0xA11CE;
        verifier = address(new PermissionedVerifier(CHAIN_ID, vm.addr(key)));
        rollup = _rollupOf(_config());
        Blk[] memory blocks = new Blk[](2);
        blocks[0] = _emptyBlock();
        blocks[1] = _emptyBlock();
        bytes memory batch = _batch(blocks);
        // A signature of the first block does not finalize the batch.
        bytes memory sigA = _sign(key, blocks[0]);
        bytes32 digestB = ProtocolCodec.finalityDigest(CHAIN_ID, blocks[1].height, blocks[1].blockHash);
        address recoveredA = _recover(digestB, sigA);
        vm.expectRevert(abi.encodeWithSelector(PermissionedVerifier.WrongSigner.selector, vm.addr(key), recoveredA));
        rollup.postBatch(batch, sigA);
        rollup.postBatch(batch, _sign(key, blocks[1]));
        (uint32 level,,,,,) = rollup.inboxState();
        assertEq(level, 2);
    }

    function _sign(uint256 key, Blk memory b) internal pure returns (bytes memory) {
        (uint8 v, bytes32 r, bytes32 s) = vm.sign(key, ProtocolCodec.finalityDigest(CHAIN_ID, b.height, b.blockHash));
        return abi.encodePacked(r, s, v);
    }

    function _recover(bytes32 digest, bytes memory sig) internal pure returns (address) {
        bytes32 r;
        bytes32 s;
        assembly {
            r := mload(add(sig, 0x20))
            s := mload(add(sig, 0x40))
        }
        return ecrecover(digest, uint8(sig[64]), r, s);
    }

    // ---------------------------------------------------------------- malformed batches

    function test_emptyAndTruncatedBatches_revert() public {
        _expectRevertPost(hex"", abi.encodeWithSelector(IRollup.BatchTruncated.selector, 0));
        _expectRevertPost(hex"000000", abi.encodeWithSelector(IRollup.BatchTruncated.selector, 0));
        _expectRevertPost(hex"00000000", abi.encodeWithSelector(IRollup.EmptyBatch.selector));
        bytes memory full = _batch(_one(_nextBlock(_txs1("abc"), 990, 0)));
        // Cut inside the header, the table, the hint, a transaction's length and its bytes.
        uint256[5] memory cuts = [uint256(50), 4 + 104 + 10, 4 + 104 + 4 + 3 * 44 + 3, full.length - 5, full.length - 1];
        // (The first two are shorter than a minimal level: refused before parsing, at their length.)
        uint256[5] memory offsets = [uint256(50), 4 + 104 + 10, 4 + 104 + 4 + 3 * 44, full.length - 7, full.length - 3];
        for (uint256 i = 0; i < 5; i++) {
            _expectRevertPost(
                _prefix(full, cuts[i]), abi.encodeWithSelector(IRollup.BatchTruncated.selector, offsets[i])
            );
        }
        _expectRevertPost(bytes.concat(full, hex"00"), abi.encodeWithSelector(IRollup.TrailingBatchBytes.selector, 1));
        // More levels announced than present.
        bytes memory twoClaimed = full;
        twoClaimed[3] = 0x02;
        _expectRevertPost(twoClaimed, abi.encodeWithSelector(IRollup.BatchTruncated.selector, full.length));
        // Far more levels announced than the bytes could hold: refused before allocating.
        bytes memory huge = full;
        huge[0] = 0x0f;
        _expectRevertPost(huge, abi.encodeWithSelector(IRollup.BatchTruncated.selector, full.length));
    }

    function test_wrongChainHeightParentAndL1Block_revert() public {
        Blk memory b = _nextBlock(new bytes[](0), 990, 0);
        bytes memory hdr = b.header;

        b.header = abi.encodePacked(uint64(8), _slice(hdr, 8, 96));
        _expectRevertPost(_batch(_one(b)), abi.encodeWithSelector(IRollup.WrongSequencerChain.selector, 1, 8));

        b.header = abi.encodePacked(_slice(hdr, 0, 8), uint64(START_HEIGHT + 2), _slice(hdr, 16, 88));
        _expectRevertPost(
            _batch(_one(b)),
            abi.encodeWithSelector(IRollup.HeightNotConsecutive.selector, 1, START_HEIGHT + 1, START_HEIGHT + 2)
        );

        bytes32 wrongParent = keccak256("not the start block");
        b.header = abi.encodePacked(_slice(hdr, 0, 40), wrongParent, _slice(hdr, 72, 32));
        _expectRevertPost(
            _batch(_one(b)), abi.encodeWithSelector(IRollup.ParentMismatch.selector, 1, START_HASH, wrongParent)
        );

        b.header = abi.encodePacked(_slice(hdr, 0, 32), uint64(block.number), _slice(hdr, 40, 64));
        _expectRevertPost(
            _batch(_one(b)), abi.encodeWithSelector(IRollup.L1BlockNotFinal.selector, 1, uint64(block.number))
        );

        // The second level must chain to the first.
        Blk memory first = _nextBlock(new bytes[](0), 990, 0);
        tipHash = keccak256("fork");
        Blk memory second = _nextBlock(new bytes[](0), 990, 0);
        Blk[] memory blocks = new Blk[](2);
        (blocks[0], blocks[1]) = (first, second);
        // (first was built on the previous tip, so reset it: first chains to START_HASH.)
        first.header = _header(START_HEIGHT + 1, first.timestampMs, 990, START_HASH, keccak256(first.nsTable));
        first.blockHash = keccak256(first.header);
        second.header = _header(START_HEIGHT + 2, second.timestampMs, 990, keccak256("fork"), keccak256(second.nsTable));
        blocks[0] = first;
        blocks[1] = second;
        _expectRevertPost(
            _batch(blocks),
            abi.encodeWithSelector(IRollup.ParentMismatch.selector, 2, first.blockHash, keccak256("fork"))
        );
    }

    function test_badNamespaceTables_revert() public {
        bytes32 r = keccak256("x");
        // Too many entries.
        bytes memory big = abi.encodePacked(uint32(1025));
        _expectRevertPost(_levelWithTable(big), abi.encodeWithSelector(IRollup.NsTableTooLarge.selector, 1, 1025));
        // Not ascending.
        bytes memory unsorted = abi.encodePacked(uint32(2), uint64(50), uint32(1), r, uint64(49), uint32(1), r);
        _expectRevertPost(_levelWithTable(unsorted), abi.encodeWithSelector(IRollup.NsTableNotAscending.selector, 1));
        bytes memory dup = abi.encodePacked(uint32(2), uint64(50), uint32(1), r, uint64(50), uint32(1), r);
        _expectRevertPost(_levelWithTable(dup), abi.encodeWithSelector(IRollup.NsTableNotAscending.selector, 1));
        // An entry with no transactions.
        bytes memory empty = abi.encodePacked(uint32(1), uint64(50), uint32(0), r);
        _expectRevertPost(_levelWithTable(empty), abi.encodeWithSelector(IRollup.EmptyNamespaceEntry.selector, 1));
        // The table does not hash to payload_root.
        Blk memory b = _nextBlock(new bytes[](0), 990, 0);
        b.nsTable = abi.encodePacked(uint32(1), uint64(50), uint32(2), r);
        _expectRevertPost(_batch(_one(b)), abi.encodeWithSelector(IRollup.PayloadRootMismatch.selector, 1));
    }

    function test_badTransactions_revert() public {
        // Transactions that do not match the root (changed, missing order).
        bytes[] memory txs = new bytes[](2);
        txs[0] = "one";
        txs[1] = "two";
        Blk memory b = _nextBlock(txs, 990, 0);
        (b.txs[0], b.txs[1]) = (b.txs[1], b.txs[0]);
        _expectRevertPost(_batch(_one(b)), abi.encodeWithSelector(IRollup.TxRootMismatch.selector, 1));
        // A transaction over 4,095 bytes (its root is right, the size is not allowed).
        tipHash = START_HASH;
        tipHeight = START_HEIGHT;
        Blk memory big = _nextBlock(_txs1(new bytes(4096)), 990, 0);
        _expectRevertPost(_batch(_one(big)), abi.encodeWithSelector(IRollup.TransactionTooLarge.selector, 1, 4096));
        // A transaction count the remaining bytes cannot hold.
        tipHash = START_HASH;
        tipHeight = START_HEIGHT;
        bytes32 r = keccak256("x");
        bytes memory table = abi.encodePacked(uint32(1), NAMESPACE, uint32(1000), r);
        bytes memory lvl = abi.encodePacked(
            _header(START_HEIGHT + 1, 1, 990, START_HASH, keccak256(table)), table, uint64(0), uint32(0)
        );
        _expectRevertPost(
            abi.encodePacked(uint32(1), lvl),
            abi.encodeWithSelector(IRollup.BatchTruncated.selector, lvl.length + 4 - 4)
        );
    }

    function test_badDelayedHints_revert() public {
        vm.prank(alice);
        rollup.sendMessage("a"); // index 0 at block 1000
        vm.roll(1005);
        vm.prank(alice);
        rollup.sendMessage("b"); // index 1 at block 1005
        vm.roll(1010);
        // Hint past the queue.
        Blk memory b = _nextBlock(new bytes[](0), 1009, 3);
        _expectRevertPost(_batch(_one(b)), abi.encodeWithSelector(IRollup.BadDelayedHint.selector, 1, 3));
        // Too low: message 1 (block 1005) is at or before block 1009.
        tipHash = START_HASH;
        tipHeight = START_HEIGHT;
        b = _nextBlock(new bytes[](0), 1009, 1);
        _expectRevertPost(_batch(_one(b)), abi.encodeWithSelector(IRollup.BadDelayedHint.selector, 1, 1));
        // Too high: message 1 is after block 1004.
        tipHash = START_HASH;
        tipHeight = START_HEIGHT;
        b = _nextBlock(new bytes[](0), 1004, 2);
        _expectRevertPost(_batch(_one(b)), abi.encodeWithSelector(IRollup.BadDelayedHint.selector, 1, 2));
        // Exact hints pass.
        tipHash = START_HASH;
        tipHeight = START_HEIGHT;
        Blk[] memory blocks = new Blk[](3);
        blocks[0] = _nextBlock(new bytes[](0), 999, 0);
        blocks[1] = _nextBlock(new bytes[](0), 1004, 1);
        blocks[2] = _nextBlock(new bytes[](0), 1005, 2);
        _post(_batch(blocks));
        (,,, uint64 included,,) = rollup.inboxState();
        assertEq(included, 2);
    }

    function test_levelOverflow_reverts() public {
        _post(_batch(_one(_emptyBlock())));
        _expectRevertPost(hex"ffffffff", abi.encodeWithSelector(IRollup.InboxLevelOverflow.selector));
    }

    function test_verifierRejection_bubblesUp() public {
        // The permissionless verifier refuses a certificate: its error reaches the poster.
        bytes memory batch = _batch(_one(_emptyBlock()));
        vm.expectRevert(abi.encodeWithSelector(PermissionlessVerifier.UnexpectedCertificate.selector, 1));
        rollup.postBatch(batch, hex"01");
    }

    // ---------------------------------------------------------------- delayed inbox

    function test_deposit_andMessage_enqueue() public {
        vm.deal(alice, 5 ether);
        bytes memory expected = abi.encodePacked(uint16(0), alice, uint256(2 ether), bytes("for bob"));
        vm.expectEmit(true, true, false, true, address(rollup));
        emit IRollup.DelayedMessageEnqueued(0, alice, 2 ether, 1000, keccak256(expected), "for bob");
        vm.prank(alice);
        assertEq(rollup.depositEth{value: 2 ether}("for bob"), 0);
        vm.roll(1001);
        vm.prank(alice);
        assertEq(rollup.sendMessage("hi"), 1);
        for (uint256 i = 0; i < 5; i++) {
            vm.roll(1002 + i);
            rollup.sendMessage(""); // from this contract: contracts may send too
        }
        assertEq(rollup.delayedCount(), 7);
        (bytes32 h0, uint64 b0) = rollup.delayedMessage(0);
        assertEq(h0, keccak256(expected));
        assertEq(b0, 1000);
        (bytes32 h1, uint64 b1) = rollup.delayedMessage(1);
        assertEq(h1, keccak256(abi.encodePacked(uint16(0), alice, uint256(0), bytes("hi"))));
        assertEq(b1, 1001);
        for (uint64 i = 2; i < 7; i++) {
            (, uint64 bi) = rollup.delayedMessage(i);
            assertEq(bi, 1000 + i);
        }
        (bytes32 none, uint64 nb) = rollup.delayedMessage(7);
        assertEq(none, bytes32(0));
        assertEq(nb, 0);
        (uint256 bridge,,,) = rollup.accounting();
        assertEq(bridge, 2 ether);
        assertEq(address(rollup).balance, 2 ether);
    }

    function test_delayedInbox_rejectsBadInput() public {
        vm.expectRevert(IRollup.ZeroDeposit.selector);
        rollup.depositEth("x");
        vm.expectRevert(abi.encodeWithSelector(IRollup.PayloadTooLarge.selector, 4043, 4042));
        rollup.sendMessage(new bytes(4043));
        rollup.sendMessage(new bytes(4042));
        // Plain ETH transfers have no entry point: deposits go through depositEth.
        vm.deal(alice, 1 ether);
        vm.prank(alice);
        (bool ok,) = address(rollup).call{value: 1 ether}("");
        assertFalse(ok);
    }

    // ---------------------------------------------------------------- forced inclusion

    function test_forceInclusion_appendsForcedLevel() public {
        vm.prank(alice);
        rollup.sendMessage("a"); // block 1000
        vm.prank(alice);
        rollup.sendMessage("b"); // block 1000
        vm.roll(1000 + TIMEOUT);
        vm.expectRevert(abi.encodeWithSelector(IRollup.NotOverdue.selector, 1000 + TIMEOUT + 1));
        rollup.forceInclusion(2);
        vm.roll(1000 + TIMEOUT + 1);
        vm.warp(1_700_000_500);
        uint64 ts = 1_700_000_500_000;
        bytes32 bh = keccak256(abi.encodePacked("rollup.inbox.forced.v1", uint64(block.number), uint64(0), uint64(1)));
        bytes32 leaf = keccak256(abi.encodePacked(uint32(1), ts, bh, uint64(0), uint64(1), uint32(0), bytes32(0)));
        bytes32 acc = keccak256(abi.encodePacked(bytes32(0), leaf, uint32(1), uint32(1)));
        vm.expectEmit(true, false, false, true, address(rollup));
        emit IRollup.InclusionForced(0, 1, 0, 1, ts, bh);
        vm.expectEmit(true, false, false, true, address(rollup));
        emit IRollup.BatchPosted(0, 1, 1, leaf, acc, 1);
        vm.prank(alice);
        rollup.forceInclusion(1);

        // A sequencer level naming an old L1 block then includes nothing already forced...
        Blk memory b = _nextBlock(new bytes[](0), 999, 0);
        bytes32 leaf2 = _record(2, b, 1, 1);
        bytes32 acc2 = keccak256(abi.encodePacked(acc, leaf2, uint32(2), uint32(1)));
        vm.expectEmit(true, false, false, true, address(rollup));
        emit IRollup.BatchPosted(1, 2, 1, leaf2, acc2, 1);
        _post(_batch(_one(b)));
        // ...and one naming block 1000 includes the rest.
        Blk memory c = _nextBlock(new bytes[](0), 1000, 2);
        bytes32 leaf3 = _record(3, c, 1, 2);
        vm.expectEmit(true, false, false, true, address(rollup));
        emit IRollup.BatchPosted(2, 3, 1, leaf3, keccak256(abi.encodePacked(acc2, leaf3, uint32(3), uint32(1))), 2);
        _post(_batch(_one(c)));
    }

    function test_forceInclusion_rejectsBadRanges() public {
        vm.expectRevert(abi.encodeWithSelector(IRollup.BadForceRange.selector, 0, 0, 0));
        rollup.forceInclusion(0);
        rollup.sendMessage("a");
        vm.expectRevert(abi.encodeWithSelector(IRollup.BadForceRange.selector, 0, 2, 1));
        rollup.forceInclusion(2);
        vm.roll(block.number + TIMEOUT + 1);
        rollup.forceInclusion(1);
        vm.expectRevert(abi.encodeWithSelector(IRollup.BadForceRange.selector, 1, 1, 1));
        rollup.forceInclusion(1);
    }

    // ---------------------------------------------------------------- helpers

    function _levelWithTable(bytes memory table) internal pure returns (bytes memory) {
        bytes memory hdr = _header(START_HEIGHT + 1, 1, 990, START_HASH, keccak256(table));
        return abi.encodePacked(uint32(1), hdr, table, uint64(0));
    }

    function _prefix(bytes memory b, uint256 n) internal pure returns (bytes memory) {
        return _slice(b, 0, n);
    }

    function _slice(bytes memory b, uint256 from, uint256 len) internal pure returns (bytes memory out) {
        out = new bytes(len);
        for (uint256 i = 0; i < len; i++) {
            out[i] = b[from + i];
        }
    }
}
