// SPDX-License-Identifier: MIT OR Apache-2.0
pragma solidity ^0.8.30;

import {Test} from "./utils/Test.sol";
import {PermissionedVerifier} from "../src/verifiers/PermissionedVerifier.sol";
import {PermissionlessVerifier} from "../src/verifiers/PermissionlessVerifier.sol";
import {ProtocolCodec} from "../src/ProtocolCodec.sol";

/// @notice The single-key and the open verifier.
contract VerifiersTest is Test {
    uint256 constant KEY = 0xBEEF;
    PermissionedVerifier pv;
    bytes32 constant BLOCK = keccak256("block");

    function setUp() public {
        pv = new PermissionedVerifier(7, vm.addr(KEY));
    }

    function _sig(uint256 key, uint64 height) internal pure returns (bytes memory) {
        (uint8 v, bytes32 r, bytes32 s) = vm.sign(key, ProtocolCodec.finalityDigest(7, height, BLOCK));
        return abi.encodePacked(r, s, v);
    }

    function test_permissioned_acceptsTheSequencerKey() public view {
        pv.verify(7, 5, BLOCK, _sig(KEY, 5));
        assertEq(pv.SIGNER(), vm.addr(KEY));
        assertEq(pv.CHAIN_ID(), 7);
    }

    function test_permissioned_rejectsEverythingElse() public {
        vm.expectRevert(abi.encodeWithSelector(PermissionedVerifier.WrongChain.selector, 7, 8));
        pv.verify(8, 5, BLOCK, _sig(KEY, 5));
        vm.expectRevert(abi.encodeWithSelector(PermissionedVerifier.CertificateLength.selector, 65, 64));
        pv.verify(7, 5, BLOCK, new bytes(64));
        vm.expectRevert(abi.encodeWithSelector(PermissionedVerifier.CertificateLength.selector, 65, 66));
        pv.verify(7, 5, BLOCK, bytes.concat(_sig(KEY, 5), hex"00"));
        // Another key, another height.
        bytes memory other = _sig(0xCAFE, 5);
        vm.expectRevert(
            abi.encodeWithSelector(PermissionedVerifier.WrongSigner.selector, vm.addr(KEY), vm.addr(0xCAFE))
        );
        pv.verify(7, 5, BLOCK, other);
        vm.expectRevert();
        pv.verify(7, 6, BLOCK, _sig(KEY, 5));
        // Malformed: bad v, upper-half s (the malleated twin of a valid signature), zero r.
        bytes memory bad = _sig(KEY, 5);
        bad[64] = 0x1d;
        vm.expectRevert(PermissionedVerifier.MalformedSignature.selector);
        pv.verify(7, 5, BLOCK, bad);
        bytes memory good = _sig(KEY, 5);
        bytes32 r;
        bytes32 s;
        assembly {
            r := mload(add(good, 0x20))
            s := mload(add(good, 0x40))
        }
        uint256 n = 0xfffffffffffffffffffffffffffffffebaaedce6af48a03bbfd25e8cd0364141;
        bytes memory malleated =
            abi.encodePacked(r, bytes32(n - uint256(s)), uint8(good[64]) == 27 ? uint8(28) : uint8(27));
        vm.expectRevert(PermissionedVerifier.MalformedSignature.selector);
        pv.verify(7, 5, BLOCK, malleated);
        vm.expectRevert(PermissionedVerifier.MalformedSignature.selector);
        pv.verify(7, 5, BLOCK, abi.encodePacked(bytes32(0), s, uint8(27)));
    }

    function test_permissioned_needsASigner() public {
        vm.expectRevert(PermissionedVerifier.ZeroSigner.selector);
        new PermissionedVerifier(7, address(0));
    }

    function test_permissionless_acceptsOnlyAnEmptyCertificate() public {
        PermissionlessVerifier open = new PermissionlessVerifier();
        open.verify(1, 2, BLOCK, "");
        vm.expectRevert(abi.encodeWithSelector(PermissionlessVerifier.UnexpectedCertificate.selector, 3));
        open.verify(1, 2, BLOCK, hex"010203");
    }
}
