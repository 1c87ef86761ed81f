// SPDX-License-Identifier: MIT OR Apache-2.0
pragma solidity ^0.8.30;

import {ISequencerVerifier} from "./ISequencerVerifier.sol";

/// @title PermissionlessVerifier
/// @notice No sequencer: anyone may post any batch that chains correctly. The certificate must be
/// empty, so a poster who meant to use another verifier finds out at once.
contract PermissionlessVerifier is ISequencerVerifier {
    /// @notice Open inboxes take no certificate.
    error UnexpectedCertificate(uint256 length);

    /// @inheritdoc ISequencerVerifier
    function verify(uint64, uint64, bytes32, bytes calldata certificate) external pure {
        if (certificate.length != 0) revert UnexpectedCertificate(certificate.length);
    }
}
