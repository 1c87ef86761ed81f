//! Builds the forge project so `sol!` finds fresh artifacts in `contract-bridge/out`.
//!
//! forge comes from the repository's pinned npm toolchain (`scripts/setup.sh` installs it); set
//! `FORGE` to use another binary.
use std::path::PathBuf;
use std::process::Command;

fn main() {
    let manifest = PathBuf::from(std::env::var("CARGO_MANIFEST_DIR").unwrap());
    let project = manifest.parent().unwrap().to_path_buf();
    let root = project.parent().unwrap().to_path_buf();
    println!("cargo:rerun-if-changed={}", project.join("src").display());
    println!("cargo:rerun-if-changed={}", project.join("foundry.toml").display());
    // The gas probe is test support the Rust gas table uses.
    println!("cargo:rerun-if-changed={}", project.join("test/utils/GasProbe.sol").display());
    println!("cargo:rerun-if-changed={}", project.join("test/utils/FixedStepContext.sol").display());
    println!("cargo:rerun-if-env-changed=FORGE");

    let forge = std::env::var_os("FORGE")
        .map(PathBuf::from)
        .unwrap_or_else(|| root.join("node_modules/.bin/forge"));
    // From the project's directory: foundry.toml names solc by a path relative to it, and forge
    // run from elsewhere skips the compile (exit 0) and leaves stale artifacts behind.
    let status = Command::new(&forge)
        .args(["build", "--quiet", "--root"])
        .arg(&project)
        .current_dir(&project)
        .status()
        .unwrap_or_else(|e| {
            panic!("cannot run forge at {}: {e}. Run scripts/setup.sh to install the L1 toolchain.", forge.display())
        });
    if !status.success() {
        panic!("`forge build` failed in {}; see the compiler output above", project.display());
    }
}
