//! The Solidity committee verifier against fresh random certificates from the Rust `committee`
//! crate (`blst`) on a live anvil: the Rust verifier is the oracle, the contract must agree on
//! every certificate (valid, under quorum, tampered bitmap, wrong message, outsider key), across
//! committee sizes that use one and two stake-table chunks, stake-weighted committees (both
//! aggregation paths), and handovers. Also checks the 250k-gas budget at 128 signers.

use alloy::primitives::{Bytes, FixedBytes};
use committee::{Certificate, Committee, SecretKey};
use l1_bindings::{CommitteeVerifier, GasProbe};
use protocol::sequencer::{finality_digest, handover_digest};
use protocol::Hash32;

mod common;
use common::Rng;

const CHAIN: u64 = 9;

fn keys(rng: &mut Rng, n: usize) -> Vec<SecretKey> {
    (0..n).map(|_| SecretKey::from_ikm(&rng.hash()).unwrap()).collect()
}

fn certificate(keys: &[SecretKey], signers: &[usize], digest: &[u8; 32]) -> Certificate {
    let sigs: Vec<_> = signers.iter().map(|&i| (i, keys[i].sign(digest))).collect();
    Certificate::aggregate(keys.len(), &sigs).unwrap()
}

#[tokio::test(flavor = "multi_thread")]
async fn contract_agrees_with_blst_on_random_certificates() {
    let mut rng = Rng(0xb15);
    let (_anvil, provider) = common::anvil();
    let probe = GasProbe::deploy(&provider).await.unwrap();

    // (size, weighted stakes)
    for (n, weighted) in [(1usize, false), (4, false), (7, true), (16, true), (128, false), (130, true)] {
        let ks = keys(&mut rng, n);
        let stakes: Vec<u64> = (0..n).map(|i| if weighted { 1 + rng.next() % 1000 + if i == 0 { 5000 } else { 0 } } else { 10 }).collect();
        let c = Committee { epoch: 3, members: ks.iter().zip(&stakes).map(|(k, s)| (k.public_key(), *s)).collect() };
        let verifier = CommitteeVerifier::deploy(&provider, CHAIN, Bytes::from(c.to_l1().encode())).await.unwrap();
        let info = verifier.committee().call().await.unwrap();
        assert_eq!(info.hash.0, c.to_l1().hash().0);
        assert_eq!(info.size as usize, n);

        for trial in 0..6 {
            let height = rng.next() % 1_000_000;
            let block = Hash32(rng.hash());
            let digest = finality_digest(CHAIN, height, &block);
            // Random subsets, biased around the quorum line.
            let p = [30u64, 60, 70, 80, 95, 100][trial];
            let mut signers: Vec<usize> = (0..n).filter(|_| rng.next() % 100 < p).collect();
            if signers.is_empty() {
                signers.push(0);
            }
            let cert = certificate(&ks, &signers, &digest);
            let rust = cert.verify(&c, &digest);
            let sol = verifier.verify(CHAIN, height, FixedBytes::from(block.0), Bytes::from(cert.to_l1_bytes())).call().await;
            assert_eq!(rust.is_ok(), sol.is_ok(), "n={n} signers={signers:?}: rust {rust:?}, solidity {sol:?}");
            if let Err(e) = &sol {
                let named = e.as_decoded_interface_error::<CommitteeVerifier::CommitteeVerifierErrors>();
                assert!(matches!(named, Some(CommitteeVerifier::CommitteeVerifierErrors::BelowQuorum(_))), "n={n}: {e}");
                continue;
            }
            // Tampering: another height, a flipped bitmap bit, an outsider's signature.
            let wrong = verifier.verify(CHAIN, height + 1, FixedBytes::from(block.0), Bytes::from(cert.to_l1_bytes())).call().await;
            assert!(matches!(
                wrong.unwrap_err().as_decoded_interface_error::<CommitteeVerifier::CommitteeVerifierErrors>(),
                Some(CommitteeVerifier::CommitteeVerifierErrors::SignatureMismatch(_))
            ));
            let mut flipped = cert.clone();
            let bit = (rng.next() as usize) % n;
            flipped.bitmap[bit / 8] ^= 1 << (bit % 8);
            let rust = flipped.verify(&c, &digest);
            assert!(rust.is_err());
            let sol = verifier.verify(CHAIN, height, FixedBytes::from(block.0), Bytes::from(flipped.to_l1_bytes())).call().await;
            assert!(sol.is_err(), "n={n}: flipped bit {bit} accepted");
            let outsider = keys(&mut rng, 1).remove(0);
            let mut sigs: Vec<_> = signers.iter().map(|&i| (i, ks[i].sign(&digest))).collect();
            sigs[0].1 = outsider.sign(&digest);
            let forged = Certificate::aggregate(n, &sigs).unwrap();
            let sol = verifier.verify(CHAIN, height, FixedBytes::from(block.0), Bytes::from(forged.to_l1_bytes())).call().await;
            assert!(matches!(
                sol.unwrap_err().as_decoded_interface_error::<CommitteeVerifier::CommitteeVerifierErrors>(),
                Some(CommitteeVerifier::CommitteeVerifierErrors::SignatureMismatch(_))
            ));
        }

        if n == 128 {
            // The budget: at most 250k gas to verify, calldata excluded, for every signer count
            // that is a quorum (the most work is where signers and non-signers are balanced).
            let block = Hash32(rng.hash());
            let digest = finality_digest(CHAIN, 1, &block);
            for signing in [86usize, 100, 128] {
                let signers: Vec<usize> = (0..signing).collect();
                let cert = certificate(&ks, &signers, &digest);
                let gas = probe
                    .measureVerify(*verifier.address(), CHAIN, 1, FixedBytes::from(block.0), Bytes::from(cert.to_l1_bytes()))
                    .call()
                    .await
                    .unwrap();
                eprintln!("verify, committee of 128, {signing} signers: {gas} gas");
                assert!(gas <= alloy::primitives::U256::from(250_000u64), "{signing} signers: {gas} gas");
            }
        }
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn handover_to_a_random_committee() {
    let mut rng = Rng(0x4a4d);
    let (_anvil, provider) = common::anvil();
    let old_keys = keys(&mut rng, 10);
    let old = Committee { epoch: 0, members: old_keys.iter().map(|k| (k.public_key(), 5)).collect() };
    let verifier = CommitteeVerifier::deploy(&provider, CHAIN, Bytes::from(old.to_l1().encode())).await.unwrap();
    let new_keys = keys(&mut rng, 13);
    let new = Committee { epoch: 1, members: new_keys.iter().map(|k| (k.public_key(), 2)).collect() };
    let digest = handover_digest(CHAIN, &new.to_l1());
    // Six of ten is not a quorum; seven is.
    let weak = certificate(&old_keys, &[0, 1, 2, 3, 4, 5], &digest);
    assert!(verifier.handover(Bytes::from(new.to_l1().encode()), Bytes::from(weak.to_l1_bytes())).call().await.is_err());
    let strong = certificate(&old_keys, &[0, 1, 2, 3, 4, 5, 6], &digest);
    verifier
        .handover(Bytes::from(new.to_l1().encode()), Bytes::from(strong.to_l1_bytes()))
        .send()
        .await
        .unwrap()
        .get_receipt()
        .await
        .unwrap();
    let info = verifier.committee().call().await.unwrap();
    assert_eq!((info.epoch, info.size), (1, 13));
    let block = Hash32(rng.hash());
    let cert = certificate(&new_keys, &(0..9).collect::<Vec<_>>(), &finality_digest(CHAIN, 5, &block));
    verifier.verify(CHAIN, 5, FixedBytes::from(block.0), Bytes::from(cert.to_l1_bytes())).call().await.unwrap();
}
