//! The fee-addition rules as one dated table: the schema of `fee-rules.toml` (at the repository
//! root, compiled in and parsed at first use), its validation, and the vocabulary its rows use.
//!
//! One row is one (period, addition, fee item, facility kinds, tier): its points, the patient or
//! facility condition under which it is earned, its frequency limit and exclusions, its receipt
//! code where known, and how sure FEES.md is of it. The server may replace the table with a file of
//! the same shape ([`FeeRules::from_toml`]), like `result-codes.toml`.

use std::fmt;
use std::sync::OnceLock;

use serde::Deserialize;
use thiserror::Error;

use crate::date::Date;
use crate::facility::FacilityKind;

use super::frequency::{MAX_MONTHS, OnceInMonths};

/// The receipt kind a rule is for: 医科, 歯科 or 調剤.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Deserialize)]
pub enum Department {
    /// 医科: clinics and hospitals.
    #[serde(rename = "医科")]
    Medical,
    /// 歯科.
    #[serde(rename = "歯科")]
    Dental,
    /// 調剤: pharmacies.
    #[serde(rename = "調剤")]
    Pharmacy,
}

impl Department {
    /// The receipt kind of a facility on the allow-list.
    pub fn of(kind: FacilityKind) -> Department {
        match kind {
            FacilityKind::Clinic | FacilityKind::Hospital => Department::Medical,
            FacilityKind::Dental => Department::Dental,
            FacilityKind::Pharmacy => Department::Pharmacy,
        }
    }

    /// The name the table uses.
    pub fn name(self) -> &'static str {
        match self {
            Department::Medical => "医科",
            Department::Dental => "歯科",
            Department::Pharmacy => "調剤",
        }
    }
}

impl fmt::Display for Department {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// The fee item an addition attaches to.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Deserialize)]
pub enum FeeItem {
    /// 初診料 (医科) and 歯科初診料.
    #[serde(rename = "初診")]
    FirstVisit,
    /// 再診料 (医科) and 歯科再診料.
    #[serde(rename = "再診")]
    Revisit,
    /// 外来診療料: what a hospital of 200 beds or more charges instead of 再診料.
    #[serde(rename = "外来診療料")]
    OutpatientCare,
    /// 調剤管理料.
    #[serde(rename = "調剤管理料")]
    DispensingManagement,
    /// 調剤基本料.
    #[serde(rename = "調剤基本料")]
    DispensingBasic,
}

/// Which kind of visit a fee item belongs to: frequency limits and exclusions count claims of one
/// family (a 再診料 claim and a 外来診療料 claim are both 再診-type).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ItemFamily {
    /// 初診-type.
    FirstVisit,
    /// 再診-type.
    Revisit,
    /// A pharmacy's dispensing.
    Dispensing,
}

impl FeeItem {
    /// The name the table uses.
    pub fn name(self) -> &'static str {
        match self {
            FeeItem::FirstVisit => "初診",
            FeeItem::Revisit => "再診",
            FeeItem::OutpatientCare => "外来診療料",
            FeeItem::DispensingManagement => "調剤管理料",
            FeeItem::DispensingBasic => "調剤基本料",
        }
    }

    pub fn family(self) -> ItemFamily {
        match self {
            FeeItem::FirstVisit => ItemFamily::FirstVisit,
            FeeItem::Revisit | FeeItem::OutpatientCare => ItemFamily::Revisit,
            FeeItem::DispensingManagement | FeeItem::DispensingBasic => ItemFamily::Dispensing,
        }
    }

    /// The receipt kinds that have this fee item.
    pub fn departments(self) -> &'static [Department] {
        match self {
            FeeItem::FirstVisit | FeeItem::Revisit => &[Department::Medical, Department::Dental],
            FeeItem::OutpatientCare => &[Department::Medical],
            FeeItem::DispensingManagement | FeeItem::DispensingBasic => &[Department::Pharmacy],
        }
    }
}

