// SPDX-License-Identifier: MIT OR Apache-2.0
pragma solidity ^0.8.30;

/// @title BLS12381
/// @notice The BLS12-381 operations the committee verifier needs, on the EIP-2537 precompiles,
/// in the `blst` min-pk convention the sequencer signs with: public keys in G1, signatures in G2,
/// hash to G2 per RFC 9380 (`BLS12381G2_XMD:SHA-256_SSWU_RO_`) with the proof-of-possession
/// DST of docs/protocol.md section 5.3. Points use the EIP-2537 encodings (G1: 128 bytes,
/// G2: 256 bytes, every field element a 64-byte big-endian word pair with 16 zero bytes on top).
/// @dev Everything works on raw memory pointers so the verifier lays out one pairing input and
/// fills it in place, without copying points around.
library BLS12381 {
    /// @notice A precompile call failed where the inputs are produced by this library (not the
    /// caller), i.e. the chain lacks EIP-2537/SHA-256/MODEXP or ran out of gas.
    error PrecompileFailed(address precompile);

    // Precompile addresses (EIP-2537, plus SHA-256 and MODEXP), as numbers for inline assembly.
    uint256 internal constant SHA256 = 0x02;
    uint256 internal constant MODEXP = 0x05;
    uint256 internal constant G1ADD = 0x0b;
    uint256 internal constant G1MSM = 0x0c;
    uint256 internal constant G2ADD = 0x0d;
    uint256 internal constant PAIRING_CHECK = 0x0f;
    uint256 internal constant MAP_FP2_TO_G2 = 0x11;

    uint256 internal constant G1_SIZE = 128;
    uint256 internal constant G2_SIZE = 256;

    /// @dev The base field modulus p, split into its top 128 bits and low 256 bits.
    uint256 internal constant P_HI = 0x1a0111ea397fe69a4b1ba7b6434bacd7;
    uint256 internal constant P_LO = 0x64774b84f38512bf6730d2a0f6b0f6241eabfffeb153ffffb9feffffffffaaab;

    /// @dev The G1 generator's x and the negation of its y, as EIP-2537 word pairs.
    uint256 internal constant G1_X_HI = 0x17f1d3a73197d7942695638c4fa9ac0f;
    uint256 internal constant G1_X_LO = 0xc3688c4f9774b905a14e3a3f171bac586c55e83ff97a1aeffb3af00adb22c6bb;
    uint256 internal constant NEG_G1_Y_HI = 0x114d1d6855d545a8aa7d76c8cf2e21f2;
    uint256 internal constant NEG_G1_Y_LO = 0x67816aef1db507c96655b9d5caac42364e6f38ba0ecb751bad54dcd6b939c2ca;

    /// @dev DST_prime = "BLS_SIG_BLS12381G2_XMD:SHA-256_SSWU_RO_POP_" || 0x2b (44 bytes), split
    /// into its first 32 bytes and its last 12 (left-aligned).
    bytes32 internal constant DST_PRIME_0 = 0x424c535f5349475f424c53313233383147325f584d443a5348412d3235365f53;
    bytes32 internal constant DST_PRIME_1 = 0x5357555f524f5f504f505f2b0000000000000000000000000000000000000000;

    /// @notice Writes the negated G1 generator (128 bytes) at `ptr`: the fixed left point of the
    /// pairing check `e(aggPk, H(m)) * e(-g1, sig) == 1`.
    function writeNegG1(uint256 ptr) internal pure {
        assembly ("memory-safe") {
            mstore(ptr, G1_X_HI)
            mstore(add(ptr, 0x20), G1_X_LO)
            mstore(add(ptr, 0x40), NEG_G1_Y_HI)
            mstore(add(ptr, 0x60), NEG_G1_Y_LO)
        }
    }

    /// @notice Negates, in place, the G1 point at `ptr` (y := p - y; the point at infinity, all
    /// zeroes, stays as is). Assumes y < p, which G1ADD checks when the point is used.
    function negateG1(uint256 ptr) internal pure {
        assembly ("memory-safe") {
            let hi := mload(add(ptr, 0x40))
            let lo := mload(add(ptr, 0x60))
            if or(hi, lo) {
                mstore(add(ptr, 0x60), sub(P_LO, lo))
                mstore(add(ptr, 0x40), sub(sub(P_HI, hi), lt(P_LO, lo)))
            }
        }
    }

    /// @notice `acc := acc + point` for the G1 points at `acc` and `acc + 128` (EIP-2537 G1ADD
    /// takes the two points back to back). Returns false if a point is not on the curve.
    function addG1InPlace(uint256 acc) internal view returns (bool ok) {
        assembly ("memory-safe") {
            ok := staticcall(gas(), G1ADD, acc, 0x100, acc, 0x80)
        }
    }

    /// @notice The hash of a 32-byte message to G2 (RFC 9380 hash_to_curve, random-oracle
    /// variant), written as 256 bytes at `out`. Uses 512 bytes of scratch memory at `scratch`
    /// (which must not overlap `out`) plus the free memory beyond it.
    /// @dev expand_message_xmd(msg, DST, 256) with SHA-256, then hash_to_field into two Fp2
    /// elements (four 64-byte chunks reduced mod p with MODEXP), MAP_FP2_TO_G2 on each (the
    /// precompile maps and clears the cofactor; clearing is a homomorphism, so the sum of the two
    /// mapped points is the RFC's clear_cofactor(Q0 + Q1)), and G2ADD.
    function hashToG2(bytes32 message, uint256 out, uint256 scratch) internal view {
        bool ok = true;
        assembly ("memory-safe") {
            // Scratch layout: [0, 512) Q0 || Q1 (G2ADD input);
            //                 [512, 768) u0.c0 || u0.c1 || u1.c0 || u1.c1 (MAP inputs, padded);
            //                 [768, 1024) uniform bytes b1..b8;
            //                 [1024, 1233) MODEXP input; [1280, 1423) SHA-256 input.
            let q := scratch
            let u := add(scratch, 512)
            let uni := add(scratch, 768)
            let mx := add(scratch, 1024)
            let sh := add(scratch, 1280)

            // b0 = H(Z_pad(64) || msg || I2OSP(256, 2) || I2OSP(0, 1) || DST_prime)
            mstore(sh, 0)
            mstore(add(sh, 0x20), 0)
            mstore(add(sh, 0x40), message)
            mstore(add(sh, 0x60), 0x0100000000000000000000000000000000000000000000000000000000000000)
            // byte 98 is already 0 (I2OSP(0, 1)); DST_prime at 99..143
            mstore(add(sh, 99), DST_PRIME_0)
            mstore(add(sh, 131), DST_PRIME_1)
            ok := and(ok, staticcall(gas(), SHA256, sh, 143, 0x00, 0x20))
            let b0 := mload(0x00)

            // b_i = H((b0 xor b_{i-1}) || I2OSP(i, 1) || DST_prime), b_0' = 0 so b_1 = H(b0 || 1 || DST_prime)
            mstore(add(sh, 33), DST_PRIME_0)
            mstore(add(sh, 65), DST_PRIME_1)
            let prev := 0
            for { let i := 1 } lt(i, 9) { i := add(i, 1) } {
                mstore(sh, xor(b0, prev))
                mstore8(add(sh, 32), i)
                let dst := add(uni, mul(sub(i, 1), 0x20))
                ok := and(ok, staticcall(gas(), SHA256, sh, 77, dst, 0x20))
                prev := mload(dst)
            }

            // hash_to_field: four 64-byte big-endian integers reduced mod p with MODEXP(e, 1, p).
            mstore(mx, 64) // base length
            mstore(add(mx, 0x20), 1) // exponent length
            mstore(add(mx, 0x40), 48) // modulus length
            mstore(add(mx, 145), P_HI) // writes [145, 177): p's top 16 bytes land at 161..177
            mstore(add(mx, 177), P_LO) // [177, 209)
            mstore8(add(mx, 160), 1) // exponent
            for { let k := 0 } lt(k, 4) { k := add(k, 1) } {
                mcopy(add(mx, 0x60), add(uni, mul(k, 64)), 64)
                let fe := add(u, mul(k, 64))
                mstore(fe, 0)
                ok := and(ok, staticcall(gas(), MODEXP, mx, 209, add(fe, 16), 48))
            }

            // Map both Fp2 elements to G2 and add them.
            ok := and(ok, staticcall(gas(), MAP_FP2_TO_G2, u, 128, q, 256))
            ok := and(ok, staticcall(gas(), MAP_FP2_TO_G2, add(u, 128), 128, add(q, 256), 256))
            ok := and(ok, staticcall(gas(), G2ADD, q, 512, out, 256))
        }
        if (!ok) revert PrecompileFailed(address(uint160(MAP_FP2_TO_G2)));
    }

    /// @notice Whether the G2 point at `ptr` has four canonical coordinates (zero padding, each
    /// below p). Checking this before the pairing keeps a malformed signature from burning the
    /// gas a failing precompile consumes; curve and subgroup membership are the pairing's job.
    function isCanonicalG2(uint256 ptr) internal pure returns (bool ok) {
        assembly ("memory-safe") {
            ok := 1
            for { let i := 0 } lt(i, 4) { i := add(i, 1) } {
                let hi := mload(add(ptr, mul(i, 0x40)))
                let lo := mload(add(ptr, add(mul(i, 0x40), 0x20)))
                ok := and(ok, or(lt(hi, P_HI), and(eq(hi, P_HI), lt(lo, P_LO))))
            }
        }
    }

    /// @notice Runs PAIRING_CHECK on the two (G1, G2) pairs at `input` (768 bytes). `valid` is
    /// false when a point is malformed (a coordinate not below p, off the curve, outside the
    /// prime-order subgroup); `holds` is whether the product of the pairings is one.
    function pairingCheck2(uint256 input) internal view returns (bool valid, bool holds) {
        assembly ("memory-safe") {
            valid := staticcall(gas(), PAIRING_CHECK, input, 768, 0x00, 0x20)
            holds := and(valid, eq(mload(0x00), 1))
        }
    }

    /// @notice The sum of the `count` G1 points stored back to back at `points` (128 bytes each),
    /// written at `out`; false if a point is malformed or outside the prime-order subgroup.
    /// @dev One G1MSM call with every scalar set to one: the precompile checks each point's
    /// subgroup membership, which G1ADD does not. Clobbers `count * 160` bytes of free memory.
    function sumG1Checked(uint256 points, uint256 count, uint256 out) internal view returns (bool ok) {
        assembly ("memory-safe") {
            let buf := mload(0x40)
            for { let i := 0 } lt(i, count) { i := add(i, 1) } {
                let d := add(buf, mul(i, 160))
                mcopy(d, add(points, mul(i, 128)), 128)
                mstore(add(d, 128), 1)
            }
            ok := staticcall(gas(), G1MSM, buf, mul(count, 160), out, 128)
        }
    }
}
