// SPDX-License-Identifier: MIT OR Apache-2.0
pragma solidity ^0.8.30;

import {Rollup} from "./Rollup.sol";
import {IRollup} from "./rollup/IRollup.sol";
import {DataContract} from "./utils/DataContract.sol";
import {RefutationGame} from "./game/RefutationGame.sol";
import {IGameDeployer} from "./game/IRefutationGame.sol";

/// @title RollupFactory
/// @notice Originates rollups. Addresses are CREATE2-derived from the creator, its salt and the
/// parameters, so an operator can compute a rollup's address (its kernels' metadata) before
/// originating it, and nobody else can take that address.
/// @dev The Rollup's creation code is larger than what a contract's runtime code may embed
/// (EIP-170), so the factory's constructor, whose initcode may be twice that size, stores it in
/// data contracts (the blueprint) and `originate` reassembles it. The blueprint is written by
/// this constructor from this factory's own compiled Rollup, so it is as trustworthy as the
/// factory itself.
///
/// Every rollup gets its own RefutationGame, deployed here in the same transaction and named as
/// the rollup's `gameResolver`, judged by this factory's one-step verifier: so no account can
/// settle a game of a rollup this factory originated, and `isRollup` is what a user checks.
contract RollupFactory is IGameDeployer {
    /// @notice `creator` originated `rollup` with `salt`; `game` is its refutation game.
    event RollupOriginated(address indexed rollup, address indexed creator, bytes32 salt, address game);

    /// @notice The creator already used this salt with these parameters (the address is taken).
    error RollupExists(address rollup);
    /// @notice `originate` was given a game resolver: leave it zero, the factory deploys the
    /// rollup's game and names it.
    error GameResolverNotZero(address given);
    /// @notice The one-step verifier given to the constructor has no code.
    error VerifierWithoutCode(address verifier);

    uint256 internal constant BLUEPRINT_CHUNK = 24_000;

    /// @notice keccak-256 of the Rollup creation code this factory deploys (without arguments).
    bytes32 public immutable ROLLUP_CREATION_CODE_HASH;
    /// @notice keccak-256 of the RefutationGame creation code (it takes no arguments).
    bytes32 public immutable GAME_CREATION_CODE_HASH;
    /// @notice The one-step verifier (IOneStepProof) that judges every game of this factory's
    /// rollups.
    address public immutable ONE_STEP_PROOF;
    uint256 internal immutable CREATION_CODE_SIZE;
    /// @dev The game's creation code is kept like the Rollup's (in a data contract), so that this
    /// factory's own code stays under the limits.
    address internal immutable GAME_BLUEPRINT;
    uint256 internal immutable GAME_CODE_SIZE;

    /// @dev Transient slots: what the game being deployed asks for (`gameParameters`).
    bytes32 private constant PENDING_ROLLUP_SLOT = keccak256("rollup.factory.pending-rollup");

    /// @notice Whether this factory originated `rollup`.
    mapping(address => bool) public isRollup;
    address[] internal _rollups;
    address[] internal _blueprint;

    constructor(address oneStepProof) {
        if (oneStepProof.code.length == 0) revert VerifierWithoutCode(oneStepProof);
        ONE_STEP_PROOF = oneStepProof;
        bytes memory gameCode = type(RefutationGame).creationCode;
        GAME_CREATION_CODE_HASH = keccak256(gameCode);
        GAME_CODE_SIZE = gameCode.length;
        GAME_BLUEPRINT = DataContract.deploy(gameCode);
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

    /// @notice Originates a rollup with parameters `config` (whose `gameResolver` must be zero)
    /// and its refutation game; a constructor revert (for instance Rollup's
    /// `InvalidParameter(name)`) is passed on as is.
    function originate(IRollup.Config calldata config, bytes32 salt) external returns (address rollup) {
        if (config.gameResolver != address(0)) revert GameResolverNotZero(config.gameResolver);
        bytes32 gameSalt = _gameSalt(msg.sender, salt, config);
        address game = _predict(gameSalt, GAME_CREATION_CODE_HASH);
        IRollup.Config memory full = config;
        full.gameResolver = game;
        bytes memory init = _initCode(full);
        bytes32 s = _salt(msg.sender, salt);
        // A taken address would make CREATE2 fail and burn all its gas: check first.
        address predicted = _predict(s, keccak256(init));
        if (predicted.code.length != 0) revert RollupExists(predicted);
        assembly ("memory-safe") {
            rollup := create2(0, add(init, 0x20), mload(init), s)
            if iszero(rollup) {
                returndatacopy(0, 0, returndatasize())
                revert(0, returndatasize())
            }
        }
        bytes32 slot = PENDING_ROLLUP_SLOT;
        assembly ("memory-safe") {
            tstore(slot, rollup)
        }
        // The game checks that the rollup names it; a mismatch would revert here.
        bytes memory gameInit = new bytes(GAME_CODE_SIZE);
        uint256 gameBase;
        assembly ("memory-safe") {
            gameBase := add(gameInit, 0x20)
        }
        DataContract.read(GAME_BLUEPRINT, 0, gameBase, gameInit.length);
        address deployed;
        assembly ("memory-safe") {
            deployed := create2(0, gameBase, mload(gameInit), gameSalt)
            if iszero(deployed) {
                returndatacopy(0, 0, returndatasize())
                revert(0, returndatasize())
            }
        }
        assembly ("memory-safe") {
            tstore(slot, 0)
        }
        assert(deployed == game);
        isRollup[rollup] = true;
        _rollups.push(rollup);
        emit RollupOriginated(rollup, msg.sender, salt, game);
    }

    /// @notice The rollup and verifier of the game being deployed by `originate` (zero outside
    /// it): a RefutationGame's constructor reads them.
    function gameParameters() external view returns (address rollup, address verifier) {
        bytes32 slot = PENDING_ROLLUP_SLOT;
        assembly ("memory-safe") {
            rollup := tload(slot)
        }
        verifier = rollup == address(0) ? address(0) : ONE_STEP_PROOF;
    }

    /// @notice The address `originate(config, salt)` called by `creator` creates.
    function rollupAddress(address creator, IRollup.Config calldata config, bytes32 salt)
        external
        view
        returns (address)
    {
        IRollup.Config memory full = config;
        full.gameResolver = gameAddress(creator, config, salt);
        return _predict(_salt(creator, salt), keccak256(_initCode(full)));
    }

    /// @notice The address of the refutation game `originate(config, salt)` called by
    /// `creator` deploys: the rollup's `gameResolver`.
    function gameAddress(address creator, IRollup.Config calldata config, bytes32 salt) public view returns (address) {
        return _predict(_gameSalt(creator, salt, config), GAME_CREATION_CODE_HASH);
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
    function _initCode(IRollup.Config memory config) private view returns (bytes memory init) {
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

    function _predict(bytes32 salt, bytes32 initHash) private view returns (address) {
        return address(uint160(uint256(keccak256(abi.encodePacked(bytes1(0xff), address(this), salt, initHash)))));
    }

    /// @dev The game's salt: over the creator, its salt and every parameter but the resolver
    /// (which is the game itself), so each rollup has its own game address.
    function _gameSalt(address creator, bytes32 salt, IRollup.Config calldata config) private pure returns (bytes32) {
        IRollup.Config memory c = config;
        c.gameResolver = address(0);
        return keccak256(abi.encode("game", creator, salt, c));
    }

    function _salt(address creator, bytes32 salt) private pure returns (bytes32) {
        return keccak256(abi.encode(creator, salt));
    }
}