impl fmt::Display for FeeItem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// Which tier of an addition a row is. Spelled in the table as `"single"` (an addition with one
/// tier), `"fallback"` (period A's lower amount when obtaining the information was not possible) or
/// `"加算1"` … `"加算9"`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Deserialize)]
#[serde(try_from = "String")]
pub enum Tier {
    /// The addition has one tier.
    Single,
    /// Period A's amount when obtaining the information was not possible.
    Fallback,
    /// 加算N.
    Numbered(u8),
}

impl TryFrom<String> for Tier {
    type Error = String;

    fn try_from(s: String) -> Result<Tier, String> {
        Tier::parse(&s)
            .ok_or_else(|| format!("unknown tier {s:?}, expected \"single\", \"fallback\" or \"加算1\" … \"加算9\""))
    }
}

impl Tier {
    /// Parses the table's spelling.
    pub fn parse(s: &str) -> Option<Tier> {
        match s {
            "single" => Some(Tier::Single),
            "fallback" => Some(Tier::Fallback),
            _ => {
                let n = s.strip_prefix("加算")?;
                let digit = n.parse::<u8>().ok().filter(|d| (1..=9).contains(d) && n.len() == 1)?;
                Some(Tier::Numbered(digit))
            }
        }
    }
}

impl fmt::Display for Tier {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Tier::Single => f.write_str("single"),
            Tier::Fallback => f.write_str("fallback"),
            Tier::Numbered(n) => write!(f, "加算{n}"),
        }
    }
}

/// How sure FEES.md is of a rule or a receipt code.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Certainty {
    /// Several sources agree.
    Certain,
    /// One source.
    Likely,
    /// FEES.md itself marks it uncertain.
    Uncertain,
    /// FEES.md states the rule without saying how sure it is.
    Unstated,
}

impl Certainty {
    pub fn name(self) -> &'static str {
        match self {
            Certainty::Certain => "certain",
            Certainty::Likely => "likely",
            Certainty::Uncertain => "uncertain",
            Certainty::Unstated => "unstated",
        }
    }
}

impl fmt::Display for Certainty {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// A receipt (レセプト電算処理) code and how sure FEES.md is of it. A row without one has no known
/// code.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ReceiptCode {
    /// Nine digits.
    pub code: String,
    pub certainty: Certainty,
}

/// When a row is earned. The patient conditions are judged on the visit's facts
/// ([`super::visit::VisitFacts`]); `notified` on the facility's ([`super::visit::FacilityFacts`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Deserialize)]
#[serde(rename_all = "snake_case", deny_unknown_fields)]
pub enum Condition {
    /// 薬剤情報 or 特定健診情報 was obtained through the system at this visit.
    Obtained,
    /// Obtaining it was not possible (the fallback): no card, the system returned nothing, or the
    /// information came from another facility — anything but [`Condition::Obtained`].
    NotObtained,
    /// Obtained through the system (hence with the card) or received from another facility.
    ObtainedOrOtherFacility,
    /// Neither obtained through the system nor received from another facility.
    NotObtainedNorOtherFacility,
    /// Confirmed with the card; period D's tier rule applies: "queried but no data existed" still
    /// counts as with the card (the lower tier).
    WithCard,
    /// Not confirmed with the card, or with the card but with partial non-consent, a broken card or
    /// an expired certificate (period D: the higher tier).
    WithoutCard,
    /// The card makes no difference.
    Regardless,
    /// The facility notified the addition (届出), and, when given, its マイナ保険証利用率 (best of
    /// months N-5 … N-3) is at least `usage_rate_at_least` percent and it has 電子処方箋 when
    /// `e_prescription` is true. The patient's facts make no difference.
    Notified {
        #[serde(default)]
        usage_rate_at_least: Option<u8>,
        #[serde(default)]
        e_prescription: bool,
    },
}

/// What stops a row beyond its own frequency limit.
#[derive(Debug, Clone, Default, PartialEq, Eq, Hash, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Exclusions {
    /// Claims of these tiers of the same addition on the same item family count toward this row's
    /// frequency limit (its own tier always does): D's "only one of 加算3/4 in any 3-month span".
    #[serde(default)]
    pub limit_shared_with: Vec<Tier>,
    /// Not claimable in a calendar month in which the same addition was claimed in one of these
    /// tiers, on any fee item: C's 加算3 "not in a month where 加算1 or 2 was claimed", D's
    /// "初診-type and 再診-type not in the same month".
    #[serde(default)]
    pub not_in_month_with: Vec<Tier>,
}

