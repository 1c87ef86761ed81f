// SPDX-License-Identifier: MIT OR Apache-2.0
pragma solidity ^0.8.30;

import {IOneStepProof} from "../../src/osp/IOneStepProof.sol";

/// @notice A TEST FIXTURE of the refutation game alone, not the real one-step verifier: a toy
/// machine whose honest trace from a registered start state is a pure function of the tick,
///   state(0) = start, state(t) = keccak256("toy", start, t) for 0 < t < ticks,
///   state(t) = final for t >= ticks (the final state stutters, like a status-0 state at the
///   last level under IOneStepProof.step).
/// A proof is `abi.encode(start, t)`; the step checks that `state(t)` is the pre-state it was
/// asked about (as the real verifier checks its header) and returns `state(t + 1)`. States off
/// the honest trace have no proof, as hashes without a preimage have none for the real machine.
contract ToyMachine is IOneStepProof {
    struct Trace {
        uint64 ticks;
        uint32 level;
        bytes32 finalState;
    }

    mapping(bytes32 => Trace) public traces;

    error UnknownTrace(bytes32 start);
    error WrongLastLevel(uint32 expected, uint32 got);
    error PreStateMismatch(bytes32 expected, bytes32 got);

    function setTrace(bytes32 start, uint32 level, uint64 ticks, bytes32 finalState) external {
        traces[start] = Trace(ticks, level, finalState);
    }

    function stateAt(bytes32 start, uint64 t) public view returns (bytes32) {
        Trace memory tr = traces[start];
        if (tr.ticks == 0) revert UnknownTrace(start);
        if (t == 0) return start;
        if (t >= tr.ticks) return tr.finalState;
        return keccak256(abi.encode("toy", start, t));
    }

    function step(address, uint32 lastLevel, bytes32 preStateHash, bytes calldata proof)
        external
        view
        returns (bytes32)
    {
        (bytes32 start, uint64 t) = abi.decode(proof, (bytes32, uint64));
        Trace memory tr = traces[start];
        if (tr.ticks == 0) revert UnknownTrace(start);
        if (lastLevel != tr.level) revert WrongLastLevel(tr.level, lastLevel);
        bytes32 pre = stateAt(start, t);
        if (pre != preStateHash) revert PreStateMismatch(pre, preStateHash);
        return stateAt(start, t + 1);
    }
}
