//! The tick cost table: how many ticks each instruction costs. Fast execution meters with it and
//! the reference machine will count its steps with it, so both agree on when a `kernel_run`
//! runs out of ticks (docs/pvm.md, "Ticks").

use wasmparser::Operator;

/// Bytes of memory one tick of a bulk memory instruction covers (one leaf of the reference
/// machine's memory tree).
pub const BYTES_PER_TICK: u64 = 32;

/// The most frames (calls active at once, `kernel_run`'s own included) a kernel may have: the
/// seeds' call stack limit.
pub const MAX_CALL_DEPTH: u32 = 300;

/// The cost of one instruction.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TickCost {
    /// A fixed number of ticks.
    Fixed(u64),
    /// `1 + ceil(n / 32)` where `n` is the byte count operand (top of the stack):
    /// `memory.copy`, `memory.fill`, `memory.init`.
    PerMemoryWord,
    /// `1 + n` where `n` is the element count operand (top of the stack): `table.copy`,
    /// `table.init`, `table.fill`, `table.grow`.
    PerTableElement,
}

impl TickCost {
    /// The ticks charged for operand `n`.
    pub fn ticks(self, n: u32) -> u64 {
        match self {
            TickCost::Fixed(c) => c,
            TickCost::PerMemoryWord => 1 + u64::from(n).div_ceil(BYTES_PER_TICK),
            TickCost::PerTableElement => 1 + u64::from(n),
        }
    }
}

/// The cost of `op`. `function_end` tells whether an `end` closes the function body (it then
/// returns, and costs like `return`).
///
/// Structure that the reference machine compiles away costs nothing (`nop`, `block`, `loop`,
/// and the `end` of a block, loop or if); every other instruction costs one tick, including a
/// call to a host function (the whole host call is one tick), except the bulk instructions,
/// whose cost grows with the bytes or elements they touch.
pub fn tick_cost(op: &Operator<'_>, function_end: bool) -> TickCost {
    match op {
        Operator::Nop | Operator::Block { .. } | Operator::Loop { .. } => TickCost::Fixed(0),
        Operator::End => TickCost::Fixed(u64::from(function_end)),
        Operator::MemoryCopy { .. } | Operator::MemoryFill { .. } | Operator::MemoryInit { .. } => TickCost::PerMemoryWord,
        Operator::TableCopy { .. } | Operator::TableInit { .. } | Operator::TableFill { .. } | Operator::TableGrow { .. } => {
            TickCost::PerTableElement
        }
        _ => TickCost::Fixed(1),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bulk_costs_round_up_per_word() {
        assert_eq!(TickCost::PerMemoryWord.ticks(0), 1);
        assert_eq!(TickCost::PerMemoryWord.ticks(1), 2);
        assert_eq!(TickCost::PerMemoryWord.ticks(32), 2);
        assert_eq!(TickCost::PerMemoryWord.ticks(33), 3);
        assert_eq!(TickCost::PerMemoryWord.ticks(u32::MAX), 1 + (1u64 << 27));
        assert_eq!(TickCost::PerTableElement.ticks(5), 6);
        assert_eq!(tick_cost(&Operator::End, false), TickCost::Fixed(0));
        assert_eq!(tick_cost(&Operator::End, true), TickCost::Fixed(1));
        assert_eq!(tick_cost(&Operator::I32Add, false), TickCost::Fixed(1));
    }
}
