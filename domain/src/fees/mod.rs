//! Fee additions for using online qualification confirmation (診療報酬 / 調剤報酬 加算), FEES.md:
//! the rules of 2022-04 onward as one dated table, and the pure functions over it.
//!
//! - [`table`]: the table's schema (`fee-rules.toml`), its validation and the compiled-in default;
//! - [`frequency`]: "once a month" and "once in N months", in one place;
//! - [`month`]: calendar months.
//!
//! Nothing here reads the clock or a file: every function takes the date it answers for, and a
//! replacement table comes in as text.

pub mod frequency;
pub mod month;
pub mod table;

pub use frequency::OnceInMonths;
pub use month::YearMonth;
pub use table::{Certainty, Condition, Department, FeeItem, FeeRule, FeeRules, FeeRulesError, ReceiptCode, Tier};

/// One point is 10 yen.
pub const YEN_PER_POINT: u64 = 10;
