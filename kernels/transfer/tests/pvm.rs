//! The built transfer kernel under the real PVM: deposits, transfers, a withdrawal whose
//! outbox message is provable against the state hash, and invalid transactions skipped.

use std::path::PathBuf;

use protocol::outbox::OutboxMessage;
use protocol::{Address, Hash32, InfoPerLevel, RollupMetadata, Transfer, Wei};
use pvm::{Key, LevelInput, Pvm, PvmConfig};
use transfer_tx::{Account, AccountId, Operation, SignedOperation};

const ROLLUP: Address = Address([0x33; 20]);

#[test]
fn transfer_kernel_on_the_pvm() {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../target/kernels/transfer.wasm");
    let kernel = std::fs::read(&path).unwrap_or_else(|e| panic!("{}: {e}; run kernels/build.sh", path.display()));
    let dir = tempfile::tempdir().unwrap();
    let mut pvm = Pvm::create(dir.path(), &kernel, PvmConfig::new(RollupMetadata { address: ROLLUP, origination_level: 0 })).unwrap();
    let (alice_key, bob_key) = ([5u8; 32], [6u8; 32]);
    let (alice, bob) = (AccountId::from_secret(&alice_key), AccountId::from_secret(&bob_key));
    let info = InfoPerLevel { timestamp_ms: 0, block_hash: Hash32::ZERO };

    let deposit = Transfer { sender: Address([1; 20]), value: Wei::from_u128(1_000), payload: alice.0.to_vec() };
    pvm.run_level(LevelInput::new(1, info, &[deposit], &[])).unwrap();

    let t0 = SignedOperation::sign(&alice_key, Operation::Transfer { to: bob, amount: 400 }, 0, &ROLLUP).encode();
    let w0 = SignedOperation::sign(&bob_key, Operation::Withdrawal { recipient: Address([0xbb; 20]), amount: 150 }, 0, &ROLLUP).encode();
    let replay = t0.clone();
    let wrong_rollup = SignedOperation::sign(&alice_key, Operation::Transfer { to: bob, amount: 1 }, 1, &Address([0x34; 20])).encode();
    let out = pvm.run_level(LevelInput::new(2, info, &[], &[t0, w0, replay, wrong_rollup, b"junk".to_vec()])).unwrap();
    assert_eq!(out.debug.len(), 3, "{:?}", out.debug.iter().map(|d| String::from_utf8_lossy(d).into_owned()).collect::<Vec<_>>());
    assert_eq!(out.outbox.len(), 1);
    let msg = OutboxMessage::decode(&out.outbox[0]).unwrap();
    assert_eq!((msg.calls[0].destination, msg.calls[0].value.to_u128()), (Address([0xbb; 20]), Some(150)));
    let (m, proof) = pvm.outbox_proof(2, 2, 0).unwrap();
    assert_eq!(proof.state_hash_for(&m), Some(out.record.state_hash));

    let mut view = pvm.view(2).unwrap();
    let read = |v: &mut pvm::StateView, id: &AccountId| Account::decode(&v.read(&Key::new(&id.storage_key()).unwrap()).unwrap().unwrap()).unwrap();
    assert_eq!(read(&mut view, &alice), Account { balance: 600, nonce: 1 });
    assert_eq!(read(&mut view, &bob), Account { balance: 250, nonce: 1 });
}

/// The worst case for the tick budget: a full run of operations whose batch fails (one bad
/// signature), so every signature is checked twice. No run may fail.
#[test]
fn a_failing_batch_stays_within_the_tick_budget() {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../target/kernels/transfer.wasm");
    let kernel = std::fs::read(&path).unwrap_or_else(|e| panic!("{}: {e}; run kernels/build.sh", path.display()));
    let dir = tempfile::tempdir().unwrap();
    let mut pvm = Pvm::create(dir.path(), &kernel, PvmConfig::new(RollupMetadata { address: ROLLUP, origination_level: 0 })).unwrap();
    let info = InfoPerLevel { timestamp_ms: 0, block_hash: Hash32::ZERO };
    let n = transfer_kernel::OPS_PER_RUN as usize + 10;
    let keys: Vec<[u8; 32]> = (0..n).map(|i| [i as u8 + 1; 32]).collect();
    let deposits: Vec<Transfer> = keys
        .iter()
        .map(|k| Transfer { sender: Address([1; 20]), value: Wei::from_u128(10), payload: AccountId::from_secret(k).0.to_vec() })
        .collect();
    pvm.run_level(LevelInput::new(1, info, &deposits, &[])).unwrap();
    let to = AccountId::from_secret(&[0xff; 32]);
    let mut txs: Vec<Vec<u8>> = keys.iter().map(|k| SignedOperation::sign(k, Operation::Transfer { to, amount: 1 }, 0, &ROLLUP).encode()).collect();
    txs[3][100] ^= 1; // one bad signature in the first batch
    let out = pvm.run_level(LevelInput::new(2, info, &[], &txs)).unwrap();
    assert_eq!(out.runs.len(), 2);
    assert!(out.runs.iter().all(|r| matches!(r.end, pvm::RunEnd::Completed { .. })), "{:?}", out.runs);
    let worst = out.runs[0].metered_ticks;
    assert!(worst < pvm.config().tick_budget * 8 / 10, "{worst} ticks for a failing batch of {}", transfer_kernel::OPS_PER_RUN);
    assert_eq!(out.debug.len(), 1, "only the forged transfer is skipped");
    let mut view = pvm.view(2).unwrap();
    let dest = Account::decode(&view.read(&Key::new(&to.storage_key()).unwrap()).unwrap().unwrap()).unwrap();
    assert_eq!(dest.balance, n as u128 - 1);
}
