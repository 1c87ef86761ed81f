//! The same proofs through the Rust verifier and the Solidity one on anvil: identical
//! post-states and identical rejections, on a CI-sized corpus (`OSP_DIFF_SEEDS` random kernels,
//! 12 by default; `cargo run -p osp-differential --release -- --seeds 2000` is the full size).

use osp_differential::corpus::{bulk_memory_kernel, every_instruction_kernel, host_kernel, random_kernel, tables_kernel, trap_kernels};
use osp_differential::{compare, median_max, not_yet_on_l1, start_l1, Corpus};
use pvm_reference::code::ALL_OPS;

fn built(name: &str) -> Vec<u8> {
    let path = l1_bindings::toolchain::repo_root().join("target/kernels").join(name);
    std::fs::read(&path).unwrap_or_else(|e| panic!("{}: {e}; run kernels/build.sh", path.display()))
}

#[tokio::test(flavor = "multi_thread")]
async fn rust_and_solidity_verifiers_agree_on_real_traces() {
    let budget = 50_000_000;
    let mut corpus = Corpus::new(budget, 0x2545_f491_4f6c_dd1d);
    assert!(corpus.add_kernel("every instruction", &every_instruction_kernel(), &[], 100_000, 1));
    assert!(corpus.add_kernel("tables", &tables_kernel(), &[], 100_000, 1));
    assert!(corpus.add_kernel("bulk memory", &bulk_memory_kernel(), &[], 100_000, 1));
    assert!(corpus.add_kernel("host calls", &host_kernel(), &[], 100_000, 2));
    for (name, wasm) in trap_kernels() {
        assert!(corpus.add_kernel(&name, &wasm, &[], 1_000, 3), "{name}");
    }
    // The kernels that read their inbox get delayed messages too: a deposit and a plain one.
    corpus.transfers = osp_differential::corpus::sample_transfers();
    for (name, wasm) in osp_differential::corpus::reveal_kernels() {
        assert!(corpus.add_kernel(&name, &wasm, &[], 1_000, 2), "{name}");
    }
    assert!(corpus.add_kernel("inputs", &osp_differential::corpus::input_kernel(), &[b"hello".to_vec(), vec![7; 300]], 100_000, 2));
    corpus.add_kernel("counter", &built("counter.wasm"), &[vec![1], vec![2]], 60, 2);
    corpus.add_kernel("echo", &built("echo.wasm"), &[b"hello".to_vec()], 40, 2);
    corpus.add_kernel("transfer", &built("transfer.wasm"), &[vec![1, 2, 3]], 40, 2);
    let seeds: u64 = std::env::var("OSP_DIFF_SEEDS").ok().and_then(|s| s.parse().ok()).unwrap_or(12);
    for seed in 0..seeds {
        if let Some(wasm) = random_kernel(seed) {
            corpus.add_kernel(&format!("random kernel {seed}"), &wasm, &[b"/key".to_vec(), vec![1; 40]], 12, 2);
        }
    }

    let l1 = start_l1(budget, &corpus.pages).await.expect("anvil and the verifier");
    let report = compare(&l1, &corpus.cases, 3).await.expect("the L1 answers");
    eprintln!(
        "{} cases from {} kernels: {} honest steps agree, {} mutants agree, {} mismatches",
        corpus.cases.len(),
        corpus.kernels,
        report.steps(),
        report.mutants_agreed,
        report.mismatches.len()
    );
    for (class, n) in &report.agreed {
        let (median, max) = median_max(&report.gas[class]);
        eprintln!("  {class:>18}: {n:>5} steps, gas median {median:>7} max {max:>7}");
    }
    for (class, n) in &report.not_yet {
        eprintln!("  not on the L1 yet: {class} ({n})");
    }
    for (case, rust, l1) in report.mismatches.iter().take(20) {
        eprintln!("MISMATCH {case}: Rust {rust:?}, L1 {l1:?}");
    }
    assert!(report.mismatches.is_empty(), "{} mismatches", report.mismatches.len());
    // Every instruction the L1 executes was executed on it, and agreed.
    for op in ALL_OPS {
        let name = format!("{op:?}");
        if name != "HostCall" && !not_yet_on_l1(&name) {
            assert!(report.agreed.contains_key(&name), "no {name} step was compared");
        }
    }
    for class in ["padding", "HostCall read_input", "HostCall reveal_preimage", "HostCall write_output", "HostCall write_debug", "HostCall reveal_metadata"] {
        assert!(report.agreed.contains_key(class), "no {class} step was compared");
    }
    assert!(report.steps() >= 1_000, "{} steps", report.steps());
    assert!(report.mutants_agreed >= 1_000, "{} mutants", report.mutants_agreed);
}