/// One validated row of the table.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FeeRule {
    /// 1-based position in the file, for messages.
    pub row: usize,
    /// The addition's name, e.g. 電子的保健医療情報活用加算.
    pub addition: String,
    /// First day in force.
    pub from: Date,
    /// Last day in force (inclusive); `None` while no end is known.
    pub to: Option<Date>,
    pub item: FeeItem,
    pub kinds: Vec<Department>,
    pub tier: Tier,
    /// More than 0; one point is 10 yen.
    pub points: u32,
    pub condition: Condition,
    pub frequency: OnceInMonths,
    pub exclusions: Exclusions,
    pub receipt: Option<ReceiptCode>,
    pub certainty: Certainty,
    /// Where the rule sits in the fee schedule, e.g. "初診料 注14".
    pub source: Option<String>,
    /// How the row reads FEES.md where FEES.md leaves room.
    pub note: Option<String>,
}

impl FeeRule {
    /// Whether the row is in force on `on`.
    pub fn in_force(&self, on: Date) -> bool {
        self.from <= on && self.to.is_none_or(|to| on <= to)
    }

    /// Whether the row is for this receipt kind.
    pub fn is_for(&self, department: Department) -> bool {
        self.kinds.contains(&department)
    }

    /// Whether claims of `tier` count toward this row's frequency limit.
    pub fn limit_counts(&self, tier: Tier) -> bool {
        tier == self.tier || self.exclusions.limit_shared_with.contains(&tier)
    }

    fn overlaps(&self, other: &FeeRule) -> bool {
        let ends_after = |r: &FeeRule, day: Date| r.to.is_none_or(|to| day <= to);
        ends_after(self, other.from) && ends_after(other, self.from)
    }
}

/// Why a table was refused.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum FeeRulesError {
    /// Not TOML, an unknown field, or a value outside a known enum (the message names the line).
    #[error("fee rules: {0}")]
    Parse(String),
    #[error("fee rules: the table has no [[rule]]")]
    Empty,
    #[error("fee rules, rule {row} ({addition}): {problem}")]
    Rule { row: usize, addition: String, problem: RuleProblem },
    #[error(
        "fee rules, rules {first} and {second}: {addition} {item} {department} {tier} has two periods that overlap \
         (from {first_from} and from {second_from})"
    )]
    Overlap {
        first: usize,
        second: usize,
        addition: String,
        item: FeeItem,
        department: Department,
        tier: Tier,
        first_from: Date,
        second_from: Date,
    },
}

/// What is wrong with one row.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum RuleProblem {
    #[error("`addition` is empty")]
    NoAddition,
    #[error("`{field}` must be a date without a time, like 2024-06-01; got {value}")]
    NotADate { field: &'static str, value: String },
    #[error("`to` {to} is before `from` {from}")]
    EndsBeforeStart { from: Date, to: Date },
    #[error("`points` must be more than 0")]
    ZeroPoints,
    #[error("`kinds` is empty")]
    NoKinds,
    #[error("`kinds` lists {0} twice")]
    DuplicateKind(Department),
    #[error("{department} has no fee item {item}")]
    KindWithoutItem { item: FeeItem, department: Department },
    #[error("`once_in_months` must be 1 to {max}, got {0}", max = MAX_MONTHS)]
    Months(u8),
    #[error("`receipt.code` must be 9 digits, got {0:?}")]
    ReceiptCode(String),
    #[error("`usage_rate_at_least` must be 1 to 100 (percent), got {0}")]
    Threshold(u8),
    #[error("`exclusions.{list}` names {tier}, which no rule of this addition has{scope}")]
    UnknownTier { list: &'static str, tier: Tier, scope: &'static str },
    #[error("`exclusions.limit_shared_with` names the row's own tier {0}")]
    SharesWithItself(Tier),
}

