//! The honest player's move. A dissection of `[start, end]` claims a state at each point
//! `start + (end − start) × i / n`, `n = min(k, end − start)` (the contract's
//! `dissectionPoints`); the player agrees with the opponent's first point and disputes its last,
//! so some section starts where both agree and ends where they differ: the first such section
//! is the one to play. It is dissected again, or, when it is one tick, proven.

use alloy::primitives::B256;

/// The points of a dissection of `[start, end]` into at most `k` sections, as the contract
/// computes them (`RefutationGame.dissectionPoints`), or `None` for an empty range or `k < 2`.
pub fn dissection_points(start: u64, end: u64, k: u64) -> Option<Vec<u64>> {
    if end <= start || k < 2 {
        return None;
    }
    let len = end - start;
    let n = len.min(k);
    Some((0..=n).map(|i| start + ((len as u128 * i as u128) / n as u128) as u64).collect())
}

/// The first section of the opponent's dissection `theirs` whose start this player agrees with
/// and whose end it disputes, given `mine`, its own states at the same points.
pub fn first_disputed_section(theirs: &[B256], mine: &[B256]) -> Result<usize, MoveError> {
    if theirs.len() != mine.len() || theirs.len() < 2 {
        return Err(MoveError::Length { theirs: theirs.len(), points: mine.len() });
    }
    if theirs[0] != mine[0] {
        return Err(MoveError::StartDisagrees { ours: mine[0], theirs: theirs[0] });
    }
    match (1..theirs.len()).find(|&j| theirs[j] != mine[j]) {
        Some(j) => Ok(j - 1),
        None => Err(MoveError::NothingDisputed),
    }
}

/// What to play against a dissection.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Move {
    /// Dissect section `section` (ticks `start .. end`, more than one), claiming `claim` at its
    /// end; the next dissection's points are `dissection_points(start, end, k)`.
    Dissect {
        /// The section of the opponent's dissection.
        section: usize,
        /// This player's state at its end.
        claim: B256,
        /// Its first tick.
        start: u64,
        /// Its last tick.
        end: u64,
    },
    /// Section `section` is the one tick leaving game tick `tick`: prove it.
    Prove {
        /// The section of the opponent's dissection.
        section: usize,
        /// This player's state after the tick.
        claim: B256,
        /// The game tick before the step.
        tick: u64,
    },
}

/// Why no move can be chosen: each means this player's trace is not the one it played so far,
/// or the opponent's dissection is not the game's.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum MoveError {
    /// The dissection and the points differ in length.
    #[error("a dissection of {theirs} hashes against {points} points")]
    Length {
        /// Hashes in the opponent's dissection.
        theirs: usize,
        /// Points computed for it.
        points: usize,
    },
    /// The dissection starts at a state this player does not hold.
    #[error("the dissection starts at {theirs}, this node's state there is {ours}")]
    StartDisagrees {
        /// This player's state.
        ours: B256,
        /// The opponent's.
        theirs: B256,
    },
    /// Every point agrees: there is nothing to dispute.
    #[error("every point of the dissection agrees with this node's trace")]
    NothingDisputed,
}

