// SPDX-License-Identifier: MIT OR Apache-2.0
pragma solidity ^0.8.30;

import {Test} from "./utils/Test.sol";
import {CommitteeFixtures as F} from "./fixtures/CommitteeFixtures.sol";
import {CommitteeVerifier} from "../src/verifiers/CommitteeVerifier.sol";
import {BLS12381} from "../src/verifiers/BLS12381.sol";

/// @notice Exposes the library's hash to G2 so it can be compared with blst's.
contract HashToG2Harness {
    function hashToG2(bytes32 message) external view returns (bytes memory out) {
        out = new bytes(256);
        uint256 scratch;
        assembly ("memory-safe") {
            scratch := mload(0x40)
            mstore(0x40, add(scratch, 1536))
        }
        uint256 o;
        assembly ("memory-safe") {
            o := add(out, 0x20)
        }
        BLS12381.hashToG2(message, o, scratch);
    }
}

/// @notice The committee verifier against certificates made by the Rust committee crate (blst):
/// valid ones pass, every kind of tampering reverts with its named error.
contract CommitteeVerifierTest is Test {
    CommitteeVerifier verifier;

    function setUp() public {
        verifier = new CommitteeVerifier(F.CHAIN_ID, F.COMMITTEE);
    }

    function test_hashToG2_matchesBlst() public {
        HashToG2Harness h = new HashToG2Harness();
        assertEq(h.hashToG2(F.DIGEST), F.DIGEST_HASH_TO_G2);
    }

    function test_genesisCommittee_installed() public view {
        (uint64 epoch, uint32 size, bytes32 hash, uint256 total) = verifier.committee();
        assertEq(epoch, 0);
        assertEq(size, 4);
        assertEq(hash, F.COMMITTEE_HASH);
        assertEq(total, 40);
        (bytes memory key, uint64 stake) = verifier.member(2);
        assertEq(key, _slice(F.COMMITTEE, 12 + 2 * 136, 128));
        assertEq(stake, 10);
    }

    function test_member_outOfRange_reverts() public {
        vm.expectRevert(abi.encodeWithSelector(CommitteeVerifier.CommitteeSize.selector, 4));
        verifier.member(4);
    }

    function test_validCertificates_verify() public view {
        verifier.verify(F.CHAIN_ID, F.HEIGHT, F.BLOCK_HASH, F.CERT_THREE_OF_FOUR);
        verifier.verify(F.CHAIN_ID, F.HEIGHT, F.BLOCK_HASH, F.CERT_ALL);
    }

    function test_wrongMessage_reverts() public {
        vm.expectRevert(CommitteeVerifier.SignatureMismatch.selector);
        verifier.verify(F.CHAIN_ID, F.HEIGHT, F.BLOCK_HASH, F.CERT_WRONG_MESSAGE);
        // The right certificate for another height or block is the wrong message too.
        vm.expectRevert(CommitteeVerifier.SignatureMismatch.selector);
        verifier.verify(F.CHAIN_ID, F.HEIGHT + 1, F.BLOCK_HASH, F.CERT_THREE_OF_FOUR);
        vm.expectRevert(CommitteeVerifier.SignatureMismatch.selector);
        verifier.verify(F.CHAIN_ID, F.HEIGHT, keccak256("another block"), F.CERT_THREE_OF_FOUR);
    }

    function test_wrongChain_reverts() public {
        vm.expectRevert(abi.encodeWithSelector(CommitteeVerifier.WrongChain.selector, F.CHAIN_ID, F.CHAIN_ID + 1));
        verifier.verify(F.CHAIN_ID + 1, F.HEIGHT, F.BLOCK_HASH, F.CERT_THREE_OF_FOUR);
    }

    function test_wrongBitmap_reverts() public {
        vm.expectRevert(CommitteeVerifier.SignatureMismatch.selector);
        verifier.verify(F.CHAIN_ID, F.HEIGHT, F.BLOCK_HASH, F.CERT_WRONG_BITMAP);
    }

    function test_underThreshold_reverts() public {
        vm.expectRevert(abi.encodeWithSelector(CommitteeVerifier.BelowQuorum.selector, 20, 40));
        verifier.verify(F.CHAIN_ID, F.HEIGHT, F.BLOCK_HASH, F.CERT_UNDER_THRESHOLD);
    }

    function test_emptyBitmap_reverts() public {
        bytes memory none = F.CERT_THREE_OF_FOUR;
        none[256] = 0;
        vm.expectRevert(abi.encodeWithSelector(CommitteeVerifier.BelowQuorum.selector, 0, 40));
        verifier.verify(F.CHAIN_ID, F.HEIGHT, F.BLOCK_HASH, none);
    }

    function test_keyNotInTable_reverts() public {
        vm.expectRevert(CommitteeVerifier.SignatureMismatch.selector);
        verifier.verify(F.CHAIN_ID, F.HEIGHT, F.BLOCK_HASH, F.CERT_WITH_OUTSIDER);
    }

    function test_bitsPastCommittee_revert() public {
        vm.expectRevert(CommitteeVerifier.BitmapBitsPastCommittee.selector);
        verifier.verify(F.CHAIN_ID, F.HEIGHT, F.BLOCK_HASH, F.CERT_BITS_PAST_N);
    }

    function test_badPointEncodings_revert() public {
        vm.expectRevert(CommitteeVerifier.InvalidSignaturePoint.selector);
        verifier.verify(F.CHAIN_ID, F.HEIGHT, F.BLOCK_HASH, F.CERT_BAD_POINT);
        // Non-zero padding above a coordinate.
        bytes memory padded = F.CERT_THREE_OF_FOUR;
        padded[0] = 0x01;
        vm.expectRevert(CommitteeVerifier.InvalidSignaturePoint.selector);
        verifier.verify(F.CHAIN_ID, F.HEIGHT, F.BLOCK_HASH, padded);
        // A point off the curve.
        bytes memory off = F.CERT_THREE_OF_FOUR;
        off[255] = off[255] ^ 0x01;
        vm.expectRevert(CommitteeVerifier.InvalidSignaturePoint.selector);
        verifier.verify(F.CHAIN_ID, F.HEIGHT, F.BLOCK_HASH, off);
    }

    function test_validPointThatIsNoSignature_reverts() public {
        vm.expectRevert(CommitteeVerifier.SignatureMismatch.selector);
        verifier.verify(F.CHAIN_ID, F.HEIGHT, F.BLOCK_HASH, F.CERT_NOT_A_SIGNATURE);
    }

    function test_wrongLength_reverts() public {
        bytes memory c = F.CERT_THREE_OF_FOUR;
        vm.expectRevert(abi.encodeWithSelector(CommitteeVerifier.CertificateLength.selector, 257, 258));
        verifier.verify(F.CHAIN_ID, F.HEIGHT, F.BLOCK_HASH, bytes.concat(c, hex"00"));
        vm.expectRevert(abi.encodeWithSelector(CommitteeVerifier.CertificateLength.selector, 257, 256));
        verifier.verify(F.CHAIN_ID, F.HEIGHT, F.BLOCK_HASH, _slice(c, 0, 256));
        vm.expectRevert(abi.encodeWithSelector(CommitteeVerifier.CertificateLength.selector, 257, 0));
        verifier.verify(F.CHAIN_ID, F.HEIGHT, F.BLOCK_HASH, "");
    }

    function test_stakeWeighting() public {
        CommitteeVerifier heavy = new CommitteeVerifier(F.CHAIN_ID, F.HEAVY_COMMITTEE);
        heavy.verify(F.CHAIN_ID, F.HEIGHT, F.BLOCK_HASH, F.CERT_HEAVY_ALONE);
        vm.expectRevert(abi.encodeWithSelector(CommitteeVerifier.BelowQuorum.selector, 3, 103));
        heavy.verify(F.CHAIN_ID, F.HEIGHT, F.BLOCK_HASH, F.CERT_LIGHT_THREE);
    }

    function test_handover_installsNextCommittee() public {
        vm.expectEmit(true, true, false, true, address(verifier));
        emit CommitteeVerifier.CommitteeInstalled(1, F.NEXT_COMMITTEE_HASH, 5, 15, F.NEXT_COMMITTEE);
        verifier.handover(F.NEXT_COMMITTEE, F.CERT_HANDOVER);
        (uint64 epoch, uint32 size, bytes32 hash, uint256 total) = verifier.committee();
        assertEq(epoch, 1);
        assertEq(size, 5);
        assertEq(hash, F.NEXT_COMMITTEE_HASH);
        assertEq(total, 15);
        // The new committee certifies; the old one no longer does.
        verifier.verify(F.CHAIN_ID, F.HEIGHT, F.BLOCK_HASH, F.CERT_NEXT_EPOCH);
        // (Its bitmap has the same length, so it reads as members 0-2 of the new committee.)
        vm.expectRevert(abi.encodeWithSelector(CommitteeVerifier.BelowQuorum.selector, 9, 15));
        verifier.verify(F.CHAIN_ID, F.HEIGHT, F.BLOCK_HASH, F.CERT_THREE_OF_FOUR);
        // Replaying the handover fails: the certificate is checked against the new committee.
        vm.expectRevert();
        verifier.handover(F.NEXT_COMMITTEE, F.CERT_HANDOVER);
    }

    function test_handover_rejectsBadCertificatesAndEpochs() public {
        vm.expectRevert(CommitteeVerifier.SignatureMismatch.selector);
        verifier.handover(F.NEXT_COMMITTEE, F.CERT_THREE_OF_FOUR);
        vm.expectRevert(abi.encodeWithSelector(CommitteeVerifier.WrongEpoch.selector, 1, 2));
        verifier.handover(F.SKIPPING_COMMITTEE, F.CERT_HANDOVER_SKIPPING);
    }

    function test_committeeEncoding_validated() public {
        bytes memory c = F.COMMITTEE;
        vm.expectRevert(abi.encodeWithSelector(CommitteeVerifier.CommitteeEncodingLength.selector, 12, 11));
        new CommitteeVerifier(1, _slice(c, 0, 11));
        vm.expectRevert(
            abi.encodeWithSelector(CommitteeVerifier.CommitteeEncodingLength.selector, c.length, c.length - 1)
        );
        new CommitteeVerifier(1, _slice(c, 0, c.length - 1));
        vm.expectRevert(abi.encodeWithSelector(CommitteeVerifier.CommitteeSize.selector, 0));
        new CommitteeVerifier(1, hex"000000000000000000000000");
        vm.expectRevert(abi.encodeWithSelector(CommitteeVerifier.CommitteeSize.selector, 1025));
        new CommitteeVerifier(1, hex"000000000000000000000401");

        bytes memory zeroStake = F.COMMITTEE;
        zeroStake[12 + 136 + 135] = 0x00; // member 1's stake 10 -> 0
        vm.expectRevert(abi.encodeWithSelector(CommitteeVerifier.ZeroStake.selector, 1));
        new CommitteeVerifier(1, zeroStake);

        bytes memory badPadding = F.COMMITTEE;
        badPadding[12 + 2 * 136] = 0x01;
        vm.expectRevert(abi.encodeWithSelector(CommitteeVerifier.InvalidCommitteeKey.selector, 2));
        new CommitteeVerifier(1, badPadding);

        bytes memory infinity = F.COMMITTEE;
        for (uint256 i = 0; i < 128; i++) {
            infinity[12 + 3 * 136 + i] = 0;
        }
        vm.expectRevert(abi.encodeWithSelector(CommitteeVerifier.InvalidCommitteeKey.selector, 3));
        new CommitteeVerifier(1, infinity);

        bytes memory offCurve = F.COMMITTEE;
        offCurve[12 + 127] = offCurve[12 + 127] ^ 0x01;
        vm.expectRevert(CommitteeVerifier.InvalidCommitteeKeys.selector);
        new CommitteeVerifier(1, offCurve);
    }

    function test_keysSummingToInfinity_revert() public {
        // Member 1 is member 0 negated (a rogue-key pair a proof of possession would have
        // stopped): their aggregate is the point at infinity.
        bytes memory key0 = _slice(F.COMMITTEE, 12, 128);
        bytes memory neg = _slice(F.COMMITTEE, 12, 128);
        uint256 hi;
        uint256 lo;
        assembly {
            hi := mload(add(neg, 0x60))
            lo := mload(add(neg, 0x80))
        }
        uint256 pHi = 0x1a0111ea397fe69a4b1ba7b6434bacd7;
        uint256 pLo = 0x64774b84f38512bf6730d2a0f6b0f6241eabfffeb153ffffb9feffffffffaaab;
        unchecked {
            uint256 borrow = pLo < lo ? 1 : 0;
            lo = pLo - lo;
            hi = pHi - hi - borrow;
        }
        assembly {
            mstore(add(neg, 0x60), hi)
            mstore(add(neg, 0x80), lo)
        }
        bytes memory committee = abi.encodePacked(
            uint64(0), uint32(3), key0, uint64(10), neg, uint64(10), _slice(F.COMMITTEE, 12 + 136, 128), uint64(1)
        );
        CommitteeVerifier rogue = new CommitteeVerifier(F.CHAIN_ID, committee);
        bytes memory cert = bytes.concat(_slice(F.CERT_ALL, 0, 256), hex"03");
        vm.expectRevert(CommitteeVerifier.AggregateKeyIsInfinity.selector);
        rogue.verify(F.CHAIN_ID, F.HEIGHT, F.BLOCK_HASH, cert);
    }

    function test_verifyGas_fourMembers() public view {
        uint256 before = gasleft();
        verifier.verify(F.CHAIN_ID, F.HEIGHT, F.BLOCK_HASH, F.CERT_THREE_OF_FOUR);
        uint256 used = before - gasleft();
        assertLe(used, 250_000, "verify gas");
    }

    function _slice(bytes memory b, uint256 from, uint256 len) internal pure returns (bytes memory out) {
        out = new bytes(len);
        for (uint256 i = 0; i < len; i++) {
            out[i] = b[from + i];
        }
    }
}
