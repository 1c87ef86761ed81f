// SPDX-License-Identifier: MIT OR Apache-2.0
pragma solidity ^0.8.30;

import {Test} from "./utils/Test.sol";
import {ProtocolCodec, ProtocolCodecProbe} from "../src/ProtocolCodec.sol";

/// @notice The Solidity codec against the vectors printed by `cargo run -p protocol --example vectors`.
contract ProtocolCodecTest is Test {
    ProtocolCodecProbe probe;

    function setUp() public {
        probe = new ProtocolCodecProbe();
    }

    // The Rust crate's WITHDRAWAL_VECTOR (protocol/tests/known_answers.rs).
    bytes constant WITHDRAWAL =
        hex"0000000000000000000000000000000000000000000000000000000000000020"
        hex"0000000000000000000000000000000000000000000000000000000000000001"
        hex"0000000000000000000000000000000000000000000000000000000000000020"
        hex"0000000000000000000000001111111111111111111111111111111111111111"
        hex"0000000000000000000000000000000000000000000000000de0b6b3a7640000"
        hex"0000000000000000000000000000000000000000000000000000000000000060"
        hex"0000000000000000000000000000000000000000000000000000000000000000";

    function test_commitmentHash_matchesRust() public pure {
        bytes32 h = ProtocolCodec.commitmentHash(bytes32(uint256(0x0101010101010101010101010101010101010101010101010101010101010101)), bytes32(uint256(0x0202020202020202020202020202020202020202020202020202020202020202)), 7, 1000);
        assertEq(h, 0x41c3a8f424b986b71c73a97e197100b53a4733f5579f09f0fe264bec0addd045);
    }

    function test_withdrawalVector_decodes() public pure {
        ProtocolCodec.L1Call[] memory calls = ProtocolCodec.decodeOutboxMessage(WITHDRAWAL);
        assertEq(calls.length, 1);
        assertEq(calls[0].destination, address(0x1111111111111111111111111111111111111111));
        assertEq(calls[0].value, 1 ether);
        assertEq(calls[0].data.length, 0);
    }

    function test_outboxEncoding_isAbiEncode(address to, uint256 value, bytes memory data, uint8 n) public pure {
        vm.assume(data.length < 600);
        n = uint8(bound(n, 0, 4));
        ProtocolCodec.L1Call[] memory calls = new ProtocolCodec.L1Call[](n);
        for (uint256 i = 0; i < n; i++) {
            calls[i] = ProtocolCodec.L1Call(to, value ^ i, data);
        }
        bytes memory m = abi.encode(calls);
        assertEq(ProtocolCodec.isCanonicalOutboxMessage(m), m.length <= 4096);
    }

    function test_nonCanonical_rejectedWithNamedError() public {
        bytes memory bad = WITHDRAWAL;
        bad[96 + 11] = 0x01; // dirty address byte
        vm.expectRevert(ProtocolCodec.MalformedOutboxMessage.selector);
        probe.decodeOutboxMessage(bad);
        bytes memory trailing = bytes.concat(WITHDRAWAL, bytes32(0));
        assertFalse(ProtocolCodec.isCanonicalOutboxMessage(trailing));
        bytes memory dirtyPadding = abi.encode(_one(hex"aa"));
        dirtyPadding[dirtyPadding.length - 1] = 0x01;
        assertFalse(ProtocolCodec.isCanonicalOutboxMessage(dirtyPadding));
        assertFalse(ProtocolCodec.isCanonicalOutboxMessage(hex""));
        assertFalse(ProtocolCodec.isCanonicalOutboxMessage(new bytes(4097)));
    }

    function test_randomBytes_neverRevertTheCheck(bytes memory m) public pure {
        // Must return, never revert, on any input.
        ProtocolCodec.isCanonicalOutboxMessage(m);
    }

    function test_transferEncoding_matchesRust() public pure {
        bytes memory t = ProtocolCodec.encodeTransfer(address(0x2222222222222222222222222222222222222222), 5, "hi");
        assertEq(t, hex"0000222222222222222222222222222222222222222200000000000000000000000000000000000000000000000000000000000000056869");
    }

    function test_header_andFinalityDigest_matchRust() public view {
        bytes memory header = hex"0000000000000001000000000000000a000000000000000c0000018bcfe568000000000000000064030303030303030303030303030303030303030303030303030303030303030357ce6cdfd63ef0d7490570cc846e4b0568d91ed9b489539d34bc9bf97d5f926f";
        ProtocolCodec.Header memory h = ProtocolCodec.decodeHeader(header);
        assertEq(h.chainId, 1);
        assertEq(h.height, 10);
        assertEq(h.viewNumber, 12);
        assertEq(h.timestampMs, 1_700_000_000_000);
        assertEq(h.l1Block, 100);
        assertEq(h.parent, bytes32(uint256(0x0303030303030303030303030303030303030303030303030303030303030303)));
        (bytes32 blockHash, bytes32 digest) = probe.headerHashAndDigest(header);
        assertEq(blockHash, 0x52339365a9516d650b72665f3a6c3a811bdb7bdc604acb46b05157d54f7bf091);
        assertEq(digest, 0x1d2c2443df165a278470f53fecfcbb970fb5fca9f990cb7a2602390f6fa83852);
        assertEq(ProtocolCodec.FINALITY_DOMAIN, 0x8db1fbe85b6ac60a8390796cf7d174ffa697d318bec87b8c9d2069dad08cd892);
    }

    function test_malformedHeader_reverts() public {
        vm.expectRevert(abi.encodeWithSelector(ProtocolCodec.MalformedHeader.selector, 103));
        probe.headerHashAndDigest(new bytes(103));
    }

    function test_merkle_txRoot_matchesRust() public pure {
        bytes32[] memory leaves = new bytes32[](3);
        leaves[0] = keccak256("tx1");
        leaves[1] = keccak256("tx2");
        leaves[2] = keccak256("tx3");
        bytes32 root = keccak256(abi.encodePacked(keccak256(abi.encodePacked(leaves[0], leaves[1])), keccak256(abi.encodePacked(leaves[2], bytes32(0)))));
        assertEq(root, 0x96e12cf5ab574b9e9728298caee45e5e54f9cc3891b2cdeac4cd5ea7fe5a194d);
        bytes32[] memory path = new bytes32[](2);
        path[0] = bytes32(0);
        path[1] = keccak256(abi.encodePacked(leaves[0], leaves[1]));
        assertEq(ProtocolCodec.rootFromPath(leaves[2], 2, path), root);
        assertEq(ProtocolCodec.merkleDepth(3), 2);
        assertEq(ProtocolCodec.merkleDepth(1), 0);
        assertEq(ProtocolCodec.merkleDepth(100), 7);
    }

    function test_emptyOutboxRoot_matchesRust() public pure {
        bytes32 z = bytes32(0);
        for (uint256 i = 0; i < 20; i++) z = keccak256(abi.encodePacked(z, z));
        assertEq(z, 0xc65e9645644786b620e2dd2ad648ddfcbf4a7e5b1a3a4ecfe7f64667a3f0b7e2);
    }

    function test_inboxHashes_matchRust() public view {
        // protocol::l1_batch known answers.
        assertEq(
            probe.levelRecordHash(7, 1_700_000_000_000, bytes32(uint256(0x1111111111111111111111111111111111111111111111111111111111111111)), 3, 5, 2, bytes32(uint256(0x2222222222222222222222222222222222222222222222222222222222222222))),
            0x2e7593cc73675d9215c119eb64c59b68c9522a27d75692ec0662a5d9b70003a5
        );
        assertEq(
            probe.accumulate(bytes32(uint256(0x3333333333333333333333333333333333333333333333333333333333333333)), bytes32(uint256(0x4444444444444444444444444444444444444444444444444444444444444444)), 9, 3),
            0x514936e077bd86927a4bd9a14a7e0569b154d840a8cdab7efa87a04e569753bc
        );
        assertEq(probe.forcedBlockHash(1234, 5, 8), 0xe2719933928d25ddfdc6382bd8a9de780db976c6b9062fcb641ebf6c956ecb7c);
        assertEq(
            probe.delayedMessageHash(address(0x2222222222222222222222222222222222222222), 5, "hi"),
            keccak256(hex"0000222222222222222222222222222222222222222200000000000000000000000000000000000000000000000000000000000000056869")
        );
    }

    function test_merkleRoot_matchesPathsAndRust() public pure {
        bytes32[] memory leaves = new bytes32[](3);
        leaves[0] = keccak256("tx1");
        leaves[1] = keccak256("tx2");
        leaves[2] = keccak256("tx3");
        assertEq(ProtocolCodec.merkleRoot(leaves), 0x96e12cf5ab574b9e9728298caee45e5e54f9cc3891b2cdeac4cd5ea7fe5a194d);
        assertEq(ProtocolCodec.merkleRoot(new bytes32[](0)), bytes32(0));
        bytes32[] memory one = new bytes32[](1);
        one[0] = keccak256("only");
        assertEq(ProtocolCodec.merkleRoot(one), keccak256("only"));
    }

    function test_merkleRoot_agreesWithRootFromPath(uint8 n, uint8 at) public pure {
        n = uint8(bound(n, 1, 40));
        at = uint8(bound(at, 0, n - 1));
        bytes32[] memory leaves = new bytes32[](n);
        for (uint256 i = 0; i < n; i++) leaves[i] = keccak256(abi.encode(i));
        // Build the path of leaf `at` level by level, padding with zero subtrees.
        uint256 depth = ProtocolCodec.merkleDepth(n);
        bytes32[] memory path = new bytes32[](depth);
        bytes32[] memory layer = leaves;
        bytes32 zero;
        uint256 idx = at;
        for (uint256 h = 0; h < depth; h++) {
            uint256 width = (layer.length + 1) / 2;
            path[h] = (idx ^ 1) < layer.length ? layer[idx ^ 1] : zero;
            bytes32[] memory next = new bytes32[](width);
            for (uint256 i = 0; i < width; i++) {
                next[i] = keccak256(abi.encodePacked(layer[2 * i], 2 * i + 1 < layer.length ? layer[2 * i + 1] : zero));
            }
            layer = next;
            zero = keccak256(abi.encodePacked(zero, zero));
            idx /= 2;
        }
        bytes32 leaf = leaves[at];
        bytes32[] memory copy = new bytes32[](n);
        for (uint256 i = 0; i < n; i++) copy[i] = leaves[i];
        assertEq(ProtocolCodec.merkleRoot(copy), ProtocolCodec.rootFromPath(leaf, at, path));
    }

    function _one(bytes memory data) private pure returns (ProtocolCodec.L1Call[] memory calls) {
        calls = new ProtocolCodec.L1Call[](1);
        calls[0] = ProtocolCodec.L1Call(address(1), 0, data);
    }
}