/// The table compiled into the binary: `fee-rules.toml` at the repository root.
pub const BUILTIN_TOML: &str = include_str!("../../../fee-rules.toml");

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawTable {
    #[serde(default)]
    rule: Vec<RawRule>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawRule {
    addition: String,
    from: toml::value::Datetime,
    #[serde(default)]
    to: Option<toml::value::Datetime>,
    item: FeeItem,
    kinds: Vec<Department>,
    #[serde(default = "single_tier")]
    tier: Tier,
    points: u32,
    condition: Condition,
    once_in_months: u8,
    #[serde(default)]
    exclusions: Exclusions,
    #[serde(default)]
    receipt: Option<ReceiptCode>,
    certainty: Certainty,
    #[serde(default)]
    source: Option<String>,
    #[serde(default)]
    note: Option<String>,
}

fn single_tier() -> Tier {
    Tier::Single
}

/// A TOML local date (no time, no offset) as a [`Date`].
fn toml_date(field: &'static str, value: &toml::value::Datetime) -> Result<Date, RuleProblem> {
    let bad = || RuleProblem::NotADate { field, value: value.to_string() };
    match (value.date, value.time, value.offset) {
        (Some(d), None, None) => Date::new(d.year, d.month, d.day).ok_or_else(bad),
        _ => Err(bad()),
    }
}

impl RawRule {
    fn validate(self, row: usize) -> Result<FeeRule, FeeRulesError> {
        let addition = self.addition.clone();
        self.check(row).map_err(|problem| FeeRulesError::Rule { row, addition, problem })
    }

    fn check(self, row: usize) -> Result<FeeRule, RuleProblem> {
        if self.addition.trim().is_empty() {
            return Err(RuleProblem::NoAddition);
        }
        let from = toml_date("from", &self.from)?;
        let to = self.to.as_ref().map(|t| toml_date("to", t)).transpose()?;
        if let Some(to) = to.filter(|to| *to < from) {
            return Err(RuleProblem::EndsBeforeStart { from, to });
        }
        if self.points == 0 {
            return Err(RuleProblem::ZeroPoints);
        }
        if self.kinds.is_empty() {
            return Err(RuleProblem::NoKinds);
        }
        for (i, kind) in self.kinds.iter().enumerate() {
            if self.kinds[..i].contains(kind) {
                return Err(RuleProblem::DuplicateKind(*kind));
            }
            if !self.item.departments().contains(kind) {
                return Err(RuleProblem::KindWithoutItem { item: self.item, department: *kind });
            }
        }
        let frequency = OnceInMonths::new(self.once_in_months).ok_or(RuleProblem::Months(self.once_in_months))?;
        if let Some(r) = &self.receipt
            && !(r.code.len() == 9 && r.code.bytes().all(|b| b.is_ascii_digit()))
        {
            return Err(RuleProblem::ReceiptCode(r.code.clone()));
        }
        if let Condition::Notified { usage_rate_at_least: Some(p), .. } = self.condition
            && !(1..=100).contains(&p)
        {
            return Err(RuleProblem::Threshold(p));
        }
        if self.exclusions.limit_shared_with.contains(&self.tier) {
            return Err(RuleProblem::SharesWithItself(self.tier));
        }
        Ok(FeeRule {
            row,
            addition: self.addition,
            from,
            to,
            item: self.item,
            kinds: self.kinds,
            tier: self.tier,
            points: self.points,
            condition: self.condition,
            frequency,
            exclusions: self.exclusions,
            receipt: self.receipt,
            certainty: self.certainty,
            source: self.source,
            note: self.note,
        })
    }
}

/// The whole validated table.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FeeRules {
    rules: Vec<FeeRule>,
}

static BUILTIN: OnceLock<Result<FeeRules, FeeRulesError>> = OnceLock::new();

