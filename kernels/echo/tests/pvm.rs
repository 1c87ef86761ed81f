//! The built echo kernel (`kernels/build.sh`) under the real PVM.

use std::path::PathBuf;

use protocol::outbox::{L1Call, OutboxMessage};
use protocol::{Address, Hash32, InfoPerLevel, RollupMetadata, Wei};
use pvm::{LevelInput, Pvm, PvmConfig};

fn artifact() -> Vec<u8> {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../target/kernels/echo.wasm");
    std::fs::read(&path).unwrap_or_else(|e| panic!("{}: {e}; build the kernels first with `kernels/build.sh`", path.display()))
}

#[test]
fn echo_wasm_is_a_valid_kernel_and_echoes() {
    let kernel = artifact();
    pvm_validate::validate(&kernel).expect("valid kernel");
    let dir = tempfile::tempdir().unwrap();
    let mut pvm = Pvm::create(dir.path(), &kernel, PvmConfig::new(RollupMetadata { address: Address([1; 20]), origination_level: 0 })).unwrap();
    let call = OutboxMessage { calls: vec![L1Call { destination: Address([2; 20]), value: Wei::from_u128(7), data: vec![] }] }.encode();
    let info = InfoPerLevel { timestamp_ms: 1, block_hash: Hash32::ZERO };
    let out = pvm.run_level(LevelInput::new(1, info, &[], &[call.clone(), b"raw".to_vec()])).unwrap();
    assert_eq!(out.outbox, vec![call.clone(), b"raw".to_vec()]);
    // The message is provable against the state hash.
    let (msg, proof) = pvm.outbox_proof(1, 1, 0).unwrap();
    assert_eq!(msg, call);
    assert_eq!(proof.state_hash_for(&msg), Some(out.record.state_hash));
}
