//! The refutation game as a player sees it (docs/contracts.md section 10, docs/rollup-node.md):
//! where a game tick falls in the disputed levels ([`trace`]), and which move an honest player
//! makes from the game's L1 state and its own trace ([`strategy`]). Pure logic: the node feeds
//! it the L1 view and the state hashes its PVM computes, so every rule is unit-tested and a node
//! that restarts picks its move from the L1 state alone.

pub mod strategy;
pub mod trace;

pub use strategy::{dissection_points, first_disputed_section, plan_move, Move, MoveError};
pub use trace::{level_header, TickMap, TickMapError, TickPlace};
