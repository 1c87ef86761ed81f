//! The one-step proof verifier, Rust against Solidity (docs/pvm.md 9.5, docs/contracts.md 10).
//!
//! [`corpus`] draws steps from real traces of kernels (the example kernels, hand-written kernels
//! covering every instruction family, random wasm-smith kernels), proves each with the Rust
//! prover and records what `pvm_reference::verify_step` answers, for the honest proof and for
//! mutated ones. [`L1Verifier`] deploys the `OneStepProof` contracts on a real anvil and answers
//! the same question for the same bytes. [`compare`] runs both and counts agreements,
//! mismatches (there must be none) and the step classes the L1 does not execute yet.

pub mod corpus;

use std::collections::{BTreeMap, HashMap};
use std::sync::{Arc, Mutex};

use alloy::node_bindings::{Anvil, AnvilInstance};
use alloy::primitives::{Address, Bytes, FixedBytes};
use alloy::providers::Provider;
use l1_bindings::osp::{FixedStepContext, OneStepProof, OspHostCalls, PreimageOracle};
use pvm_reference::ProofError;

pub use corpus::{Case, Corpus, InboxFacts};

/// What a verifier answers for one proof.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Verdict {
    /// The state hash after the tick.
    Post([u8; 32]),
    /// The proof is refused.
    Rejected(Rejection),
}

/// Why a proof is refused, in the terms both verifiers share (`ProofError` and the contracts'
/// named errors).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Rejection {
    Truncated,
    Trailing,
    PreState,
    Witness(String),
    NotProvable(String),
    /// A `reveal_preimage` of a page the oracle does not hold.
    MissingPreimage,
    /// Anything else (an L1 fact missing, a revert without a named error).
    Other(String),
}

impl Verdict {
    /// The Rust verifier's answer.
    pub fn of_rust(r: Result<[u8; 32], ProofError>) -> Verdict {
        match r {
            Ok(h) => Verdict::Post(h),
            Err(e) => Verdict::Rejected(match e {
                ProofError::Truncated(_) => Rejection::Truncated,
                ProofError::Trailing(_) => Rejection::Trailing,
                ProofError::PreState => Rejection::PreState,
                ProofError::Witness(w) => Rejection::Witness(w.to_string()),
                ProofError::NotProvable(w) => Rejection::NotProvable(w),
                ProofError::MissingPreimage(_) => Rejection::MissingPreimage,
                other => Rejection::Other(other.to_string()),
            }),
        }
    }
}

/// The `lastLevel` both verifiers are compared at: no real level, so no state stutters (the
/// Rust verifier has no final-state rule; the contracts' is tested by forge).
pub const NO_LAST_LEVEL: u32 = u32::MAX;

/// The Solidity verifier on its own anvil.
pub struct L1Verifier<P> {
    _anvil: AnvilInstance,
    provider: P,
    osp: Address,
    tick_budget: u64,
    /// A step context per inbox (each corpus kernel has an L1 of its own).
    contexts: Mutex<HashMap<Arc<InboxFacts>, Address>>,
}

/// Starts anvil (the pinned binary) and deploys the verifier, whose step contexts say
/// `tick_budget` ticks per run, with `pages` uploaded to its preimage oracle.
pub async fn start_l1(tick_budget: u64, pages: &pvm::PreimageMap) -> anyhow::Result<L1Verifier<impl Provider + Clone>> {
    let anvil = Anvil::at(l1_bindings::toolchain::anvil()).try_spawn()?;
    let provider = l1_bindings::connect(anvil.endpoint_url(), anvil.keys()[0].clone().into());
    let oracle = PreimageOracle::deploy(provider.clone()).await?;
    for (hash, page) in &pages.0 {
        oracle.upload(Bytes::copy_from_slice(page)).send().await?.get_receipt().await?;
        let digest = FixedBytes::<32>::from_slice(&hash.0[1..]);
        anyhow::ensure!(oracle.has(digest).call().await?, "the oracle does not hold page {hash} after its upload: its blake2b differs");
    }
    let host = OspHostCalls::deploy(provider.clone(), *oracle.address()).await?;
    let osp = OneStepProof::deploy(provider.clone(), *host.address()).await?;
    Ok(L1Verifier { _anvil: anvil, osp: *osp.address(), tick_budget, contexts: Mutex::default(), provider })
}

impl<P: Provider + Clone> L1Verifier<P> {
    /// The step context holding `inbox` (deployed on first use): the tick budget, the corpus's
    /// metadata (`corpus::METADATA`) and the inbox's accumulators and delayed hashes.
    pub async fn context(&self, inbox: &Arc<InboxFacts>) -> anyhow::Result<Address> {
        if let Some(a) = self.contexts.lock().expect("contexts").get(inbox) {
            return Ok(*a);
        }
        let context = FixedStepContext::deploy(self.provider.clone(), self.tick_budget).await?;
        let meta = corpus::METADATA;
        context.setMetadata(Address::from(meta.address.0), meta.origination_level).send().await?.get_receipt().await?;
        let words = |v: &[[u8; 32]]| v.iter().map(|h| FixedBytes(*h)).collect::<Vec<_>>();
        context.setInbox(words(&inbox.accumulators), words(&inbox.delayed)).send().await?.get_receipt().await?;
        self.contexts.lock().expect("contexts").insert(inbox.clone(), *context.address());
        Ok(*context.address())
    }