impl FeeRules {
    /// Parses and validates a table in the shape of `fee-rules.toml`.
    pub fn from_toml(text: &str) -> Result<FeeRules, FeeRulesError> {
        let raw: RawTable = toml::from_str(text).map_err(|e| FeeRulesError::Parse(e.to_string()))?;
        if raw.rule.is_empty() {
            return Err(FeeRulesError::Empty);
        }
        let rules = raw.rule.into_iter().enumerate().map(|(i, r)| r.validate(i + 1)).collect::<Result<Vec<_>, _>>()?;
        check_tier_references(&rules)?;
        check_overlaps(&rules)?;
        Ok(FeeRules { rules })
    }

    /// The compiled-in table ([`BUILTIN_TOML`]), parsed at first use.
    pub fn builtin() -> Result<&'static FeeRules, FeeRulesError> {
        BUILTIN.get_or_init(|| FeeRules::from_toml(BUILTIN_TOML)).as_ref().map_err(Clone::clone)
    }

    /// Every row, in file order.
    pub fn rules(&self) -> &[FeeRule] {
        &self.rules
    }

    /// The rows in force on `on`, in file order.
    pub fn in_force(&self, on: Date) -> impl Iterator<Item = &FeeRule> {
        self.rules.iter().filter(move |r| r.in_force(on))
    }

    /// Whether some row is in force on `on` (a date outside every period is an error for callers).
    pub fn covers(&self, on: Date) -> bool {
        self.rules.iter().any(|r| r.in_force(on))
    }

    /// The first day any row is in force.
    pub fn first_day(&self) -> Option<Date> {
        self.rules.iter().map(|r| r.from).min()
    }
}

/// Every tier an exclusion names must exist for the addition: a misspelt tier would otherwise
/// silently exclude nothing.
fn check_tier_references(rules: &[FeeRule]) -> Result<(), FeeRulesError> {
    for r in rules {
        let err = |list, tier, scope| FeeRulesError::Rule {
            row: r.row,
            addition: r.addition.clone(),
            problem: RuleProblem::UnknownTier { list, tier, scope },
        };
        let same_addition = || rules.iter().filter(|o| o.addition == r.addition);
        for t in &r.exclusions.limit_shared_with {
            if !same_addition().any(|o| o.tier == *t && o.item.family() == r.item.family()) {
                return Err(err("limit_shared_with", *t, " on the same item family"));
            }
        }
        for t in &r.exclusions.not_in_month_with {
            if !same_addition().any(|o| o.tier == *t) {
                return Err(err("not_in_month_with", *t, ""));
            }
        }
    }
    Ok(())
}

