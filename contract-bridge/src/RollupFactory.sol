// SPDX-License-Identifier: MIT OR Apache-2.0
pragma solidity ^0.8.30;

import {Rollup} from "./Rollup.sol";
import {IRollup} from "./rollup/IRollup.sol";
import {DataContract} from "./utils/DataContract.sol";

/// @title RollupFactory
/// @notice Originates rollups. Addresses are CREATE2-derived from the creator, its salt and the
/// parameters, so an operator can compute a rollup's address (its kernels' metadata) before
/// originating it, and nobody else can take that address.
/// @dev The Rollup's creation code is larger than what a contract's runtime code may embed
/// (EIP-170), so the factory's constructor, whose initcode may be twice that size, stores it in
/// data contracts (the blueprint) and `originate` reassembles it. The blueprint is written by
/// this constructor from this factory's own compiled Rollup, so it is as trustworthy as the
/// factory itself.
contract RollupFactory {
    /// @notice `creator` originated `rollup` with `salt`.
    event RollupOriginated(address indexed rollup, address indexed creator, bytes32 salt);

    /// @notice The creator already used this salt with these parameters (the address is taken).
    error RollupExists(address rollup);

    uint256 internal constant BLUEPRINT_CHUNK = 24_000;

    /// @notice keccak-256 of the Rollup creation code this factory deploys (without arguments).
    bytes32 public immutable ROLLUP_CREATION_CODE_HASH;
    uint256 internal immutable CREATION_CODE_SIZE;

    /// @notice Whether this factory originated `rollup`.
    mapping(address => bool) public isRollup;
    address[] internal _rollups;
    address[] internal _blueprint;

    constructor() {
        bytes memory code = type(Rollup).creationCode;
        CREATION_CODE_SIZE = code.length;
        ROLLUP_CREATION_CODE_HASH = keccak256(code);
        for (uint256 from = 0; from < code.length; from += BLUEPRINT_CHUNK) {
            uint256 len = code.length - from < BLUEPRINT_CHUNK ? code.length - from : BLUEPRINT_CHUNK;
            bytes memory chunk = new bytes(len);
            assembly ("memory-safe") {
                mcopy(add(chunk, 0x20), add(add(code, 0x20), from), len)
            }
            _blueprint.push(DataContract.deploy(chunk));
        }
    }

    /// @notice Originates a rollup with parameters `config`; a constructor revert (for instance
    /// Rollup's `InvalidParameter(name)`) is passed on as is.
    function originate(IRollup.Config calldata config, bytes32 salt) external returns (address rollup) {
        bytes memory init = _initCode(config);
        bytes32 s = _salt(msg.sender, salt);
        // A taken address would make CREATE2 fail and burn all its gas: check first.
        address predicted = _predict(s, init);
        if (predicted.code.length != 0) revert RollupExists(predicted);
        assembly ("memory-safe") {
            rollup := create2(0, add(init, 0x20), mload(init), s)
            if iszero(rollup) {
                returndatacopy(0, 0, returndatasize())
                revert(0, returndatasize())
            }
        }
        isRollup[rollup] = true;
        _rollups.push(rollup);
        emit RollupOriginated(rollup, msg.sender, salt);
    }

    /// @notice The address `originate(config, salt)` called by `creator` creates.
    function rollupAddress(address creator, IRollup.Config calldata config, bytes32 salt)
        external
        view
        returns (address)
    {
        return _predict(_salt(creator, salt), _initCode(config));
    }

    /// @notice How many rollups this factory originated.
    function rollupCount() external view returns (uint256) {
        return _rollups.length;
    }

    /// @notice The `index`-th rollup originated here.
    function rollupAt(uint256 index) external view returns (address) {
        return _rollups[index];
    }

    /// @dev The Rollup creation code from the blueprint, followed by the ABI-encoded config.
    function _initCode(IRollup.Config calldata config) private view returns (bytes memory init) {
        bytes memory args = abi.encode(config);
        uint256 size = CREATION_CODE_SIZE;
        init = new bytes(size + args.length);
        uint256 base;
        assembly ("memory-safe") {
            base := add(init, 0x20)
        }
        uint256 chunks = _blueprint.length;
        for (uint256 i = 0; i < chunks; i++) {
            uint256 from = i * BLUEPRINT_CHUNK;
            uint256 len = size - from < BLUEPRINT_CHUNK ? size - from : BLUEPRINT_CHUNK;
            DataContract.read(_blueprint[i], 0, base + from, len);
        }
        assembly ("memory-safe") {
            mcopy(add(base, size), add(args, 0x20), mload(args))
        }
    }

    function _predict(bytes32 salt, bytes memory init) private view returns (address) {
        return
            address(uint160(uint256(keccak256(abi.encodePacked(bytes1(0xff), address(this), salt, keccak256(init))))));
    }

    function _salt(address creator, bytes32 salt) private pure returns (bytes32) {
        return keccak256(abi.encode(creator, salt));
    }
}
