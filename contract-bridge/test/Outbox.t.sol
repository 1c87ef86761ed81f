// SPDX-License-Identifier: MIT OR Apache-2.0
pragma solidity ^0.8.30;

import {RollupTestBase} from "./utils/RollupTestBase.sol";
import {IRollup} from "../src/rollup/IRollup.sol";
import {Rollup} from "../src/Rollup.sol";
import {ProtocolCodec} from "../src/ProtocolCodec.sol";
import {OutboxTreeBuilder} from "./utils/OutboxTreeBuilder.sol";

/// @notice Records what outbox calls bring.
contract Target {
    uint256 public calls;
    uint256 public received;
    bytes public lastData;
    address public lastSender;

    function poke(bytes calldata data) external payable {
        calls += 1;
        received += msg.value;
        lastData = data;
        lastSender = msg.sender;
    }

    function fail() external pure {
        revert("target says no");
    }
}

/// @notice Tries to run an outbox message again from inside one.
contract Reenterer {
    function reenter(address rollup, bytes calldata call) external {
        (bool ok, bytes memory ret) = rollup.call(call);
        if (!ok) {
            assembly {
                revert(add(ret, 0x20), mload(ret))
            }
        }
    }
}

/// @notice Executing outbox messages: proofs, replay protection, expiry, payments, failures.
contract OutboxTest is RollupTestBase, OutboxTreeBuilder {
    address internal alice = makeAddr("alice");
    address internal bob = makeAddr("bob");
    bytes32 internal constant PVM_ROOT = keccak256("pvm root");
    Target internal target;

    bytes[] internal level3;
    bytes32 internal cemented;

    function setUp() public override {
        super.setUp();
        target = new Target();
        vm.deal(alice, 10 ether);
        vm.prank(alice);
        rollup.depositEth{value: 5 ether}("bridge in");
        _advanceInbox(12);
        // Level 3 wrote: a 1-ETH withdrawal to bob, a contract call with 0.5 ETH, a failing call,
        // a call to the rollup itself, a message paying more than the bridge holds, and bytes
        // that are not a canonical message.
        level3.push(_message(bob, 1 ether, ""));
        level3.push(_message(address(target), 0.5 ether, abi.encodeCall(Target.poke, (hex"c0ffee"))));
        level3.push(_message(address(target), 0, abi.encodeCall(Target.fail, ())));
        level3.push(_message(address(rollup), 0, ""));
        level3.push(_message(bob, 6 ether, ""));
        level3.push(hex"deadbeef");
        _setLevel(3, level3);
        cemented = _cement(_commitment(_genesis(), _stateHash(), PERIOD));
    }

    function _message(address to, uint256 value, bytes memory data) internal pure returns (bytes memory) {
        ProtocolCodec.L1Call[] memory calls = new ProtocolCodec.L1Call[](1);
        calls[0] = ProtocolCodec.L1Call(to, value, data);
        return abi.encode(calls);
    }

    function _stateHash() internal view returns (bytes32) {
        return keccak256(abi.encodePacked(PVM_ROOT, _outboxRoot()));
    }

    function _cement(IRollup.Commitment memory c) internal returns (bytes32 h) {
        (, bytes32 head,) = rollup.staker(alice);
        if (head == bytes32(0)) h = _stakeAndPublish(alice, c);
        else h = _publish(alice, c);
        vm.roll(block.number + WINDOW);
        rollup.cement(c);
    }

    function _proof(uint32 level, bytes[] memory messages, uint32 index)
        internal
        view
        returns (IRollup.OutboxProof memory p)
    {
        p.pvmRoot = PVM_ROOT;
        p.level = level;
        p.index = index;
        p.count = uint32(messages.length);
        p.messagePath = _messagePath(messages, index);
        p.slotPath = _slotPath(level);
    }

    function test_withdrawal_paysRecipientOnce() public {
        IRollup.OutboxProof memory p = _proof(3, level3, 0);
        vm.expectEmit(true, true, false, true, address(rollup));
        emit IRollup.OutboxMessageExecuted(3, 0, keccak256(level3[0]), 1 ether);
        rollup.executeOutboxMessage(cemented, p, level3[0]);
        assertEq(bob.balance, 1 ether);
        assertTrue(rollup.isOutboxMessageExecuted(3, 0));
        assertFalse(rollup.isOutboxMessageExecuted(3, 1));
        (uint256 bridge,,,) = rollup.accounting();
        assertEq(bridge, 4 ether);
        vm.expectRevert(abi.encodeWithSelector(IRollup.OutboxMessageAlreadyExecuted.selector, 3, 0));
        rollup.executeOutboxMessage(cemented, p, level3[0]);
    }

    function test_contractCall_runsFromTheRollupWithValue() public {
        rollup.executeOutboxMessage(cemented, _proof(3, level3, 1), level3[1]);
        assertEq(target.calls(), 1);
        assertEq(target.received(), 0.5 ether);
        assertEq(target.lastData(), hex"c0ffee");
        assertEq(target.lastSender(), address(rollup));
    }

    function test_failingCall_revertsAndStaysExecutable() public {
        IRollup.OutboxProof memory p = _proof(3, level3, 2);
        vm.expectRevert(
            abi.encodeWithSelector(
                IRollup.OutboxCallFailed.selector, 0, abi.encodeWithSignature("Error(string)", "target says no")
            )
        );
        rollup.executeOutboxMessage(cemented, p, level3[2]);
        assertFalse(rollup.isOutboxMessageExecuted(3, 2));
    }

    function test_badMessages_revert() public {
        vm.expectRevert(abi.encodeWithSelector(IRollup.OutboxCallToRollup.selector, 0));
        rollup.executeOutboxMessage(cemented, _proof(3, level3, 3), level3[3]);
        vm.expectRevert(abi.encodeWithSelector(IRollup.InsufficientBridgeBalance.selector, 6 ether, 5 ether));
        rollup.executeOutboxMessage(cemented, _proof(3, level3, 4), level3[4]);
        vm.expectRevert(ProtocolCodec.MalformedOutboxMessage.selector);
        rollup.executeOutboxMessage(cemented, _proof(3, level3, 5), level3[5]);
    }

    function test_badProofs_revert() public {
        IRollup.OutboxProof memory p = _proof(3, level3, 0);
        // Another message, another index, a wrong path, a wrong count, a wrong PVM root.
        vm.expectRevert(IRollup.InvalidOutboxProof.selector);
        rollup.executeOutboxMessage(cemented, p, level3[1]);
        p.index = 1;
        vm.expectRevert(IRollup.InvalidOutboxProof.selector);
        rollup.executeOutboxMessage(cemented, p, level3[0]);
        p = _proof(3, level3, 0);
        p.messagePath[0] = bytes32(uint256(1));
        vm.expectRevert(IRollup.InvalidOutboxProof.selector);
        rollup.executeOutboxMessage(cemented, p, level3[0]);
        p = _proof(3, level3, 0);
        p.count = 101;
        vm.expectRevert(IRollup.InvalidOutboxProof.selector);
        rollup.executeOutboxMessage(cemented, p, level3[0]);
        p = _proof(3, level3, 0);
        p.slotPath = new bytes32[](19);
        vm.expectRevert(IRollup.InvalidOutboxProof.selector);
        rollup.executeOutboxMessage(cemented, p, level3[0]);
        p = _proof(3, level3, 0);
        p.pvmRoot = bytes32(0);
        vm.expectRevert(IRollup.InvalidOutboxProof.selector);
        rollup.executeOutboxMessage(cemented, p, level3[0]);
        // The same message claimed at another level.
        p = _proof(3, level3, 0);
        p.level = 2;
        vm.expectRevert(IRollup.InvalidOutboxProof.selector);
        rollup.executeOutboxMessage(cemented, p, level3[0]);
    }

    function test_uncementedOrFutureLevels_revert() public {
        IRollup.OutboxProof memory p = _proof(3, level3, 0);
        bytes32 uncemented = _publish(alice, _commitment(cemented, _stateHash(), 2 * PERIOD));
        vm.expectRevert(abi.encodeWithSelector(IRollup.NotCemented.selector, uncemented));
        rollup.executeOutboxMessage(uncemented, p, level3[0]);
        p.level = PERIOD + 1;
        vm.expectRevert(abi.encodeWithSelector(IRollup.OutboxLevelNotCemented.selector, PERIOD + 1, PERIOD));
        rollup.executeOutboxMessage(cemented, p, level3[0]);
    }

    function test_olderCementedState_stillProves() public {
        bytes32 first = cemented;
        _cement(_commitment(first, _stateHash(), 2 * PERIOD));
        rollup.executeOutboxMessage(first, _proof(3, level3, 0), level3[0]);
        assertEq(bob.balance, 1 ether);
    }

    function test_expiredLevels_revert() public {
        IRollup.Config memory c = _config();
        c.maxActiveOutboxLevels = PERIOD; // the shortest allowed: one commitment period
        rollup = _rollupOf(c);
        tipHash = START_HASH;
        tipHeight = START_HEIGHT;
        _advanceInbox(12);
        vm.deal(alice, 20 ether);
        vm.prank(alice);
        rollup.depositEth{value: 5 ether}("");
        bytes32 c1 = _cement(_commitment(_genesis(), _stateHash(), PERIOD));
        // Last cemented level 4, four active levels: 1 to 4.
        rollup.executeOutboxMessage(c1, _proof(3, level3, 0), level3[0]);
        _cement(_commitment(c1, _stateHash(), 2 * PERIOD));
        // Last cemented level 8: levels 5 to 8 are active, level 3 is gone.
        vm.expectRevert(abi.encodeWithSelector(IRollup.OutboxLevelExpired.selector, 3, 5));
        rollup.executeOutboxMessage(c1, _proof(3, level3, 1), level3[1]);
    }

    function test_reentrancy_isRefused() public {
        Reenterer r = new Reenterer();
        bytes memory inner =
            abi.encodeCall(IRollup(address(0)).executeOutboxMessage, (cemented, _proof(3, level3, 0), level3[0]));
        // A message whose call re-enters executeOutboxMessage.
        bytes[] memory lvl = new bytes[](1);
        lvl[0] = _message(address(r), 0, abi.encodeCall(Reenterer.reenter, (address(rollup), inner)));
        delete _slotLevels;
        delete _slotLeaves;
        _setLevel(3, level3);
        _setLevel(5, lvl);
        bytes32 c2 = _cement(_commitment(cemented, _stateHash(), 2 * PERIOD));
        vm.expectRevert(
            abi.encodeWithSelector(
                IRollup.OutboxCallFailed.selector, 0, abi.encodeWithSelector(IRollup.Reentrancy.selector)
            )
        );
        rollup.executeOutboxMessage(c2, _proof(5, lvl, 0), lvl[0]);
    }
}