    /// The `step` call of `case`'s proof from its pre-state, in its kernel's step context.
    async fn step_call(&self, case: &Case) -> anyhow::Result<OneStepProof::stepCall> {
        Ok(OneStepProof::stepCall {
            rollup: self.context(&case.inbox).await?,
            lastLevel: NO_LAST_LEVEL,
            preStateHash: FixedBytes(case.pre),
            proof: Bytes::copy_from_slice(&case.proof),
        })
    }

    /// What the contracts answer for `case`'s proof from its pre-state.
    pub async fn verdict(&self, case: &Case) -> anyhow::Result<Verdict> {
        let osp = OneStepProof::new(self.osp, self.provider.clone());
        let c = self.step_call(case).await?;
        match osp.step(c.rollup, c.lastLevel, c.preStateHash, c.proof).call().await {
            Ok(h) => Ok(Verdict::Post(h.0)),
            Err(e) => {
                use OneStepProof::OneStepProofErrors as E;
                let named = e.as_decoded_interface_error::<E>();
                Ok(Verdict::Rejected(match named {
                    Some(E::ProofTruncated(_)) => Rejection::Truncated,
                    Some(E::TrailingBytes(_)) => Rejection::Trailing,
                    Some(E::PreStateMismatch(_)) => Rejection::PreState,
                    Some(E::InvalidWitness(w)) => Rejection::Witness(w.what),
                    Some(E::NotProvable(w)) => Rejection::NotProvable(w.what),
                    Some(E::PreimageNotUploaded(_)) => Rejection::MissingPreimage,
                    None => {
                        if e.as_revert_data().is_none() {
                            // Not a revert: the node or the connection failed.
                            return Err(e.into());
                        }
                        Rejection::Other(e.to_string())
                    }
                }))
            }
        }
    }

    /// Gas of a transaction that calls `step` with `case`'s proof, less the 21,000 every
    /// transaction pays: execution and calldata.
    pub async fn gas(&self, case: &Case) -> anyhow::Result<u64> {
        let osp = OneStepProof::new(self.osp, self.provider.clone());
        let c = self.step_call(case).await?;
        Ok(osp.step(c.rollup, c.lastLevel, c.preStateHash, c.proof).estimate_gas().await?.saturating_sub(21_000))
    }
}

/// The step classes (or `NotProvable` reasons) the L1 does not execute yet.
pub fn not_yet_on_l1(class: &str) -> bool {
    const ON_L1: &[&str] =
        &["HostCall read_input", "HostCall write_output", "HostCall write_debug", "HostCall reveal_preimage", "HostCall reveal_metadata"];
    class.starts_with("driver") || (class.starts_with("HostCall") && !ON_L1.contains(&class))
}

/// What a comparison found.
#[derive(Debug, Default)]
pub struct Report {
    /// Honest steps both verifiers executed to the same post-state, by class.
    pub agreed: BTreeMap<String, usize>,
    /// Mutated proofs both refused alike (or both took to the same state).
    pub mutants_agreed: usize,
    /// Steps of classes the L1 does not execute yet, by class.
    pub not_yet: BTreeMap<String, usize>,
    /// Disagreements: (case, Rust's verdict, the L1's).
    pub mismatches: Vec<(String, Verdict, Verdict)>,
    /// Gas of honest steps, by class.
    pub gas: BTreeMap<String, Vec<u64>>,
}

impl Report {
    /// Honest steps compared.
    pub fn steps(&self) -> usize {
        self.agreed.values().sum()
    }
}

/// Runs every case through the L1 verifier and compares with the Rust verdicts. Gas is
/// measured on up to `gas_samples` honest steps per class.
pub async fn compare<P: Provider + Clone>(l1: &L1Verifier<P>, cases: &[Case], gas_samples: usize) -> anyhow::Result<Report> {
    let mut report = Report::default();
    for case in cases {
        let got = l1.verdict(case).await?;
        // A `call_indirect` of a host function is a host call: the L1 names it.
        let not_yet = matches!(&got, Verdict::Rejected(Rejection::NotProvable(w)) if not_yet_on_l1(&case.class) || not_yet_on_l1(w));
        if not_yet {
            if case.mutation.is_none() {
                *report.not_yet.entry(case.class.clone()).or_default() += 1;
            }
            continue;
        }
        if got != case.rust {
            report.mismatches.push((case.name(), case.rust.clone(), got));
            continue;
        }
        if case.mutation.is_some() {
            report.mutants_agreed += 1;
            continue;
        }
        *report.agreed.entry(case.class.clone()).or_default() += 1;
        let samples = report.gas.entry(case.class.clone()).or_default();
        if samples.len() < gas_samples {
            samples.push(l1.gas(case).await?);
        }
    }
    Ok(report)
}

/// `(median, max)` of a sample.
pub fn median_max(samples: &[u64]) -> (u64, u64) {
    let mut s = samples.to_vec();
    s.sort_unstable();
    (s.get(s.len() / 2).copied().unwrap_or(0), s.last().copied().unwrap_or(0))
}
