// SPDX-License-Identifier: MIT OR Apache-2.0
pragma solidity ^0.8.30;

import {RollupTestBase} from "../utils/RollupTestBase.sol";
import {OutboxTreeBuilder} from "../utils/OutboxTreeBuilder.sol";
import {IRollup} from "../../src/rollup/IRollup.sol";
import {Rollup} from "../../src/Rollup.sol";
import {ProtocolCodec} from "../../src/ProtocolCodec.sol";

/// @notice Executes outbox messages of a cemented state in random order, again and again, with
/// right and wrong proofs.
contract OutboxHandler is RollupTestBase, OutboxTreeBuilder {
    bytes32 internal constant PVM_ROOT = keccak256("pvm");
    uint32[2] internal levels = [uint32(3), uint32(4)];
    mapping(uint32 => bytes[]) internal messages;
    bytes32 public cemented;
    mapping(uint32 => mapping(uint256 => uint256)) public ghostRuns;
    uint256 public ghostPaid;

    constructor(Rollup r) {
        rollup = r;
        tipHash = START_HASH;
        tipHeight = START_HEIGHT;
        for (uint256 l = 0; l < 2; l++) {
            uint32 level = levels[l];
            uint256 n = l == 0 ? 7 : 3;
            for (uint256 i = 0; i < n; i++) {
                messages[level].push(_withdrawal(recipient(level, i), value(level, i)));
            }
            _setLevel(level, messages[level]);
        }
    }

    /// @notice Cements a state holding the messages (the test's setUp calls it).
    function prepare() external {
        vm.deal(address(this), 100 ether);
        rollup.depositEth{value: 100 ether}("");
        _advanceInbox(8);
        IRollup.Commitment memory c =
            IRollup.Commitment(_genesis(), keccak256(abi.encodePacked(PVM_ROOT, _outboxRoot())), PERIOD, 1000);
        _stakeAndPublish(address(0xCAFE), c);
        vm.roll(block.number + WINDOW);
        cemented = rollup.cement(c);
    }

    function recipient(uint32 level, uint256 i) public pure returns (address) {
        return address(uint160(0xB000 + level * 100 + i));
    }

    function value(uint32 level, uint256 i) public pure returns (uint256) {
        return (level * 10 + i + 1) * 0.01 ether;
    }

    function count(uint32 level) external view returns (uint256) {
        return messages[level].length;
    }

    function _withdrawal(address to, uint256 v) internal pure returns (bytes memory) {
        ProtocolCodec.L1Call[] memory calls = new ProtocolCodec.L1Call[](1);
        calls[0] = ProtocolCodec.L1Call(to, v, "");
        return abi.encode(calls);
    }

    function _proof(uint32 level, uint32 index) internal view returns (IRollup.OutboxProof memory p) {
        p.pvmRoot = PVM_ROOT;
        p.level = level;
        p.index = index;
        p.count = uint32(messages[level].length);
        p.messagePath = _messagePath(messages[level], index);
        p.slotPath = _slotPath(level);
    }

    /// @notice Executes message `index` of a level with its own proof.
    function execute(uint256 levelSeed, uint256 indexSeed) external {
        uint32 level = levels[levelSeed % 2];
        uint32 index = uint32(indexSeed % messages[level].length);
        rollup.executeOutboxMessage(cemented, _proof(level, index), messages[level][index]);
        ghostRuns[level][index] += 1;
        ghostPaid += value(level, index);
    }

    /// @notice Presents a message with another message's proof: must never run anything.
    function executeMismatched(uint256 levelSeed, uint256 indexSeed, uint256 otherSeed) external {
        uint32 level = levels[levelSeed % 2];
        uint256 n = messages[level].length;
        uint32 index = uint32(indexSeed % n);
        uint32 other = uint32((index + 1 + otherSeed % (n - 1)) % n);
        try rollup.executeOutboxMessage(cemented, _proof(level, index), messages[level][other]) {
            ghostRuns[level][other] += 100; // flags the invariant
        } catch {}
    }
}

/// @notice Each outbox message runs at most once and pays exactly what it says, from the bridge.
contract OutboxReplayInvariants is RollupTestBase {
    OutboxHandler internal handler;

    function setUp() public override {
        super.setUp();
        handler = new OutboxHandler(rollup);
        handler.prepare();
        targetContract(address(handler));
        bytes4[] memory selectors = new bytes4[](2);
        selectors[0] = OutboxHandler.execute.selector;
        selectors[1] = OutboxHandler.executeMismatched.selector;
        targetSelector(FuzzSelector(address(handler), selectors));
    }

    function invariant_eachMessageRunsAtMostOnce() public view {
        uint32[2] memory levels = [uint32(3), uint32(4)];
        for (uint256 l = 0; l < 2; l++) {
            uint32 level = levels[l];
            for (uint256 i = 0; i < handler.count(level); i++) {
                uint256 runs = handler.ghostRuns(level, i);
                assertLe(runs, 1, "ran at most once");
                assertEq(rollup.isOutboxMessageExecuted(level, uint32(i)), runs == 1);
                assertEq(handler.recipient(level, i).balance, runs == 1 ? handler.value(level, i) : 0, "paid once");
            }
        }
    }

    function invariant_bridgePaysExactlyTheExecutedValues() public view {
        (uint256 bridge,,,) = rollup.accounting();
        assertEq(bridge, 100 ether - handler.ghostPaid(), "bridge balance");
    }
}