/// The periods of one (addition, item, receipt kind, tier) must not overlap.
fn check_overlaps(rules: &[FeeRule]) -> Result<(), FeeRulesError> {
    for (i, a) in rules.iter().enumerate() {
        for b in &rules[i + 1..] {
            if a.addition != b.addition || a.item != b.item || a.tier != b.tier || !a.overlaps(b) {
                continue;
            }
            if let Some(department) = a.kinds.iter().find(|k| b.kinds.contains(k)) {
                return Err(FeeRulesError::Overlap {
                    first: a.row,
                    second: b.row,
                    addition: a.addition.clone(),
                    item: a.item,
                    department: *department,
                    tier: a.tier,
                    first_from: a.from,
                    second_from: b.from,
                });
            }
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn d(y: u16, m: u8, day: u8) -> Date {
        Date::new(y, m, day).expect("valid date")
    }

    const ROW: &str = r#"
[[rule]]
addition = "電子的保健医療情報活用加算"
from = 2022-04-01
to = 2022-09-30
item = "初診"
kinds = ["医科"]
points = 7
condition = "obtained"
once_in_months = 1
certainty = "certain"
"#;

    fn refused(text: &str) -> FeeRulesError {
        FeeRules::from_toml(text).expect_err("the table is refused")
    }

    fn problem(text: &str) -> RuleProblem {
        match refused(text) {
            FeeRulesError::Rule { row, problem, .. } => {
                assert_eq!(row, 1);
                problem
            }
            other => panic!("expected a rule problem, got {other}"),
        }
    }

    #[test]
    fn the_builtin_table_is_valid_and_covers_2022_04_onward() {
        let rules = FeeRules::builtin().expect("valid");
        assert_eq!(rules.first_day(), Some(d(2022, 4, 1)));
        assert!(!rules.covers(d(2022, 3, 31)));
        // Every day from 2022-04-01 into period G has rows: no gaps between periods.
        let mut day = d(2022, 4, 1);
        while day <= d(2026, 7, 1) {
            assert!(rules.covers(day), "{day} is not covered");
            day = day.add_days(1).expect("in range");
        }
        assert_eq!(FeeRules::from_toml(BUILTIN_TOML).as_ref(), Ok(rules));
    }

    #[test]
    fn the_table_keeps_fees_md_certainty() {
        let rules = FeeRules::builtin().expect("valid");
        let certainty_of = |addition: &str, on: Date, item: FeeItem, kind: Department| {
            let mut c: Vec<_> = rules
                .in_force(on)
                .filter(|r| r.addition == addition && r.item == item && r.is_for(kind))
                .map(|r| r.certainty)
                .collect();
            c.dedup();
            c
        };
        let b = "医療情報・システム基盤整備体制充実加算";
        assert_eq!(certainty_of(b, d(2023, 5, 1), FeeItem::FirstVisit, Department::Medical), [Certainty::Certain]);
        assert_eq!(
            certainty_of(b, d(2023, 5, 1), FeeItem::DispensingManagement, Department::Pharmacy),
            [Certainty::Likely]
        );
        let dx = "医療DX推進体制整備加算";
        assert_eq!(certainty_of(dx, d(2025, 4, 1), FeeItem::FirstVisit, Department::Dental), [Certainty::Uncertain]);
        assert_eq!(certainty_of(dx, d(2025, 3, 31), FeeItem::FirstVisit, Department::Dental), [Certainty::Unstated]);
        assert_eq!(certainty_of(dx, d(2025, 4, 1), FeeItem::FirstVisit, Department::Medical), [Certainty::Unstated]);
        assert!(rules.in_force(d(2026, 6, 1)).all(|r| r.certainty == Certainty::Likely), "period G is likely");
        // Every receipt code FEES.md gives is marked likely.
        let codes: Vec<_> = rules.rules().iter().filter_map(|r| r.receipt.as_ref()).collect();
        assert_eq!(codes.len(), 8);
        assert!(codes.iter().all(|c| c.certainty == Certainty::Likely));
        assert!(codes.iter().any(|c| c.code == "112708970"));
    }

    #[test]
    fn a_single_row_parses_with_defaults() {
        let rules = FeeRules::from_toml(ROW).expect("valid");
        let r = &rules.rules()[0];
        assert_eq!(
            (r.tier, r.points, r.frequency, r.to),
            (Tier::Single, 7, OnceInMonths::MONTHLY, Some(d(2022, 9, 30)))
        );
        assert_eq!(r.exclusions, Exclusions::default());
        assert!(r.in_force(d(2022, 9, 30)) && !r.in_force(d(2022, 10, 1)) && !r.in_force(d(2022, 3, 31)));
    }

    #[test]
    fn unknown_values_and_fields_are_refused_with_the_line() {
        let e = refused(&ROW.replace("\"obtained\"", "\"maybe\""));
        assert!(matches!(&e, FeeRulesError::Parse(m) if m.contains("maybe") && m.contains("line")), "{e}");
        let e = refused(&ROW.replace("\"医科\"", "\"眼科\""));
        assert!(matches!(&e, FeeRulesError::Parse(m) if m.contains("眼科")), "{e}");
        let e = refused(&ROW.replace("points = 7", "points = 7\npoint = 7"));
        assert!(matches!(&e, FeeRulesError::Parse(m) if m.contains("point")), "{e}");
        let e = refused(&ROW.replace("once_in_months = 1", "once_in_months = 1\ntier = \"加算0\""));
        assert!(matches!(&e, FeeRulesError::Parse(m) if m.contains("加算0")), "{e}");
        assert_eq!(refused(""), FeeRulesError::Empty);
    }

    #[test]
    fn row_problems_are_named() {
        assert_eq!(problem(&ROW.replace("points = 7", "points = 0")), RuleProblem::ZeroPoints);
        assert_eq!(
            problem(&ROW.replace("to = 2022-09-30", "to = 2022-03-31")),
            RuleProblem::EndsBeforeStart { from: d(2022, 4, 1), to: d(2022, 3, 31) }
        );
        assert!(matches!(
            problem(&ROW.replace("to = 2022-09-30", "to = 2022-09-30T10:00:00")),
            RuleProblem::NotADate { field: "to", .. }
        ));
        assert_eq!(
            problem(&ROW.replace("[\"医科\"]", "[\"調剤\"]")),
            RuleProblem::KindWithoutItem { item: FeeItem::FirstVisit, department: Department::Pharmacy }
        );
        assert_eq!(
            problem(&ROW.replace("[\"医科\"]", "[\"医科\", \"医科\"]")),
            RuleProblem::DuplicateKind(Department::Medical)
        );
        assert_eq!(problem(&ROW.replace("[\"医科\"]", "[]")), RuleProblem::NoKinds);
        assert_eq!(problem(&ROW.replace("once_in_months = 1", "once_in_months = 13")), RuleProblem::Months(13));
        let code = ROW.replace(
            "once_in_months = 1",
            "once_in_months = 1\nreceipt = { code = \"11101517\", certainty = \"likely\" }",
        );
        assert_eq!(problem(&code), RuleProblem::ReceiptCode("11101517".into()));
        let threshold = ROW.replace("\"obtained\"", "{ notified = { usage_rate_at_least = 101 } }");
        assert_eq!(problem(&threshold), RuleProblem::Threshold(101));
        let shared =
            ROW.replace("once_in_months = 1", "once_in_months = 1\nexclusions = { limit_shared_with = [\"加算2\"] }");
        assert!(matches!(
            problem(&shared),
            RuleProblem::UnknownTier { list: "limit_shared_with", tier: Tier::Numbered(2), .. }
        ));
        let itself =
            ROW.replace("once_in_months = 1", "once_in_months = 1\nexclusions = { limit_shared_with = [\"single\"] }");
        assert_eq!(problem(&itself), RuleProblem::SharesWithItself(Tier::Single));
        assert_eq!(problem(&ROW.replace("電子的保健医療情報活用加算", " ")), RuleProblem::NoAddition);
    }

    #[test]
    fn overlapping_periods_of_one_addition_are_refused() {
        let second =
            ROW.replace("from = 2022-04-01", "from = 2022-09-30").replace("to = 2022-09-30", "to = 2022-12-31");
        let e = refused(&format!("{ROW}\n{second}"));
        assert!(
            matches!(&e, FeeRulesError::Overlap { first: 1, second: 2, department: Department::Medical, .. }),
            "{e}"
        );
        // Adjacent periods, another tier, or another kind do not overlap.
        let adjacent = second.replace("from = 2022-09-30", "from = 2022-10-01");
        assert!(FeeRules::from_toml(&format!("{ROW}\n{adjacent}")).is_ok());
        let dental = second.replace("[\"医科\"]", "[\"歯科\"]");
        assert!(FeeRules::from_toml(&format!("{ROW}\n{dental}")).is_ok());
        let open_ended = ROW.replace("to = 2022-09-30\n", "");
        assert!(matches!(refused(&format!("{open_ended}\n{second}")), FeeRulesError::Overlap { .. }));
    }

    #[test]
    fn tiers_parse_from_the_tables_spelling() {
        assert_eq!(Tier::parse("加算4"), Some(Tier::Numbered(4)));
        assert_eq!(Tier::parse("fallback"), Some(Tier::Fallback));
        assert_eq!(Tier::parse("加算10"), None);
        assert_eq!(Tier::parse("加算"), None);
        for t in [Tier::Single, Tier::Fallback, Tier::Numbered(3)] {
            assert_eq!(Tier::parse(&t.to_string()), Some(t));
        }
        assert_eq!(Department::of(FacilityKind::Hospital), Department::Medical);
        assert_eq!(Department::of(FacilityKind::Pharmacy), Department::Pharmacy);
    }
}
