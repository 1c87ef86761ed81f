// SPDX-License-Identifier: MIT OR Apache-2.0
pragma solidity ^0.8.30;

import {Test} from "./utils/Test.sol";
import {CommitteeVerifier} from "../src/verifiers/CommitteeVerifier.sol";
import {HashToG2Harness} from "./CommitteeVerifier.t.sol";
import {ProtocolCodec} from "../src/ProtocolCodec.sol";

/// @notice The gas budget of the committee verifier at 128 members (at most 250k to verify,
/// calldata excluded), with keys `sk_i = i + 1` and aggregate signatures built from the
/// precompiles themselves (sig = (sum of signer keys) * H(m)); the hash to G2 is the one checked
/// against blst in CommitteeVerifier.t.sol.
contract CommitteeVerifierGasTest is Test {
    uint256 constant N = 128;
    CommitteeVerifier verifier;
    HashToG2Harness hasher;
    bytes32 constant BLOCK = keccak256("gas block");

    function setUp() public {
        verifier = _committee(1);
        hasher = new HashToG2Harness();
    }

    /// @dev Members `sk_i = i + 1`; the first half with stake `heavy`, the rest with stake 1.
    function _committee(uint64 heavy) internal returns (CommitteeVerifier) {
        bytes memory enc = abi.encodePacked(uint64(0), uint32(N));
        for (uint256 i = 0; i < N; i++) enc = abi.encodePacked(enc, _g1Mul(i + 1), i < N / 2 ? heavy : uint64(1));
        return new CommitteeVerifier(1, enc);
    }

    function _g1Mul(uint256 k) internal view returns (bytes memory out) {
        bytes memory input = abi.encodePacked(
            uint256(0x17f1d3a73197d7942695638c4fa9ac0f),
            uint256(0xc3688c4f9774b905a14e3a3f171bac586c55e83ff97a1aeffb3af00adb22c6bb),
            uint256(0x08b3f481e3aaa0f1a09e30ed741d8ae4),
            uint256(0xfcf5e095d5d00af600db18cb2c04b3edd03cc744a2888ae40caa232946c5e7e1),
            k
        );
        bool ok;
        (ok, out) = address(0x0c).staticcall(input);
        require(ok && out.length == 128, "G1MSM");
    }

    function _certificate(uint256 signers, bytes32 digest) internal view returns (bytes memory) {
        uint256 sum;
        bytes memory bitmap = new bytes(N / 8);
        for (uint256 i = 0; i < signers; i++) {
            sum += i + 1;
            bitmap[i / 8] = bytes1(uint8(bitmap[i / 8]) | uint8(1 << (i % 8)));
        }
        (bool ok, bytes memory sig) = address(0x0e).staticcall(abi.encodePacked(hasher.hashToG2(digest), sum));
        require(ok && sig.length == 256, "G2MSM");
        return bytes.concat(sig, bitmap);
    }

    function _measure(CommitteeVerifier v, uint256 signers) internal view returns (uint256 used) {
        bytes memory cert = _certificate(signers, ProtocolCodec.finalityDigest(1, 5, BLOCK));
        uint256 before = gasleft();
        v.verify(1, 5, BLOCK, cert);
        used = before - gasleft();
    }

    /// @notice Equal stakes: a bare quorum leaves the most non-signers to subtract (42).
    function test_verifyGas_128Members_bareQuorum() public view {
        assertLe(_measure(verifier, 86), 250_000, "86 of 128 signers");
    }

    function test_verifyGas_128Members_all() public view {
        assertLe(_measure(verifier, 128), 250_000, "128 of 128 signers");
    }

    /// @notice The worst case of all: half the members hold the quorum, so 64 keys are added.
    function test_verifyGas_128Members_halfHoldTheStake() public {
        CommitteeVerifier weighted = _committee(100);
        assertLe(_measure(weighted, 64), 250_000, "64 heavy signers of 128");
    }
}
