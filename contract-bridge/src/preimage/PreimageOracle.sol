// SPDX-License-Identifier: MIT OR Apache-2.0
pragma solidity ^0.8.30;

import {DataContract} from "../utils/DataContract.sol";

/// @title PreimageOracle
/// @notice Reveal pages (docs/pvm.md 2.4) that a one-step proof of `reveal_preimage` reads by
/// hash. Anyone uploads a page once; the oracle computes its blake2b-256 itself (with the
/// EIP-152 compression precompile), so a page it holds is always the preimage of its hash, and
/// keeps it as the code of a data contract. One oracle serves every rollup: pages are
/// content-addressed.
contract PreimageOracle {
    /// @notice The largest reveal page (docs/protocol.md, `MAX_PAGE_SIZE`).
    uint256 public constant MAX_PAGE_SIZE = 4096;

    /// @notice A page whose blake2b-256 is `digest` (reveal hash `00 ‖ digest`) is held.
    event PageUploaded(bytes32 indexed digest, uint256 length);

    /// @notice The page is larger than a reveal page may be.
    error PageTooLarge(uint256 length, uint256 max);
    /// @notice The EIP-152 precompile did not answer (an L1 without it cannot run this oracle).
    error Blake2bUnavailable();

    address internal constant BLAKE2B_F = address(0x09);
    /// @dev blake2b's IV as 8 little-endian words, the first xored with the parameter block of
    /// an unkeyed 32-byte digest (`0x01010020`).
    bytes internal constant H0 =
        hex"28c9bdf267e6096a3ba7ca8485ae67bb2bf894fe72f36e3cf1361d5f3af54fa5d182e6ad7f520e511f6c3e2b8c68059b6bbd41fbabd9831f79217e1319cde05b";

    mapping(bytes32 => address) internal _pages;

    /// @notice Holds the page `data` under its blake2b-256 `digest` (a second upload changes nothing).
    function upload(bytes calldata data) external returns (bytes32 digest) {
        if (data.length > MAX_PAGE_SIZE) revert PageTooLarge(data.length, MAX_PAGE_SIZE);
        bytes memory p = data;
        digest = blake2b256(p);
        if (_pages[digest] != address(0)) return digest;
        _pages[digest] = DataContract.deploy(p);
        emit PageUploaded(digest, data.length);
    }

    /// @notice Whether the page of blake2b-256 `digest` is held.
    function has(bytes32 digest) external view returns (bool) {
        return _pages[digest] != address(0);
    }

    /// @notice The page of blake2b-256 `digest`, if held.
    function page(bytes32 digest) external view returns (bool found, bytes memory data) {
        address a = _pages[digest];
        if (a == address(0)) return (false, data);
        data = new bytes(a.code.length - 1);
        uint256 to;
        assembly ("memory-safe") {
            to := add(data, 0x20)
        }
        DataContract.read(a, 0, to, data.length);
        return (true, data);
    }

    /// @notice blake2b-256 of `data` (RFC 7693, unkeyed), through the EIP-152 precompile: one
    /// compression per 128-byte block, the last one final.
    function blake2b256(bytes memory data) public view returns (bytes32 digest) {
        bytes memory input = new bytes(213);
        bytes memory h0 = H0;
        uint256 len = data.length;
        uint256 blocks = len == 0 ? 1 : (len + 127) / 128;
        assembly ("memory-safe") {
            let in := add(input, 0x20)
            mstore(in, shl(224, 12)) // rounds, u32 big-endian
            mcopy(add(in, 4), add(h0, 0x20), 64) // h
        }
        for (uint256 i = 0; i < blocks; i++) {
            uint256 from = i * 128;
            _compress(input, data, from, len - from < 128 ? len - from : 128, i + 1 == blocks);
        }
        assembly ("memory-safe") {
            digest := mload(add(input, 0x24))
        }
    }

    /// @dev One compression of the block of `n` bytes of `data` at `from` into the state held in
    /// `input` (the precompile's 213-byte input), which the new state overwrites.
    function _compress(bytes memory input, bytes memory data, uint256 from, uint256 n, bool last) private view {
        bool ok;
        assembly ("memory-safe") {
            let in := add(input, 0x20)
            let m := add(in, 68)
            // The block, zero-padded, and t and f cleared (the last word ends at byte 213).
            mstore(m, 0)
            mstore(add(m, 0x20), 0)
            mstore(add(m, 0x40), 0)
            mstore(add(m, 0x60), 0)
            mstore(add(in, 181), 0)
            mcopy(m, add(add(data, 0x20), from), n)
            // t: the bytes compressed so far, u128 little-endian (the high word stays zero).
            let counter := add(from, n)
            let t := add(in, 196)
            for { let b := 0 } lt(b, 8) { b := add(b, 1) } { mstore8(add(t, b), and(shr(mul(b, 8), counter), 0xff)) }
            mstore8(add(in, 212), last)
            ok := staticcall(gas(), 0x09, in, 213, add(in, 4), 64)
        }
        if (!ok) revert Blake2bUnavailable();
    }
}
