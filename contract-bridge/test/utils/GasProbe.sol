// SPDX-License-Identifier: MIT OR Apache-2.0
pragma solidity ^0.8.30;

import {ISequencerVerifier} from "../../src/verifiers/ISequencerVerifier.sol";

/// @notice Measures what a verifier's `verify` costs inside a transaction, calldata excluded
/// (the gas table of docs/contracts.md uses it through the Rust bindings).
contract GasProbe {
    function measureVerify(
        address verifier,
        uint64 chainId,
        uint64 height,
        bytes32 blockHash,
        bytes calldata certificate
    ) external view returns (uint256 gasUsed) {
        uint256 before = gasleft();
        ISequencerVerifier(verifier).verify(chainId, height, blockHash, certificate);
        gasUsed = before - gasleft();
    }
}
