//! Hundreds of seeds of every scenario, with the invariants of `docs/consensus.md` section 7
//! checked on every run. `cargo run --release -p consensus-sim --bin simulate -- --seeds 5000`
//! runs thousands.

use consensus_sim::{run, run_seeds, Ed25519, Scenario};

/// Seeds per scenario in the normal test run.
const SEEDS: u64 = 200;

fn scenario(s: Scenario) {
    let sum = run_seeds::<Ed25519>(s, 0, SEEDS, 2);
    if let Some(f) = sum.failures.first() {
        panic!("{} of {SEEDS} seeds failed; first: {f}", sum.failures.len());
    }
    assert_eq!(sum.passed, SEEDS);
    // Every run decided blocks (the liveness check asks for more than this after the heal).
    assert!(sum.decided >= SEEDS * 10, "too few decisions: {}", sum.decided);
}

#[test]
fn normal() {
    scenario(Scenario::Normal);
}

#[test]
fn lossy_and_reordering() {
    scenario(Scenario::Lossy);
}

#[test]
fn partitions() {
    scenario(Scenario::Partition);
}

#[test]
fn crashes_and_restarts_from_disk() {
    scenario(Scenario::Crash);
}

#[test]
fn equivocating_leader() {
    let sum = run_seeds::<Ed25519>(Scenario::Equivocation, 0, SEEDS, 2);
    assert!(sum.failures.is_empty(), "{}", sum.failures[0]);
    // The equivocation is seen, proven and penalised, not just survived.
    assert!(sum.evidence > 0 && sum.penalties > 0);
}

#[test]
fn byzantine_member() {
    scenario(Scenario::Byzantine);
}

#[test]
fn weighted_stakes() {
    scenario(Scenario::Weighted);
}

#[test]
fn everything_at_once() {
    scenario(Scenario::Mixed);
}

#[test]
fn bls_runs_the_same_protocol() {
    // The node's scheme, on a few seeds (a BLS run costs about 30 times an ed25519 one).
    for s in [Scenario::Normal, Scenario::Crash, Scenario::Byzantine] {
        let sum = run_seeds::<consensus::Bls>(s, 0, 2, 2);
        assert!(sum.failures.is_empty(), "{}", sum.failures[0]);
    }
}

#[test]
fn runs_are_deterministic() {
    for s in [Scenario::Mixed, Scenario::Byzantine] {
        let a = run::<Ed25519>(s, 7).expect("passes");
        let b = run::<Ed25519>(s, 7).expect("passes");
        assert_eq!(a, b);
        let c = run::<Ed25519>(s, 8).expect("passes");
        assert_ne!(a.trace, c.trace);
    }
}

#[test]
fn the_checker_catches_a_fork() {
    // With half the stake Byzantine the protocol's assumptions are broken; the agreement check
    // must notice the fork the faulty members engineer.
    let sum = run_seeds::<Ed25519>(Scenario::TooManyFaulty, 0, 50, 2);
    let forks = sum.failures.iter().filter(|f| matches!(f.violation, consensus_sim::Violation::Agreement { .. })).count();
    assert!(forks > 0, "no fork detected in 50 runs with half the stake Byzantine");
}
