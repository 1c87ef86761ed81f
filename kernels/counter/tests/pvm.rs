//! The built counter kernel under the real PVM, across a restart of the state directory.

use std::path::PathBuf;

use protocol::{Address, Hash32, InfoPerLevel, RollupMetadata};
use pvm::{Key, LevelInput, Pvm, PvmConfig};

#[test]
fn counter_survives_levels_and_restarts() {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../target/kernels/counter.wasm");
    let kernel = std::fs::read(&path).unwrap_or_else(|e| panic!("{}: {e}; run kernels/build.sh", path.display()));
    let dir = tempfile::tempdir().unwrap();
    let config = PvmConfig::new(RollupMetadata { address: Address([1; 20]), origination_level: 0 });
    let info = InfoPerLevel { timestamp_ms: 0, block_hash: Hash32::ZERO };
    {
        let mut pvm = Pvm::create(dir.path(), &kernel, config.clone()).unwrap();
        let o = pvm.run_level(LevelInput::new(1, info, &[], &[vec![1], vec![2]])).unwrap();
        assert_eq!(o.debug, vec![b"counter = 2".to_vec()]);
    }
    let mut pvm = Pvm::open(dir.path(), config).unwrap();
    assert_eq!(pvm.head().level, 1);
    let o = pvm.run_level(LevelInput::new(2, info, &[], &[vec![3]])).unwrap();
    assert_eq!(o.debug, vec![b"counter = 3".to_vec()]);
    let mut view = pvm.view(2).unwrap();
    assert_eq!(view.read(&Key::new("/counter").unwrap()).unwrap(), Some(3u64.to_be_bytes().to_vec()));
    // The state after level 1 is still readable.
    assert_eq!(pvm.view(1).unwrap().read(&Key::new("/counter").unwrap()).unwrap(), Some(2u64.to_be_bytes().to_vec()));
}
