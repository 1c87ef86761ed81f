// SPDX-License-Identifier: MIT OR Apache-2.0
pragma solidity ^0.8.30;

import {ISequencerVerifier} from "./ISequencerVerifier.sol";
import {BLS12381} from "./BLS12381.sol";
import {ProtocolCodec} from "../ProtocolCodec.sol";
import {DataContract} from "../utils/DataContract.sol";

/// @title CommitteeVerifier
/// @notice Checks the sequencer committee's BLS12-381 finality certificates (docs/protocol.md
/// section 5.3) against the stake table it holds, and follows the committee from epoch to epoch
/// through handovers certified by the outgoing committee. One instance serves every rollup of
/// one sequencer chain. Layout and gas budget: docs/contracts.md section 3.
/// @dev The stake table lives in the code of data contracts ("chunks", read with EXTCODECOPY):
/// chunk `c` holds members `128c ..` as `g1_pubkey[128] || u64 stake` after a leading STOP byte,
/// and chunk 0 ends with the precomputed aggregate of all keys and the total stake. A certificate
/// then costs one storage read, one EXTCODECOPY per aggregated member (the smaller of the signer
/// and non-signer sets: non-signers are subtracted from the total aggregate), one hash to G2 and
/// one two-pair pairing check.
contract CommitteeVerifier is ISequencerVerifier {
    /// @notice The largest committee the L1 accepts (8 chunks).
    uint256 public constant MAX_COMMITTEE_SIZE = 1024;
    uint256 internal constant CHUNK_MEMBERS = 128;
    uint256 internal constant MEMBER_SIZE = 136;
    uint256 internal constant COMMITTEE_HEADER_SIZE = 12;
    uint256 internal constant TRAILER_SIZE = 144; // aggregate key (128) || u128 total stake
    uint256 internal constant SIGNATURE_SIZE = 256;

    /// @notice The certificate names another sequencer chain.
    error WrongChain(uint64 expected, uint64 got);
    /// @notice A certificate must be the 256-byte signature followed by ceil(n/8) bitmap bytes.
    error CertificateLength(uint256 expected, uint256 got);
    /// @notice The bitmap sets bits for members the committee does not have.
    error BitmapBitsPastCommittee();
    /// @notice The signers hold no more than two thirds of the stake.
    error BelowQuorum(uint256 signedStake, uint256 totalStake);
    /// @notice The signers' keys sum to the point at infinity (impossible with proofs of possession).
    error AggregateKeyIsInfinity();
    /// @notice The signature is not a valid G2 point of the prime-order subgroup (EIP-2537 encoding).
    error InvalidSignaturePoint();
    /// @notice The aggregate signature does not verify for the signers and the message.
    error SignatureMismatch();
    /// @notice A handover must install the next epoch exactly.
    error WrongEpoch(uint64 expected, uint64 got);
    /// @notice A committee encoding is not `u64 epoch || u32 n || n * (g1[128] || u64 stake)`.
    error CommitteeEncodingLength(uint256 expected, uint256 got);
    /// @notice Committees have between 1 and MAX_COMMITTEE_SIZE members.
    error CommitteeSize(uint256 size);
    /// @notice Member `index` has zero stake.
    error ZeroStake(uint256 index);
    /// @notice Member `index`'s key has non-zero padding or is the point at infinity.
    error InvalidCommitteeKey(uint256 index);
    /// @notice Some key is off the curve or outside the G1 subgroup (checked by G1MSM).
    error InvalidCommitteeKeys();

    /// @notice A committee took office; `committee` is its full encoding (docs/protocol.md 5.3).
    event CommitteeInstalled(
        uint64 indexed epoch, bytes32 indexed committeeHash, uint32 size, uint256 totalStake, bytes committee
    );

    /// @notice The sequencer chain whose committee this verifier follows.
    uint64 public immutable CHAIN_ID;

    struct Active {
        address chunk0;
        uint64 epoch;
        uint32 size;
    }

    Active internal _active;
    address[] internal _moreChunks;
    /// @notice keccak-256 of the current committee's encoding (what a handover certifies).
    bytes32 public committeeHash;

    /// @param chainId the sequencer chain.
    /// @param genesisCommittee the first committee's encoding; its epoch is taken as is.
    constructor(uint64 chainId, bytes memory genesisCommittee) {
        CHAIN_ID = chainId;
        _install(genesisCommittee, false, 0);
    }

    /// @inheritdoc ISequencerVerifier
    function verify(uint64 chainId, uint64 height, bytes32 blockHash, bytes calldata certificate) external view {
        if (chainId != CHAIN_ID) revert WrongChain(CHAIN_ID, chainId);
        _checkCertificate(ProtocolCodec.finalityDigest(chainId, height, blockHash), certificate);
    }

    /// @notice Installs the next committee, certified by the current one over
    /// `H(HANDOVER_DOMAIN || u64 chain_id || H(next))`. Anyone may submit it.
    /// @dev Post every block certified by the outgoing committee before handing over: from now on
    /// only the new committee's certificates verify.
    function handover(bytes calldata next, bytes calldata certificate) external {
        _checkCertificate(
            keccak256(abi.encodePacked(ProtocolCodec.HANDOVER_DOMAIN, CHAIN_ID, keccak256(next))), certificate
        );
        _install(next, true, _active.epoch + 1);
    }

    /// @notice The current epoch, its size, its hash and its total stake.
    function committee() external view returns (uint64 epoch, uint32 size, bytes32 hash, uint256 totalStake) {
        Active memory a = _active;
        (, totalStake) = _trailer(a);
        return (a.epoch, a.size, committeeHash, totalStake);
    }

    /// @notice Member `index` of the current committee: its EIP-2537 G1 key and stake.
    function member(uint256 index) external view returns (bytes memory g1PublicKey, uint64 stake) {
        Active memory a = _active;
        if (index >= a.size) revert CommitteeSize(index);
        bytes memory m = new bytes(MEMBER_SIZE);
        address chunk = _chunk(a, index / CHUNK_MEMBERS);
        uint256 at = 1 + (index % CHUNK_MEMBERS) * MEMBER_SIZE;
        assembly ("memory-safe") {
            extcodecopy(chunk, add(m, 0x20), at, 136)
            stake := shr(192, mload(add(m, 0xa0)))
            mstore(m, 128)
        }
        g1PublicKey = m;
    }

    // ---------------------------------------------------------------- certificates

    function _checkCertificate(bytes32 digest, bytes calldata cert) internal view {
        Active memory a = _active;
        uint256 n = a.size;
        uint256 bitmapLen = (n + 7) / 8;
        if (cert.length != SIGNATURE_SIZE + bitmapLen) {
            revert CertificateLength(SIGNATURE_SIZE + bitmapLen, cert.length);
        }
        bytes calldata bitmap = cert[SIGNATURE_SIZE:];
        uint256 bitmapOffset;
        assembly ("memory-safe") {
            bitmapOffset := bitmap.offset
        }
        if (n % 8 != 0 && uint8(bitmap[bitmapLen - 1]) >> (n % 8) != 0) revert BitmapBitsPastCommittee();
        uint256 signers;
        for (uint256 i = 0; i < bitmapLen; i++) {
            signers += _popcount8(uint8(bitmap[i]));
        }

        // Pairing input at `base`: aggPk (128) || H(m) (256) || -g1 (128) || sig (256); hash-to-G2
        // scratch after it. The aggregation uses [base, base + 264) before H(m) is written.
        uint256 base;
        assembly ("memory-safe") {
            base := mload(0x40)
            mstore(0x40, add(base, 2304))
        }
        (uint256 trailerAt, uint256 total) = _trailer(a);
        uint256 signed;
        if (signers * 2 > n) {
            // Most signed: start from the total aggregate and subtract the non-signers.
            address chunk0 = a.chunk0;
            assembly ("memory-safe") {
                extcodecopy(chunk0, base, trailerAt, 128)
            }
            signed = total - _aggregate(n, chunk0, bitmapOffset, base, false);
        } else {
            assembly ("memory-safe") {
                mstore(base, 0)
                mstore(add(base, 0x20), 0)
                mstore(add(base, 0x40), 0)
                mstore(add(base, 0x60), 0)
            }
            signed = _aggregate(n, a.chunk0, bitmapOffset, base, true);
        }
        if (signed * 3 <= total * 2) revert BelowQuorum(signed, total);
        bool infinity;
        assembly ("memory-safe") {
            infinity := iszero(
                or(or(mload(base), mload(add(base, 0x20))), or(mload(add(base, 0x40)), mload(add(base, 0x60))))
            )
        }
        if (infinity) revert AggregateKeyIsInfinity();

        BLS12381.hashToG2(digest, base + 128, base + 768);
        BLS12381.writeNegG1(base + 384);
        assembly ("memory-safe") {
            calldatacopy(add(base, 512), cert.offset, 256)
        }
        if (!BLS12381.isCanonicalG2(base + 512)) revert InvalidSignaturePoint();
        (bool valid, bool holds) = BLS12381.pairingCheck2(base);
        if (!valid) revert InvalidSignaturePoint();
        if (!holds) revert SignatureMismatch();
    }

    /// @dev Adds to the G1 accumulator at `base` the keys of the members whose bitmap bit equals
    /// `signers` (negated when summing non-signers) and returns their total stake. In assembly:
    /// this loop is the only per-member work, so it is kept to one EXTCODECOPY, one negation
    /// (non-signers) and one G1ADD per member.
    function _aggregate(uint256 n, address chunk0, uint256 bitmapOffset, uint256 base, bool signers)
        internal
        view
        returns (uint256 stake)
    {
        assembly ("memory-safe") {
            // Adds member `i` of `chunk` (negated if `neg`) to the accumulator at `acc` and
            // returns its stake. MEMBER_SIZE = 136: key (128) then u64 stake.
            function addMember(acc, chunk, i, neg) -> memberStake {
                let key := add(acc, 0x80)
                extcodecopy(chunk, key, add(1, mul(and(i, 127), 136)), 136)
                memberStake := shr(192, mload(add(key, 0x80)))
                if neg {
                    let hi := mload(add(key, 0x40))
                    let lo := mload(add(key, 0x60))
                    if or(hi, lo) {
                        // y := p - y, p = P_HI * 2^256 + P_LO
                        let pLo := 0x64774b84f38512bf6730d2a0f6b0f6241eabfffeb153ffffb9feffffffffaaab
                        mstore(add(key, 0x60), sub(pLo, lo))
                        mstore(add(key, 0x40), sub(sub(0x1a0111ea397fe69a4b1ba7b6434bacd7, hi), lt(pLo, lo)))
                    }
                }
                if iszero(staticcall(gas(), 0x0b, acc, 0x100, acc, 0x80)) {
                    // BLS12381.PrecompileFailed(G1ADD)
                    mstore(0x00, shl(224, 0xeb8d043a))
                    mstore(0x04, 0x0b)
                    revert(0x00, 0x24)
                }
            }

            mstore(0x00, _moreChunks.slot)
            let moreChunks := keccak256(0x00, 0x20)
            let chunk := chunk0
            let chunkIndex := 0
            let neg := iszero(signers)
            for { let byteIndex := 0 } lt(shl(3, byteIndex), n) { byteIndex := add(byteIndex, 1) } {
                let bits := byte(0, calldataload(add(bitmapOffset, byteIndex)))
                if neg { bits := and(not(bits), 0xff) }
                for { let i := shl(3, byteIndex) } bits { i := add(i, 1) } {
                    if and(bits, 1) {
                        if iszero(lt(i, n)) { break }
                        if iszero(eq(shr(7, i), chunkIndex)) {
                            // CHUNK_MEMBERS = 128; chunks 1.. are in _moreChunks
                            chunkIndex := shr(7, i)
                            chunk := sload(add(moreChunks, sub(chunkIndex, 1)))
                        }
                        stake := add(stake, addMember(base, chunk, i, neg))
                    }
                    bits := shr(1, bits)
                }
            }
        }
    }

    function _popcount8(uint256 x) private pure returns (uint256) {
        x = x - ((x >> 1) & 0x55);
        x = (x & 0x33) + ((x >> 2) & 0x33);
        return (x + (x >> 4)) & 0x0f;
    }

    function _chunk(Active memory a, uint256 index) internal view returns (address) {
        return index == 0 ? a.chunk0 : _moreChunks[index - 1];
    }

    /// @dev Where chunk 0's trailer starts, and the total stake read from it.
    function _trailer(Active memory a) internal view returns (uint256 at, uint256 total) {
        uint256 inChunk0 = a.size < CHUNK_MEMBERS ? a.size : CHUNK_MEMBERS;
        at = 1 + inChunk0 * MEMBER_SIZE;
        address chunk0 = a.chunk0;
        assembly ("memory-safe") {
            extcodecopy(chunk0, 0x00, add(at, 128), 16)
            total := shr(128, mload(0x00))
        }
    }

    // ---------------------------------------------------------------- installing a committee

    function _install(bytes memory enc, bool checkEpoch, uint64 expectedEpoch) internal {
        if (enc.length < COMMITTEE_HEADER_SIZE) revert CommitteeEncodingLength(COMMITTEE_HEADER_SIZE, enc.length);
        uint64 epoch;
        uint256 n;
        assembly ("memory-safe") {
            let w := mload(add(enc, 0x20))
            epoch := shr(192, w)
            n := and(shr(160, w), 0xffffffff)
        }
        if (checkEpoch && epoch != expectedEpoch) revert WrongEpoch(expectedEpoch, epoch);
        if (n == 0 || n > MAX_COMMITTEE_SIZE) revert CommitteeSize(n);
        uint256 expectedLen = COMMITTEE_HEADER_SIZE + n * MEMBER_SIZE;
        if (enc.length != expectedLen) revert CommitteeEncodingLength(expectedLen, enc.length);

        (bytes memory trailer, uint256 total) = _validateMembers(enc, n);
        address chunk0 = _storeChunks(enc, n, trailer);
        _active = Active({chunk0: chunk0, epoch: epoch, size: uint32(n)});
        bytes32 h = keccak256(enc);
        committeeHash = h;
        emit CommitteeInstalled(epoch, h, uint32(n), total, enc);
    }

    /// @dev Checks every member (padding, not infinity, non-zero stake, and, through one G1MSM
    /// call with all scalars one, curve and subgroup membership) and returns chunk 0's trailer:
    /// the aggregate of all keys and the total stake.
    function _validateMembers(bytes memory enc, uint256 n) private view returns (bytes memory trailer, uint256 total) {
        uint256 msm;
        assembly ("memory-safe") {
            msm := mload(0x40)
            mstore(0x40, add(msm, mul(n, 160)))
        }
        for (uint256 i = 0; i < n; i++) {
            uint256 m;
            assembly ("memory-safe") {
                m := add(add(enc, 0x20), add(12, mul(i, 136)))
            }
            (bool padded, bool zero, uint256 memberStake) = _readMember(m);
            if (!padded || zero) revert InvalidCommitteeKey(i);
            if (memberStake == 0) revert ZeroStake(i);
            total += memberStake;
            assembly ("memory-safe") {
                let d := add(msm, mul(i, 160))
                mcopy(d, m, 128)
                mstore(add(d, 128), 1)
            }
        }
        trailer = new bytes(TRAILER_SIZE);
        bool ok;
        assembly ("memory-safe") {
            ok := staticcall(gas(), 0x0c, msm, mul(n, 160), add(trailer, 0x20), 128)
            mstore(add(trailer, 0xa0), shl(128, total))
        }
        if (!ok) revert InvalidCommitteeKeys();
    }

    /// @dev Deploys the members in chunks of 128, chunk 0 followed by `trailer`.
    function _storeChunks(bytes memory enc, uint256 n, bytes memory trailer) private returns (address chunk0) {
        uint256 chunks = (n + CHUNK_MEMBERS - 1) / CHUNK_MEMBERS;
        delete _moreChunks;
        for (uint256 c = 0; c < chunks; c++) {
            uint256 from = c * CHUNK_MEMBERS;
            uint256 count = n - from < CHUNK_MEMBERS ? n - from : CHUNK_MEMBERS;
            bytes memory members = _slice(enc, COMMITTEE_HEADER_SIZE + from * MEMBER_SIZE, count * MEMBER_SIZE);
            address chunk = DataContract.deploy(c == 0 ? bytes.concat(members, trailer) : members);
            if (c == 0) chunk0 = chunk;
            else _moreChunks.push(chunk);
        }
    }

    /// @dev Reads the member at memory `m`: whether both coordinates have zero top padding,
    /// whether the key is all zeroes (infinity), and its stake.
    function _readMember(uint256 m) private pure returns (bool padded, bool zero, uint256 stake) {
        assembly ("memory-safe") {
            let xh := mload(m)
            let xl := mload(add(m, 0x20))
            let yh := mload(add(m, 0x40))
            let yl := mload(add(m, 0x60))
            padded := iszero(or(shr(128, xh), shr(128, yh)))
            zero := iszero(or(or(xh, xl), or(yh, yl)))
            stake := shr(192, mload(add(m, 0x80)))
        }
    }

    function _slice(bytes memory b, uint256 from, uint256 len) private pure returns (bytes memory out) {
        out = new bytes(len);
        assembly ("memory-safe") {
            mcopy(add(out, 0x20), add(add(b, 0x20), from), len)
        }
    }
}
