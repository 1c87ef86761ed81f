//! Game ticks and where they fall. A game over two commitments with a common predecessor counts
//! ticks from the predecessor's state (tick 0) through the levels `predecessor + 1 ..=
//! predecessor + period`; each level is `runs × B` ticks (docs/pvm.md 4.1), run `r` of a level
//! covering its ticks `r × B .. (r + 1) × B`. Past a commitment's last tick its trace stays at
//! its final state (the one-step verifier's final-state rule), so two traces of different
//! lengths are compared tick by tick over the longer one.

/// The 77-byte final-state header of a level's state (docs/pvm.md 9.5, the game's `Claim`):
/// `u32 level ‖ u64 ticks ‖ durable_root ‖ outbox_root ‖ u8 0`. It proves a commitment's state
/// hash is the end of its level at its tick count.
pub fn level_header(record: &pvm::LevelRecord) -> Vec<u8> {
    let mut h = Vec::with_capacity(77);
    h.extend_from_slice(&record.level.to_be_bytes());
    h.extend_from_slice(&record.ticks.to_be_bytes());
    h.extend_from_slice(&record.durable_root.0);
    h.extend_from_slice(&record.outbox_root.0);
    h.push(pvm::state::STATUS_WAITING_FOR_INPUT);
    h
}

/// Where one game tick of one commitment's trace is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TickPlace {
    /// The predecessor's state (game tick 0).
    Start,
    /// Before tick `run_tick` of run `run` of `level`: `run_tick` 0 is the state before the
    /// run's first tick (the previous level's end for run 0, the state between runs after).
    InRun {
        /// The inbox level.
        level: u32,
        /// The run within the level.
        run: usize,
        /// The tick within the run, below the budget.
        run_tick: u64,
    },
    /// At or past the end of `level`'s last run: the level's state (the commitment's final
    /// state when `level` is its last level).
    LevelEnd {
        /// The level that ended.
        level: u32,
    },
}

/// Why a trace cannot be laid out.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TickMapError {
    /// A budget below 3 leaves no instruction tick (the rollup refuses it at origination).
    #[error("tick budget {0} is below 3")]
    Budget(u64),
    /// A level with no run: every level runs the kernel at least once.
    #[error("level {0} has no run")]
    NoRun(u32),
    /// The levels' ticks do not fit 64 bits.
    #[error("the ticks of the disputed levels overflow 64 bits")]
    Overflow,
}

/// One commitment's trace: its levels (in order, consecutive) with their run counts.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TickMap {
    budget: u64,
    first_level: u32,
    /// Cumulative game ticks at the end of each level.
    ends: Vec<u64>,
}

impl TickMap {
    /// The trace of the levels `first_level, first_level + 1, …` whose run counts are `runs`,
    /// with tick budget `budget`.
    pub fn new(budget: u64, first_level: u32, runs: &[u64]) -> Result<Self, TickMapError> {
        if budget < 3 {
            return Err(TickMapError::Budget(budget));
        }
        let mut ends = Vec::with_capacity(runs.len());
        let mut total = 0u64;
        for (i, &r) in runs.iter().enumerate() {
            let level = first_level.checked_add(i as u32).ok_or(TickMapError::Overflow)?;
            if r == 0 {
                return Err(TickMapError::NoRun(level));
            }
            total = r.checked_mul(budget).and_then(|t| total.checked_add(t)).ok_or(TickMapError::Overflow)?;
            ends.push(total);
        }
        Ok(TickMap { budget, first_level, ends })
    }

    /// The trace's length: the commitment's `numberOfTicks`.
    pub fn ticks(&self) -> u64 {
        self.ends.last().copied().unwrap_or(0)
    }

    /// The last level (the commitment's).
    pub fn last_level(&self) -> u32 {
        self.first_level + self.ends.len().saturating_sub(1) as u32
    }

    /// Where game tick `t` is in this trace.
    pub fn place(&self, t: u64) -> TickPlace {
        if t == 0 || self.ends.is_empty() {
            return TickPlace::Start;
        }
        if t >= self.ticks() {
            return TickPlace::LevelEnd { level: self.last_level() };
        }
        // The first level whose end is past t: t is inside it, or at its start.
        let i = self.ends.partition_point(|&end| end <= t);
        let level_start = if i == 0 { 0 } else { self.ends[i - 1] };
        let level = self.first_level + i as u32;
        let within = t - level_start;
        if within == 0 {
            // A level's first state is the previous level's end.
            return if i == 0 { TickPlace::Start } else { TickPlace::LevelEnd { level: level - 1 } };
        }
        TickPlace::InRun { level, run: (within / self.budget) as usize, run_tick: within % self.budget }
    }

