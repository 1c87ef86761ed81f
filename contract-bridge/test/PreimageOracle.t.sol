// SPDX-License-Identifier: MIT OR Apache-2.0
pragma solidity ^0.8.30;

import {Test} from "./utils/Test.sol";
import {PreimageOracle} from "../src/preimage/PreimageOracle.sol";

/// @notice The oracle's blake2b-256 against known answers (Python's hashlib), uploads, reads
/// and the size limit.
contract PreimageOracleTest is Test {
    PreimageOracle internal oracle;

    function setUp() public {
        oracle = new PreimageOracle();
    }

    function _pattern(uint256 n, uint256 period) internal pure returns (bytes memory b) {
        b = new bytes(n);
        for (uint256 i = 0; i < n; i++) {
            b[i] = bytes1(uint8(i % period));
        }
    }

    function test_blake2b256_matchesKnownAnswers() public view {
        assertEq(oracle.blake2b256(""), hex"0e5751c026e543b2e8ab2eb06099daa1d1e5df47778f7787faab45cdf12fe3a8");
        assertEq(oracle.blake2b256("abc"), hex"bddd813c634239723171ef3fee98579b94964e3bb1cb3e427262c8c068d52319");
        // 129 bytes: a full block then one byte; 4,096: 32 full blocks, the last final.
        bytes memory sevens = new bytes(129);
        for (uint256 i = 0; i < 129; i++) {
            sevens[i] = 0x07;
        }
        assertEq(oracle.blake2b256(sevens), hex"a04de7247309966b2b2afc367838071ea523f897e6a405286f2b5627032a8dea");
        assertEq(
            oracle.blake2b256(_pattern(4096, 256)), hex"81baab4ea5d75a0aa53b8780ae5dbd7c8dac7f07e7c103644399492bb9ea6f87"
        );
    }

    function test_upload_holdsThePageUnderItsHash_once() public {
        bytes memory p = _pattern(3000, 251);
        bytes32 d = oracle.blake2b256(p);
        assertFalse(oracle.has(d));
        (bool found,) = oracle.page(d);
        assertFalse(found);
        vm.expectEmit(true, false, false, true, address(oracle));
        emit PreimageOracle.PageUploaded(d, 3000);
        assertEq(oracle.upload(p), d);
        assertTrue(oracle.has(d));
        bytes memory back;
        (found, back) = oracle.page(d);
        assertTrue(found);
        assertEq(keccak256(back), keccak256(p));
        // Again: nothing new, no event.
        vm.recordLogs();
        assertEq(oracle.upload(p), d);
        assertEq(vm.getRecordedLogs().length, 0);
        // The empty page is a page too.
        bytes32 e = oracle.upload("");
        (found, back) = oracle.page(e);
        assertTrue(found);
        assertEq(back.length, 0);
    }

    function test_upload_refusesAnOversizedPage() public {
        vm.expectRevert(abi.encodeWithSelector(PreimageOracle.PageTooLarge.selector, 4097, 4096));
        oracle.upload(new bytes(4097));
        oracle.upload(new bytes(4096));
    }
}
