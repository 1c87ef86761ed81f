// SPDX-License-Identifier: MIT OR Apache-2.0
pragma solidity ^0.8.30;

import {ISequencerVerifier} from "./ISequencerVerifier.sol";
import {ProtocolCodec} from "../ProtocolCodec.sol";

/// @title PermissionedVerifier
/// @notice A centralized sequencer: one secp256k1 key signs the same finality digest the
/// committee would (docs/protocol.md section 5.3), and a certificate is that signature as
/// `r || s || v` (65 bytes, v = 27 or 28, s in the lower half of the curve order).
contract PermissionedVerifier is ISequencerVerifier {
    /// @notice The certificate names another sequencer chain.
    error WrongChain(uint64 expected, uint64 got);
    /// @notice A certificate is exactly 65 bytes.
    error CertificateLength(uint256 expected, uint256 got);
    /// @notice `v` is not 27/28, `s` is in the upper half, or the signature recovers to nobody.
    error MalformedSignature();
    /// @notice The signature is valid but from another key.
    error WrongSigner(address expected, address recovered);
    /// @notice The sequencer key must be a real address.
    error ZeroSigner();

    /// @dev secp256k1n / 2: signatures with a larger `s` are malleated copies.
    uint256 internal constant HALF_ORDER = 0x7fffffffffffffffffffffffffffffff5d576e7357a4501ddfe92f46681b20a0;

    /// @notice The sequencer chain.
    uint64 public immutable CHAIN_ID;
    /// @notice The sequencer's key.
    address public immutable SIGNER;

    constructor(uint64 chainId, address signer) {
        if (signer == address(0)) revert ZeroSigner();
        CHAIN_ID = chainId;
        SIGNER = signer;
    }

    /// @inheritdoc ISequencerVerifier
    function verify(uint64 chainId, uint64 height, bytes32 blockHash, bytes calldata certificate) external view {
        if (chainId != CHAIN_ID) revert WrongChain(CHAIN_ID, chainId);
        if (certificate.length != 65) revert CertificateLength(65, certificate.length);
        bytes32 r = bytes32(certificate[0:32]);
        bytes32 s = bytes32(certificate[32:64]);
        uint8 v = uint8(certificate[64]);
        if ((v != 27 && v != 28) || uint256(s) > HALF_ORDER) revert MalformedSignature();
        address recovered = ecrecover(ProtocolCodec.finalityDigest(chainId, height, blockHash), v, r, s);
        if (recovered == address(0)) revert MalformedSignature();
        if (recovered != SIGNER) revert WrongSigner(SIGNER, recovered);
    }
}
