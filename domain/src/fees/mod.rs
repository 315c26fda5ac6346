//! Fee additions for using online qualification confirmation (診療報酬 / 調剤報酬 加算), FEES.md:
//! the rules of 2022-04 onward as one dated table, and the pure functions over it.
//!
//! - [`table`]: the table's schema (`fee-rules.toml`), its validation and the compiled-in default;
//! - [`frequency`]: "once a month" and "once in N months", in one place;
//! - [`month`]: calendar months;
//! - [`visit`]: the additions one visit earns, or why not;
//! - [`statement`]: a list of visits in date order, with totals per month;
//! - [`usage_rate`]: マイナ保険証利用率 and the usage-rate tier of a claim month;
//! - [`estimate`](mod@estimate): the leaflet's estimate per day, month and year;
//! - [`subsidy`](mod@subsidy): the 2022 subsidy for introducing the system.
//!
//! Nothing here reads the clock or a file: every function takes the date it answers for, and a
//! replacement table comes in as text.

pub mod estimate;
pub mod frequency;
pub mod month;
pub mod statement;
pub mod subsidy;
pub mod table;
pub mod usage_rate;
pub mod visit;

pub use estimate::{Amount, Estimate, EstimateCase, EstimateError, EstimateInput, PatientCounts, Percentage, estimate};
pub use frequency::OnceInMonths;
pub use month::YearMonth;
pub use statement::{MonthTotal, PatientClaim, PatientVisit, Statement, VisitOutcome, process_visits};
pub use subsidy::{Bound, Schedule, Subsidy, SubsidyError, SubsidyFacility, SubsidyInput, subsidy};
pub use table::{Certainty, Condition, Department, FeeItem, FeeRule, FeeRules, FeeRulesError, ReceiptCode, Tier};
pub use usage_rate::{MonthlyUsage, TierChoice, UsageRate, monthly_rates, usage_tier};
pub use visit::{
    Claim, Earned, FacilityFacts, FeeError, HourMinute, NotObtainable, Notification, Outcome, Refused, Visit,
    VisitFacts, VisitKind, additions_for_visit,
};

/// One point is 10 yen.
pub const YEN_PER_POINT: u64 = 10;
