// SPDX-License-Identifier: MIT OR Apache-2.0
pragma solidity ^0.8.30;

/// @notice The subset of forge's cheatcodes our tests use. The npm registry only carries a 2022
/// forge-std, so the project keeps this small interface instead; signatures are forge's own.
interface Vm {
    struct Log {
        bytes32[] topics;
        bytes data;
        address emitter;
    }

    // environment
    function warp(uint256 newTimestamp) external;
    function roll(uint256 newHeight) external;
    function deal(address account, uint256 newBalance) external;
    function etch(address target, bytes calldata code) external;
    function prank(address sender) external;
    function prank(address msgSender, address txOrigin) external;
    function startPrank(address sender) external;
    function startPrank(address msgSender, address txOrigin) external;
    function stopPrank() external;
    function label(address account, string calldata name) external;
    function computeCreateAddress(address deployer, uint256 nonce) external pure returns (address);
    function assume(bool condition) external pure;

    // keys
    function addr(uint256 privateKey) external pure returns (address);
    function sign(uint256 privateKey, bytes32 digest) external pure returns (uint8 v, bytes32 r, bytes32 s);

    // expectations
    function expectRevert() external;
    function expectRevert(bytes4 revertData) external;
    function expectRevert(bytes calldata revertData) external;
    function expectEmit() external;
    function expectEmit(bool checkTopic1, bool checkTopic2, bool checkTopic3, bool checkData) external;
    function expectEmit(bool checkTopic1, bool checkTopic2, bool checkTopic3, bool checkData, address emitter)
        external;
    function recordLogs() external;
    function getRecordedLogs() external returns (Log[] memory logs);

    // files and processes
    function ffi(string[] calldata commandInput) external returns (bytes memory result);
    function readFile(string calldata path) external view returns (string memory data);
    function writeLine(string calldata path, string calldata data) external;
    function parseBytes(string calldata stringifiedValue) external pure returns (bytes memory);
    function toString(uint256 value) external pure returns (string memory);
    function toString(bytes calldata value) external pure returns (string memory);
    function envOr(string calldata name, uint256 defaultValue) external view returns (uint256);

    // assertions (forge reports the values on failure)
    function assertTrue(bool condition, string calldata error) external pure;
    function assertEq(uint256 left, uint256 right, string calldata error) external pure;
    function assertEq(bytes32 left, bytes32 right, string calldata error) external pure;
    function assertEq(bytes calldata left, bytes calldata right, string calldata error) external pure;
    function assertEq(address left, address right, string calldata error) external pure;
    function assertEq(bool left, bool right, string calldata error) external pure;
    function assertEq(string calldata left, string calldata right, string calldata error) external pure;
    function assertLe(uint256 left, uint256 right, string calldata error) external pure;
    function assertGe(uint256 left, uint256 right, string calldata error) external pure;

    // gas
    function pauseGasMetering() external;
    function cool(address target) external;
    function resumeGasMetering() external;
}

/// @notice Base of every forge test here: the cheatcode handle, assertions and a few helpers.
abstract contract Test {
    Vm internal constant vm = Vm(address(uint160(uint256(keccak256("hevm cheat code")))));

    function assertTrue(bool c) internal pure { vm.assertTrue(c, ""); }
    function assertTrue(bool c, string memory e) internal pure { vm.assertTrue(c, e); }
    function assertFalse(bool c) internal pure { vm.assertTrue(!c, ""); }
    function assertFalse(bool c, string memory e) internal pure { vm.assertTrue(!c, e); }
    function assertEq(uint256 a, uint256 b) internal pure { vm.assertEq(a, b, ""); }
    function assertEq(uint256 a, uint256 b, string memory e) internal pure { vm.assertEq(a, b, e); }
    function assertEq(bytes32 a, bytes32 b) internal pure { vm.assertEq(a, b, ""); }
    function assertEq(bytes32 a, bytes32 b, string memory e) internal pure { vm.assertEq(a, b, e); }
    function assertEq(bytes memory a, bytes memory b) internal pure { vm.assertEq(a, b, ""); }
    function assertEq(bytes memory a, bytes memory b, string memory e) internal pure { vm.assertEq(a, b, e); }
    function assertEq(address a, address b) internal pure { vm.assertEq(a, b, ""); }
    function assertEq(address a, address b, string memory e) internal pure { vm.assertEq(a, b, e); }
    function assertEq(bool a, bool b) internal pure { vm.assertEq(a, b, ""); }
    function assertEq(string memory a, string memory b) internal pure { vm.assertEq(a, b, ""); }
    function assertLe(uint256 a, uint256 b, string memory e) internal pure { vm.assertLe(a, b, e); }
    function assertGe(uint256 a, uint256 b, string memory e) internal pure { vm.assertGe(a, b, e); }

    /// @notice A labelled address derived from a name.
    function makeAddr(string memory name) internal returns (address a) {
        a = vm.addr(uint256(keccak256(bytes(name))));
        vm.label(a, name);
    }

    // ---------------------------------------------------------------- invariant targets
    // forge asks the test contract for these (the same names and types as forge-std's).

    struct FuzzSelector {
        address addr;
        bytes4[] selectors;
    }

    address[] private _targetedContracts;
    FuzzSelector[] private _targetedSelectors;

    function targetContract(address a) internal {
        _targetedContracts.push(a);
    }

    function targetSelector(FuzzSelector memory s) internal {
        _targetedSelectors.push(s);
    }

    function targetContracts() public view returns (address[] memory) {
        return _targetedContracts;
    }

    function targetSelectors() public view returns (FuzzSelector[] memory) {
        return _targetedSelectors;
    }

    /// @notice Maps a fuzzed value into [lo, hi] without discarding runs.
    function bound(uint256 x, uint256 lo, uint256 hi) internal pure returns (uint256) {
        require(lo <= hi, "bound: lo > hi");
        if (x >= lo && x <= hi) return x;
        return lo + (x % (hi - lo + 1));
    }
}
