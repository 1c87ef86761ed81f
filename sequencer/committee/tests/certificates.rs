use committee::{dev_keys, Certificate, Committee, CryptoError, PublicKey, Signature};
use protocol::sequencer::finality_digest;
use protocol::Hash32;

fn committee(n: usize, stakes: &[u64]) -> (Vec<committee::SecretKey>, Committee) {
    let keys = dev_keys("test", n);
    let members = keys.iter().zip(stakes.iter().cycle()).map(|(k, s)| (k.public_key(), *s)).collect();
    (keys, Committee { epoch: 0, members })
}

#[test]
fn quorum_certificate_verifies_and_tampering_fails() {
    let (keys, c) = committee(4, &[10]);
    let digest = finality_digest(7, 1, &Hash32([1; 32]));
    let sigs: Vec<_> = keys.iter().enumerate().take(3).map(|(i, k)| (i, k.sign(&digest))).collect();
    let cert = Certificate::aggregate(4, &sigs).unwrap();
    cert.verify(&c, &digest).unwrap();

    // Wrong message.
    let other = finality_digest(7, 2, &Hash32([1; 32]));
    assert_eq!(cert.verify(&c, &other), Err(CryptoError::BadSignature));
    // Wrong bitmap (claims member 3 instead of 2).
    let mut bad = cert.clone();
    bad.bitmap[0] = 0b1011;
    assert_eq!(bad.verify(&c, &digest), Err(CryptoError::BadSignature));
    // Under the threshold: 2 of 4 equal stakes is not more than two thirds.
    let two = Certificate::aggregate(4, &sigs[..2]).unwrap();
    assert!(matches!(two.verify(&c, &digest), Err(CryptoError::BelowQuorum { .. })));
    // A key that is not in the committee.
    let outsider = dev_keys("outsider", 1).remove(0);
    let mut forged = sigs[..2].to_vec();
    forged.push((2, outsider.sign(&digest)));
    let cert = Certificate::aggregate(4, &forged).unwrap();
    assert_eq!(cert.verify(&c, &digest), Err(CryptoError::BadSignature));
    // Bits past the committee size.
    let mut bad = Certificate::aggregate(4, &sigs).unwrap();
    bad.bitmap[0] |= 0x80;
    assert!(bad.verify(&c, &digest).is_err());
}

#[test]
fn stake_weighting() {
    // One heavy member alone holds more than two thirds.
    let (keys, c) = committee(4, &[100, 1, 1, 1]);
    let digest = [9u8; 32];
    let cert = Certificate::aggregate(4, &[(0, keys[0].sign(&digest))]).unwrap();
    cert.verify(&c, &digest).unwrap();
    let cert = Certificate::aggregate(4, &[(1, keys[1].sign(&digest)), (2, keys[2].sign(&digest)), (3, keys[3].sign(&digest))]).unwrap();
    assert!(matches!(cert.verify(&c, &digest), Err(CryptoError::BelowQuorum { .. })));
}

#[test]
fn eip2537_encodings_roundtrip() {
    let k = dev_keys("enc", 1).remove(0);
    let pk = k.public_key();
    let e = pk.to_eip2537();
    assert_eq!(&e[..16], &[0u8; 16]);
    assert_eq!(PublicKey::from_eip2537(&e).unwrap(), pk);
    let s = k.sign(&[1; 32]);
    let e = s.to_eip2537();
    assert_eq!(Signature::from_eip2537(&e).unwrap(), s);
    let cert = Certificate::aggregate(1, &[(0, s)]).unwrap();
    assert_eq!(Certificate::from_l1_bytes(&cert.to_l1_bytes()).unwrap(), cert);
    // Garbage is an error, not a panic.
    assert!(PublicKey::from_eip2537(&[1u8; 128]).is_err());
    assert!(Signature::from_eip2537(&[0u8; 10]).is_err());
    assert!(Certificate::from_l1_bytes(&[7u8; 300]).is_err());
}

#[test]
fn proof_of_possession() {
    let keys = dev_keys("pop", 2);
    let pop = keys[0].prove_possession();
    assert!(keys[0].public_key().verify_possession(&pop));
    assert!(!keys[1].public_key().verify_possession(&pop));
}

#[test]
fn committee_hash_is_over_l1_encoding() {
    let (_, c) = committee(3, &[5]);
    let l1 = c.to_l1();
    assert_eq!(l1.members.len(), 3);
    assert_eq!(protocol::sequencer::Committee::decode(&l1.encode()).unwrap(), l1);
}

#[test]
fn multi_digest_certificate() {
    // Each signer signs its own digest (as in a consensus timeout certificate); two share one.
    let (keys, c) = committee(4, &[10]);
    let digest_of = |i: usize| [if i == 2 { 1u8 } else { 2u8 + (i as u8 % 2) }; 32];
    let sigs: Vec<_> = (0..3).map(|i| (i, keys[i].sign(&digest_of(i)))).collect();
    let cert = Certificate::aggregate(4, &sigs).unwrap();
    cert.verify_multi(&c, digest_of).unwrap();
    // One signer's digest differs from what it signed.
    assert_eq!(cert.verify_multi(&c, |i| if i == 0 { [9; 32] } else { digest_of(i) }), Err(CryptoError::BadSignature));
    // Below quorum and bad bitmaps are rejected like single-digest certificates.
    let two = Certificate::aggregate(4, &sigs[..2]).unwrap();
    assert!(matches!(two.verify_multi(&c, digest_of), Err(CryptoError::BelowQuorum { .. })));
    let mut bad = cert.clone();
    bad.bitmap.push(0);
    assert!(matches!(bad.verify_multi(&c, digest_of), Err(CryptoError::BitmapLength { .. })));
    // When every signer signed the same digest it agrees with `verify`.
    let same: Vec<_> = (0..4).map(|i| (i, keys[i].sign(&[5; 32]))).collect();
    let cert = Certificate::aggregate(4, &same).unwrap();
    cert.verify(&c, &[5; 32]).unwrap();
    cert.verify_multi(&c, |_| [5; 32]).unwrap();
}