/// The move against the opponent's dissection `theirs` of the points `points`, given `mine`,
/// this player's states at the same points.
pub fn plan_move(points: &[u64], theirs: &[B256], mine: &[B256]) -> Result<Move, MoveError> {
    if points.len() != theirs.len() {
        return Err(MoveError::Length { theirs: theirs.len(), points: points.len() });
    }
    let section = first_disputed_section(theirs, mine)?;
    let (start, end) = (points[section], points[section + 1]);
    let claim = mine[section + 1];
    Ok(if end - start == 1 { Move::Prove { section, claim, tick: start } } else { Move::Dissect { section, claim, start, end } })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn h(tag: &str, t: u64) -> B256 {
        alloy::primitives::keccak256(format!("{tag}{t}"))
    }

    #[test]
    fn points_match_the_contracts_formula() {
        assert_eq!(dissection_points(0, 4, 32).unwrap(), vec![0, 1, 2, 3, 4]);
        assert_eq!(dissection_points(10, 20, 4).unwrap(), vec![10, 12, 15, 17, 20]);
        let p = dissection_points(0, u64::MAX, 32).unwrap();
        assert_eq!(p.len(), 33);
        assert_eq!(*p.last().unwrap(), u64::MAX);
        // No section is more than half the range (Tezos bug #2998 was a linear game).
        assert!(p.windows(2).all(|w| w[1] - w[0] <= u64::MAX / 2));
        assert_eq!(dissection_points(5, 5, 32), None);
        assert_eq!(dissection_points(5, 9, 1), None);
    }

    #[test]
    fn the_first_disagreement_is_played() {
        let a: Vec<B256> = (0..5).map(|t| h("a", t)).collect();
        let mut b = a.clone();
        b[3] = h("b", 3);
        b[4] = h("b", 4);
        assert_eq!(first_disputed_section(&b, &a), Ok(2));
        assert_eq!(first_disputed_section(&a, &a), Err(MoveError::NothingDisputed));
        let mut c = a.clone();
        c[0] = h("c", 0);
        assert!(matches!(first_disputed_section(&c, &a), Err(MoveError::StartDisagrees { .. })));
        assert!(matches!(first_disputed_section(&a[..4], &a), Err(MoveError::Length { .. })));
    }

    /// Both players of a model of the contract's game: the honest one follows the true trace,
    /// the liar a trace that leaves it at `diverge` (and stays wrong, as a consistent liar
    /// does). However long the trace and wherever the lie, the game reaches the lying tick in at
    /// most ⌈log_k(ticks)⌉ + 1 moves per player and the honest claim there is the true one.
    #[test]
    fn an_honest_player_always_corners_the_first_wrong_tick() {
        let truth = |t: u64| h("truth", t);
        let liar = |d: u64| move |t: u64| if t < d { truth(t) } else { h("lie", t) };
        let mut seed = 0x5eed_u64;
        for case in 0..400 {
            seed = seed.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407);
            let ticks = match case % 4 {
                0 => 1 + seed % 64,
                1 => 1 + seed % 1_000_000,
                2 => 1 + seed % (1 << 40),
                _ => u64::MAX - seed % 1000,
            };
            let diverge = 1 + (seed >> 7) % ticks;
            let k = [2u64, 3, 8, 32][(seed >> 3) as usize % 4];
            let bound = (ticks as f64).log(k as f64).ceil() as u64 + 1;
            let lie = liar(diverge);
            // Challenger honest (mover 0) or lying, alternately.
            let honest_first = case % 2 == 0;
            let trace_of = |mover: usize| -> Box<dyn Fn(u64) -> B256> {
                if (mover == 0) == honest_first { Box::new(truth) } else { Box::new(lie) }
            };
            let (mut s, mut e) = (0u64, ticks);
            let mut moves = [1u64, 0]; // the challenger's start is its first dissection
            let mut dissection: Vec<B256> = dissection_points(s, e, k).unwrap().iter().map(|&t| trace_of(0)(t)).collect();
            let mut mover = 1;
            loop {
                let points = dissection_points(s, e, k).unwrap();
                let mine: Vec<B256> = points.iter().map(|&t| trace_of(mover)(t)).collect();
                moves[mover] += 1;
                match plan_move(&points, &dissection, &mine) {
                    Ok(Move::Prove { tick, claim, section }) => {
                        // Both players corner the first wrong tick; the verifier computes the true
                        // step there, which is the honest claim, whoever proves it.
                        assert_eq!(tick + 1, diverge, "case {case}");
                        let honest_mover = (mover == 0) == honest_first;
                        let honest_claim = if honest_mover { claim } else { dissection[section + 1] };
                        assert_eq!(honest_claim, truth(diverge), "case {case}");
                        break;
                    }
                    Ok(Move::Dissect { start, end, .. }) => {
                        assert!(end - start <= (e - s).div_ceil(2).max(1), "case {case}: a section over half the range");
                        s = start;
                        e = end;
                        dissection = dissection_points(s, e, k).unwrap().iter().map(|&t| trace_of(mover)(t)).collect();
                    }
                    Err(err) => panic!("case {case}: mover {mover} has no move: {err}"),
                }
                assert!(moves[mover] <= bound, "case {case}: {} moves for {ticks} ticks, k {k}", moves[mover]);
                mover = 1 - mover;
            }
        }
    }
}
