//! Where the pinned L1 toolchain (npm `@foundry-rs/anvil`, `@foundry-rs/forge`) lives, so tests
//! and the devnet start the same anvil the README installs.

use std::path::PathBuf;

/// The repository root (two levels above this crate).
pub fn repo_root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../..")
}

/// The anvil binary: `$ANVIL` if set, else the platform binary from `node_modules`, else `anvil`
/// on `PATH`.
pub fn anvil() -> PathBuf {
    if let Some(p) = std::env::var_os("ANVIL") {
        return p.into();
    }
    let arch = match std::env::consts::ARCH {
        "x86_64" => "amd64",
        "aarch64" => "arm64",
        other => other,
    };
    let pinned = repo_root().join(format!(
        "node_modules/@foundry-rs/anvil-{}-{arch}/bin/anvil",
        std::env::consts::OS
    ));
    if pinned.exists() {
        pinned
    } else {
        PathBuf::from("anvil")
    }
}
