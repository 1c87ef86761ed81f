// SPDX-License-Identifier: MIT OR Apache-2.0
pragma solidity ^0.8.30;

/// @notice The outbox tree of docs/protocol.md 3.1 for a handful of levels, computed
/// recursively from the definition (independently of the Rust and Solidity proof code).
abstract contract OutboxTreeBuilder {
    uint256 internal constant DEPTH = 20;
    uint32[] internal _slotLevels;
    bytes32[] internal _slotLeaves;

    function _setLevel(uint32 level, bytes[] memory messages) internal {
        bytes32[] memory leaves = new bytes32[](messages.length);
        for (uint256 i = 0; i < messages.length; i++) {
            leaves[i] = keccak256(messages[i]);
        }
        _slotLevels.push(level);
        _slotLeaves.push(keccak256(abi.encodePacked(level, uint32(messages.length), _root(leaves))));
    }

    function _outboxRoot() internal view returns (bytes32) {
        return _node(DEPTH, 0);
    }

    function _slotPath(uint32 level) internal view returns (bytes32[] memory path) {
        path = new bytes32[](DEPTH);
        uint256 slot = level % (1 << DEPTH);
        for (uint256 h = 0; h < DEPTH; h++) {
            path[h] = _node(h, (slot >> h) ^ 1);
        }
    }

    function _messagePath(bytes[] memory messages, uint256 index) internal pure returns (bytes32[] memory path) {
        bytes32[] memory layer = new bytes32[](messages.length);
        for (uint256 i = 0; i < messages.length; i++) {
            layer[i] = keccak256(messages[i]);
        }
        uint256 depth;
        while ((1 << depth) < messages.length) depth++;
        path = new bytes32[](depth);
        bytes32 zero;
        for (uint256 h = 0; h < depth; h++) {
            uint256 width = (layer.length + 1) / 2;
            path[h] = (index ^ 1) < layer.length ? layer[index ^ 1] : zero;
            bytes32[] memory next = new bytes32[](width);
            for (uint256 i = 0; i < width; i++) {
                next[i] = keccak256(abi.encodePacked(layer[2 * i], 2 * i + 1 < layer.length ? layer[2 * i + 1] : zero));
            }
            layer = next;
            zero = keccak256(abi.encodePacked(zero, zero));
            index /= 2;
        }
    }

    function _root(bytes32[] memory leaves) private pure returns (bytes32) {
        if (leaves.length == 0) return bytes32(0);
        bytes32[] memory layer = leaves;
        bytes32 zero;
        while (layer.length > 1) {
            uint256 width = (layer.length + 1) / 2;
            bytes32[] memory next = new bytes32[](width);
            for (uint256 i = 0; i < width; i++) {
                next[i] = keccak256(abi.encodePacked(layer[2 * i], 2 * i + 1 < layer.length ? layer[2 * i + 1] : zero));
            }
            layer = next;
            zero = keccak256(abi.encodePacked(zero, zero));
        }
        return layer[0];
    }

    /// @dev The node at `height` and `index` of the 2^20-slot tree.
    function _node(uint256 height, uint256 index) private view returns (bytes32) {
        bool any;
        for (uint256 i = 0; i < _slotLevels.length; i++) {
            if ((uint256(_slotLevels[i]) % (1 << DEPTH)) >> height == index) any = true;
        }
        if (!any) {
            bytes32 z;
            for (uint256 h = 0; h < height; h++) {
                z = keccak256(abi.encodePacked(z, z));
            }
            return z;
        }
        if (height == 0) {
            bytes32 leaf;
            for (uint256 i = 0; i < _slotLevels.length; i++) {
                if (uint256(_slotLevels[i]) % (1 << DEPTH) == index) leaf = _slotLeaves[i];
            }
            return leaf;
        }
        return keccak256(abi.encodePacked(_node(height - 1, 2 * index), _node(height - 1, 2 * index + 1)));
    }
}