    /// Where the tick that leaves game tick `t` executes: `(level, run, run_tick)`, or `None`
    /// past the trace's end (the final state steps to itself).
    pub fn step_at(&self, t: u64) -> Option<(u32, usize, u64)> {
        if t >= self.ticks() {
            return None;
        }
        let i = self.ends.partition_point(|&end| end <= t);
        let level_start = if i == 0 { 0 } else { self.ends[i - 1] };
        let within = t - level_start;
        Some((self.first_level + i as u32, (within / self.budget) as usize, within % self.budget))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The header hashes to the record's state hash exactly as the game contract checks it
    /// (`RefutationGame._checkHeader`): `H(H(domain ‖ 0 ‖ header[0..44] ‖ 0^32) ‖ header[44..76])`.
    #[test]
    fn a_level_header_hashes_to_its_state() {
        let dir = tempfile::tempdir().unwrap();
        let kernel = wat::parse_str(r#"(module (import "smart_rollup_core" "write_debug" (func (param i32 i32))) (memory (export "memory") 1) (func (export "kernel_run")))"#).unwrap();
        let meta = protocol::RollupMetadata { address: protocol::Address([1; 20]), origination_level: 0 };
        let mut pvm = pvm::Pvm::create(dir.path(), &kernel, pvm::PvmConfig::new(meta)).unwrap();
        let info = protocol::InfoPerLevel { timestamp_ms: 1, block_hash: protocol::Hash32::ZERO };
        let record = pvm.run_level(pvm::LevelInput::new(1, info, &[], &[b"x".to_vec()])).unwrap().record;
        let h = level_header(&record);
        assert_eq!(h.len(), 77);
        let domain = protocol::hash::keccak256(b"rollup.pvm.state.v1");
        let pvm_root = protocol::hash::keccak256_concat(&[&domain, &[0], &h[0..44], &[0; 32]]);
        assert_eq!(pvm_root, record.pvm_root.0);
        assert_eq!(protocol::hash::keccak256_concat(&[&pvm_root, &h[44..76]]), record.state_hash.0);
    }

    #[test]
    fn ticks_fall_into_levels_runs_and_the_final_state() {
        // Levels 5, 6, 7 with 1, 2 and 1 runs of 10 ticks.
        let m = TickMap::new(10, 5, &[1, 2, 1]).unwrap();
        assert_eq!(m.ticks(), 40);
        assert_eq!(m.last_level(), 7);
        assert_eq!(m.place(0), TickPlace::Start);
        assert_eq!(m.place(1), TickPlace::InRun { level: 5, run: 0, run_tick: 1 });
        assert_eq!(m.place(9), TickPlace::InRun { level: 5, run: 0, run_tick: 9 });
        assert_eq!(m.place(10), TickPlace::LevelEnd { level: 5 });
        assert_eq!(m.place(11), TickPlace::InRun { level: 6, run: 0, run_tick: 1 });
        assert_eq!(m.place(20), TickPlace::InRun { level: 6, run: 1, run_tick: 0 });
        assert_eq!(m.place(29), TickPlace::InRun { level: 6, run: 1, run_tick: 9 });
        assert_eq!(m.place(30), TickPlace::LevelEnd { level: 6 });
        assert_eq!(m.place(40), TickPlace::LevelEnd { level: 7 });
        assert_eq!(m.place(u64::MAX), TickPlace::LevelEnd { level: 7 });
        // The step out of a level's end is the next level's first run tick; past the end none.
        assert_eq!(m.step_at(0), Some((5, 0, 0)));
        assert_eq!(m.step_at(10), Some((6, 0, 0)));
        assert_eq!(m.step_at(19), Some((6, 0, 9)));
        assert_eq!(m.step_at(20), Some((6, 1, 0)));
        assert_eq!(m.step_at(39), Some((7, 0, 9)));
        assert_eq!(m.step_at(40), None);
    }

    #[test]
    fn hostile_layouts_are_refused_not_overflowed() {
        assert_eq!(TickMap::new(2, 1, &[1]), Err(TickMapError::Budget(2)));
        assert_eq!(TickMap::new(10, 1, &[1, 0]), Err(TickMapError::NoRun(2)));
        assert_eq!(TickMap::new(u64::MAX / 2, 1, &[3]), Err(TickMapError::Overflow));
        assert_eq!(TickMap::new(1 << 40, 1, &[1 << 23, 1 << 23]), Err(TickMapError::Overflow));
        assert_eq!(TickMap::new(10, u32::MAX, &[1, 1]), Err(TickMapError::Overflow));
    }
}
