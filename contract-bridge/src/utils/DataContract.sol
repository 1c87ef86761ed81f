// SPDX-License-Identifier: MIT OR Apache-2.0
pragma solidity ^0.8.30;

/// @title DataContract
/// @notice Bytes kept as the code of a contract that can never run (its code starts with STOP):
/// writing costs 200 gas per byte once, reading is an EXTCODECOPY, far cheaper than storage for
/// data read often and changed rarely (the committee's stake table, the rollup blueprint).
library DataContract {
    /// @notice Deploying a data contract failed (out of gas, or over the 24,576-byte code limit).
    error DataContractDeploymentFailed(uint256 length);

    /// @notice The largest `data` one contract holds (the EIP-170 limit minus the STOP byte).
    uint256 internal constant MAX_DATA = 24_575;

    /// @notice Deploys a contract whose code is `0x00 || data`; `data` is at code offset 1.
    function deploy(bytes memory data) internal returns (address a) {
        uint256 codeLen = data.length + 1;
        if (codeLen > MAX_DATA + 1) revert DataContractDeploymentFailed(data.length);
        // PUSH2 len, DUP1, PUSH1 10, RETURNDATASIZE, CODECOPY, RETURNDATASIZE, RETURN, then code.
        bytes memory init = abi.encodePacked(hex"61", uint16(codeLen), hex"80600a3d393df300", data);
        assembly ("memory-safe") {
            a := create(0, add(init, 0x20), mload(init))
        }
        if (a == address(0)) revert DataContractDeploymentFailed(data.length);
    }

    /// @notice Copies `len` bytes of data from offset `from` of data contract `a` to memory `to`.
    function read(address a, uint256 from, uint256 to, uint256 len) internal view {
        assembly ("memory-safe") {
            extcodecopy(a, to, add(from, 1), len)
        }
    }
}
