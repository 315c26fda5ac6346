//! One visit's fee additions: which rows of the table the visit earns, with the reason in words,
//! and which it cannot claim, and why.
//!
//! The rows in force on the visit's date, for its receipt kind and fee items, are grouped by
//! (addition, fee item). In each group the met row with the most points is chosen (A's 7 or 3
//! points, D's tier, F's usage-rate tier); it is then checked against the patient's earlier claims
//! at this facility: the frequency limit ([`super::frequency`]) and the exclusions.

use std::fmt;

use thiserror::Error;

use crate::date::Date;

use super::frequency::same_month;
use super::month::YearMonth;
use super::table::{Certainty, Condition, Department, FeeItem, FeeRule, FeeRules, ReceiptCode, Tier};
use super::usage_rate::{MonthlyUsage, UsageError, UsageRate, Window, best_in_window, monthly_rates};

/// What the visit is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum VisitKind {
    /// 初診 (医科 or 歯科).
    FirstVisit,
    /// 再診 (医科 or 歯科).
    Revisit,
    /// 調剤 at a pharmacy.
    Dispensing,
}

impl VisitKind {
    pub fn name(self) -> &'static str {
        match self {
            VisitKind::FirstVisit => "初診",
            VisitKind::Revisit => "再診",
            VisitKind::Dispensing => "調剤",
        }
    }

    /// Whether a facility of this receipt kind has such visits.
    pub fn is_at(self, department: Department) -> bool {
        match self {
            VisitKind::FirstVisit | VisitKind::Revisit => department != Department::Pharmacy,
            VisitKind::Dispensing => department == Department::Pharmacy,
        }
    }
}

impl fmt::Display for VisitKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// A wall-clock time of day in JST, to the minute.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct HourMinute {
    hour: u8,
    minute: u8,
}

impl HourMinute {
    /// `hour:minute`, if a valid time of day.
    pub fn new(hour: u8, minute: u8) -> Option<HourMinute> {
        (hour < 24 && minute < 60).then_some(HourMinute { hour, minute })
    }
}

impl fmt::Display for HourMinute {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{:02}:{:02}", self.hour, self.minute)
    }
}

/// Why obtaining the information through the system was attempted but not possible.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum NotObtainable {
    /// Queried, but the system had no data for the patient (period D: the lower tier, 2/4).
    NoData,
    /// The patient consented to part of the information only (period D: the higher tier, 1/3).
    PartialNonConsent,
    /// The card could not be read (period D: the higher tier).
    BrokenCard,
    /// The card's certificate had expired (period D: the higher tier).
    ExpiredCertificate,
}

impl NotObtainable {
    fn describe(self) -> &'static str {
        match self {
            NotObtainable::NoData => "the system had no data",
            NotObtainable::PartialNonConsent => "partial non-consent",
            NotObtainable::BrokenCard => "a broken card",
            NotObtainable::ExpiredCertificate => "an expired certificate",
        }
    }

    /// Whether, with the card used, the visit still counts as "with the card" (period D).
    fn keeps_card_tier(self) -> bool {
        self == NotObtainable::NoData
    }
}

/// What the system recorded about the visit.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash)]
pub struct VisitFacts {
    /// The qualification was confirmed with マイナ保険証 (the card was presented at the reader).
    pub card_used: bool,
    /// When 薬剤情報 was obtained through the system, JST.
    pub medication_obtained_at: Option<HourMinute>,
    /// When 特定健診情報 was obtained through the system, JST.
    pub checkups_obtained_at: Option<HourMinute>,
    /// Obtaining was attempted but not possible, and why.
    pub not_obtainable: Option<NotObtainable>,
    /// The information was received from another facility (e.g. a referral letter).
    pub from_other_facility: bool,
}

impl VisitFacts {
    fn obtained(&self) -> Option<String> {
        match (self.medication_obtained_at, self.checkups_obtained_at) {
            (Some(m), Some(c)) => {
                Some(format!("薬剤情報 (at {m}) and 特定健診情報 (at {c}) obtained through the system"))
            }
            (Some(m), None) => Some(format!("薬剤情報 obtained through the system at {m}")),
            (None, Some(c)) => Some(format!("特定健診情報 obtained through the system at {c}")),
            (None, None) => None,
        }
    }

    /// Why nothing was obtained, in words.
    fn why_not(&self) -> String {
        let mut why = match (self.not_obtainable, self.card_used) {
            (Some(n), _) => n.describe().to_owned(),
            (None, false) => "no card was used".to_owned(),
            (None, true) => "nothing was obtained".to_owned(),
        };
        if self.from_other_facility {
            why.push_str("; the information came from another facility");
        }
        why
    }

    /// "With the card" as period D reads it.
    fn with_card(&self) -> bool {
        self.card_used && self.not_obtainable.is_none_or(NotObtainable::keeps_card_tier)
    }
}

/// A visit to judge.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Visit {
    pub date: Date,
    /// The facility's receipt kind.
    pub department: Department,
    pub kind: VisitKind,
    /// A 再診 charged as 外来診療料 (hospitals of 200 beds or more).
    pub outpatient_care: bool,
    pub facts: VisitFacts,
}

impl Visit {
    /// The fee items the visit charges, to which additions attach.
    pub fn items(&self) -> &'static [FeeItem] {
        match self.kind {
            VisitKind::FirstVisit => &[FeeItem::FirstVisit],
            VisitKind::Revisit if self.outpatient_care => &[FeeItem::OutpatientCare],
            VisitKind::Revisit => &[FeeItem::Revisit],
            VisitKind::Dispensing => &[FeeItem::DispensingManagement, FeeItem::DispensingBasic],
        }
    }
}

/// A facility's notification (届出) of an addition.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Notification {
    pub addition: String,
    /// The first day it takes effect.
    pub from: Date,
    /// The best tier the facility's setup meets, where the tier is notified rather than following
    /// from the usage rate (period G); `None`: every tier.
    pub tier: Option<Tier>,
}

/// What the facility-level conditions need: notifications, 電子処方箋, and monthly confirmation
/// counts for the マイナ保険証利用率.
#[derive(Debug, Clone, Default, PartialEq, Eq, Hash)]
pub struct FacilityFacts {
    pub notifications: Vec<Notification>,
    pub e_prescription: bool,
    pub usage: Vec<MonthlyUsage>,
}

/// A claim already made: the patient's, at this facility.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Claim {
    pub addition: String,
    pub item: FeeItem,
    pub tier: Tier,
    pub date: Date,
}

/// An addition the visit earns.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Earned {
    pub addition: String,
    pub item: FeeItem,
    pub tier: Tier,
    pub points: u32,
    pub receipt: Option<ReceiptCode>,
    pub certainty: Certainty,
    /// Why, in words: "薬剤情報 obtained through the system at 09:12".
    pub reason: String,
    /// The table row.
    pub row: usize,
}

impl Earned {
    /// The claim this makes on `date`, for later visits.
    pub fn claim(&self, date: Date) -> Claim {
        Claim { addition: self.addition.clone(), item: self.item, tier: self.tier, date }
    }
}

/// An addition in force for the visit that it cannot claim.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Refused {
    pub addition: String,
    pub item: FeeItem,
    /// The tier it would have been, when only a limit or an exclusion stopped it.
    pub tier: Option<Tier>,
    /// Why not, in words: "not claimable: claimed on 2024-07-03 (加算4), once in 3 months; …".
    pub reason: String,
}

/// One addition's answer for a visit.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Outcome {
    Earned(Earned),
    Refused(Refused),
}

impl Outcome {
    pub fn earned(&self) -> Option<&Earned> {
        match self {
            Outcome::Earned(e) => Some(e),
            Outcome::Refused(_) => None,
        }
    }
}

/// A visit that cannot be judged; `field` names the offending input.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum FeeError {
    #[error("{field}: {date} is outside every period of the fee rules")]
    OutsideRules { field: String, date: Date },
    #[error("{field}: a {department} facility has no {kind} visits")]
    KindNotAtFacility { field: String, kind: VisitKind, department: Department },
    #[error("{field}: {problem}")]
    Contradiction { field: String, problem: &'static str },
    #[error("{field}: {source}")]
    Usage { field: String, source: UsageError },
}

impl FeeError {
    /// The offending input, e.g. `date` or `visits[3].kind`.
    pub fn field(&self) -> &str {
        match self {
            FeeError::OutsideRules { field, .. }
            | FeeError::KindNotAtFacility { field, .. }
            | FeeError::Contradiction { field, .. }
            | FeeError::Usage { field, .. } => field,
        }
    }

    /// The same error with its field inside `prefix` (`visits[3]` + `date` → `visits[3].date`).
    pub fn within(self, prefix: &str) -> FeeError {
        let join = |f: String| format!("{prefix}.{f}");
        match self {
            FeeError::OutsideRules { field, date } => FeeError::OutsideRules { field: join(field), date },
            FeeError::KindNotAtFacility { field, kind, department } => {
                FeeError::KindNotAtFacility { field: join(field), kind, department }
            }
            FeeError::Contradiction { field, problem } => FeeError::Contradiction { field: join(field), problem },
            FeeError::Usage { field, source } => FeeError::Usage { field: join(field), source },
        }
    }
}

/// The facility's monthly rates, validated; the field is `facility.usage`.
pub(super) fn facility_rates(facility: &FacilityFacts) -> Result<Vec<(YearMonth, UsageRate)>, FeeError> {
    monthly_rates(&facility.usage).map_err(|source| FeeError::Usage { field: "facility.usage".into(), source })
}

/// Refuses a visit the rules cannot judge.
pub(super) fn check_visit(rules: &FeeRules, visit: &Visit) -> Result<(), FeeError> {
    if !rules.covers(visit.date) {
        return Err(FeeError::OutsideRules { field: "date".into(), date: visit.date });
    }
    if !visit.kind.is_at(visit.department) {
        return Err(FeeError::KindNotAtFacility {
            field: "kind".into(),
            kind: visit.kind,
            department: visit.department,
        });
    }
    if visit.outpatient_care && !(visit.kind == VisitKind::Revisit && visit.department == Department::Medical) {
        return Err(FeeError::Contradiction {
            field: "outpatient_care".into(),
            problem: "外来診療料 is charged only at a 医科 再診",
        });
    }
    if visit.facts.obtained().is_some() && !visit.facts.card_used {
        return Err(FeeError::Contradiction {
            field: "facts.card_used".into(),
            problem: "information obtained through the system needs the card",
        });
    }
    Ok(())
}

/// Everything a row's condition is judged on.
pub(super) struct Context<'a> {
    pub visit: &'a Visit,
    pub facility: &'a FacilityFacts,
    pub rates: &'a [(YearMonth, UsageRate)],
}

/// Whether `rule`'s condition holds: `Ok` with the reason, or `Err` with why not.
fn judge(rule: &FeeRule, ctx: &Context<'_>) -> Result<String, String> {
    let facts = &ctx.visit.facts;
    let obtained = facts.obtained();
    match rule.condition {
        Condition::Obtained => obtained
            .ok_or_else(|| format!("薬剤情報 / 特定健診情報 not obtained through the system ({})", facts.why_not())),
        Condition::NotObtained => match obtained {
            None => Ok(format!("obtaining through the system was not possible: {}", facts.why_not())),
            Some(o) => Err(format!("{o}: the fallback does not apply")),
        },
        Condition::ObtainedOrOtherFacility => match obtained {
            Some(o) => Ok(o),
            None if facts.from_other_facility => Ok("the information was received from another facility".into()),
            None => Err(format!(
                "neither obtained through the system nor received from another facility ({})",
                facts.why_not()
            )),
        },
        Condition::NotObtainedNorOtherFacility => match obtained {
            Some(o) => Err(o),
            None if facts.from_other_facility => Err("the information was received from another facility".into()),
            None => Ok(format!(
                "information neither obtained through the system nor received from another facility ({})",
                facts.why_not()
            )),
        },
        Condition::WithCard => {
            if facts.with_card() {
                Ok(match facts.not_obtainable {
                    Some(n) => format!("confirmed with the card; {}: the lower tier", n.describe()),
                    None => "confirmed with the card".into(),
                })
            } else {
                Err(without_card(facts))
            }
        }
        Condition::WithoutCard => {
            if facts.with_card() {
                Err("confirmed with the card".into())
            } else {
                Ok(without_card(facts))
            }
        }
        Condition::Regardless => Ok("claimable with or without the card".into()),
        Condition::Notified { usage_rate_at_least, e_prescription } => {
            judge_notified(rule, ctx, usage_rate_at_least, e_prescription)
        }
    }
}

fn without_card(facts: &VisitFacts) -> String {
    match (facts.card_used, facts.not_obtainable) {
        (true, Some(n)) => format!("card presented, but {}: the higher tier", n.describe()),
        (false, Some(n)) => format!("not confirmed with the card ({})", n.describe()),
        _ => "not confirmed with the card".into(),
    }
}

fn judge_notified(
    rule: &FeeRule,
    ctx: &Context<'_>,
    threshold: Option<u8>,
    e_prescription: bool,
) -> Result<String, String> {
    let date = ctx.visit.date;
    let of_addition = || ctx.facility.notifications.iter().filter(|n| n.addition == rule.addition);
    let Some(notice) = of_addition().filter(|n| n.from <= date).min_by_key(|n| n.from) else {
        return Err(match of_addition().map(|n| n.from).min() {
            Some(from) => format!("{} notified only from {from}", rule.addition),
            None => format!("{} not notified", rule.addition),
        });
    };
    if let (Some(Tier::Numbered(best)), Tier::Numbered(t)) = (notice.tier, rule.tier)
        && t < best
    {
        return Err(format!("notified as 加算{best}"));
    }
    if e_prescription && !ctx.facility.e_prescription {
        return Err(format!("{} needs 電子処方箋", rule.tier));
    }
    let notified = format!("notified from {}", notice.from);
    let Some(p) = threshold else { return Ok(notified) };
    let month = YearMonth::of(date);
    let window = Window::of(month).map(|w| w.to_string()).unwrap_or_default();
    match best_in_window(ctx.rates, month) {
        None => Err(format!("no マイナ保険証利用率 for {window}")),
        Some((m, rate)) if !rate.at_least(p) => {
            Err(format!("best マイナ保険証利用率 of {window} is {rate} ({m}), below {p} %"))
        }
        Some((m, rate)) => {
            Ok(format!("{notified}; best マイナ保険証利用率 of {window} is {rate} ({m}), at least {p} %"))
        }
    }
}

/// The rows of one addition on one fee item in force for a visit.
pub(super) struct Group<'r> {
    pub rows: Vec<&'r FeeRule>,
}

/// The groups in force on the visit's date for its receipt kind and fee items, in file order.
pub(super) fn groups<'r>(rules: &'r FeeRules, visit: &Visit) -> Vec<Group<'r>> {
    let mut groups: Vec<Group<'r>> = Vec::new();
    let items = visit.items();
    for r in rules.in_force(visit.date).filter(|r| r.is_for(visit.department) && items.contains(&r.item)) {
        match groups.iter_mut().find(|g| g.rows[0].addition == r.addition && g.rows[0].item == r.item) {
            Some(g) => g.rows.push(r),
            None => groups.push(Group { rows: vec![r] }),
        }
    }
    groups
}

/// The met row with the most points (the better tier on a tie) and its reason; or, when none is
/// met, why the row asking least (fewest points) is not.
pub(super) fn choose<'r>(group: &Group<'r>, ctx: &Context<'_>) -> Result<(&'r FeeRule, String), String> {
    let judged: Vec<_> = group.rows.iter().map(|r| (*r, judge(r, ctx))).collect();
    let better = |a: &FeeRule, b: &FeeRule| a.points.cmp(&b.points).then(b.tier.cmp(&a.tier));
    let best =
        judged.iter().filter_map(|(r, j)| j.as_ref().ok().map(|why| (*r, why))).max_by(|(a, _), (b, _)| better(a, b));
    match best {
        Some((r, why)) => Ok((r, why.clone())),
        None => {
            Err(judged.into_iter().min_by(|(a, _), (b, _)| better(a, b)).and_then(|(_, j)| j.err()).unwrap_or_default())
        }
    }
}

fn tier_suffix(tier: Tier) -> String {
    match tier {
        Tier::Single => String::new(),
        t => format!(" ({t})"),
    }
}

/// Whether the patient's earlier claims stop `rule` on `date`: the reason, or `None`.
fn stopped_by(rule: &FeeRule, date: Date, earlier: &[Claim]) -> Option<String> {
    let counted = earlier
        .iter()
        .filter(|c| c.addition == rule.addition && c.item.family() == rule.item.family() && rule.limit_counts(c.tier));
    if let Some(last) = counted.filter(|c| rule.frequency.blocks(c.date, date)).max_by_key(|c| c.date) {
        let next = rule.frequency.next_allowed(YearMonth::of(last.date)).map(|m| format!("; allowed again from {m}"));
        return Some(format!(
            "not claimable: claimed on {}{}, {}{}",
            last.date,
            tier_suffix(last.tier),
            rule.frequency,
            next.unwrap_or_default()
        ));
    }
    let excluded = earlier.iter().filter(|c| {
        c.addition == rule.addition && rule.exclusions.not_in_month_with.contains(&c.tier) && same_month(c.date, date)
    });
    excluded
        .max_by_key(|c| c.date)
        .map(|c| format!("not claimable: {} claimed on {}, not in the same month", c.tier, c.date))
}

/// Judges a group for a visit whose inputs were checked.
pub(super) fn outcome(group: &Group<'_>, ctx: &Context<'_>, earlier: &[Claim]) -> Outcome {
    let first = group.rows[0];
    let refused =
        |tier, reason| Outcome::Refused(Refused { addition: first.addition.clone(), item: first.item, tier, reason });
    match choose(group, ctx) {
        Err(why) => refused(None, format!("not claimable: {why}")),
        Ok((rule, why)) => match stopped_by(rule, ctx.visit.date, earlier) {
            Some(reason) => refused(Some(rule.tier), reason),
            None => Outcome::Earned(Earned {
                addition: rule.addition.clone(),
                item: rule.item,
                tier: rule.tier,
                points: rule.points,
                receipt: rule.receipt.clone(),
                certainty: rule.certainty,
                reason: why,
                row: rule.row,
            }),
        },
    }
}

/// The additions `visit` earns or cannot claim, given the facility's facts and the patient's
/// earlier claims at this facility. A date outside every period, a visit kind the facility cannot
/// have, or contradictory facts are errors naming the field.
pub fn additions_for_visit(
    rules: &FeeRules,
    facility: &FacilityFacts,
    visit: &Visit,
    earlier: &[Claim],
) -> Result<Vec<Outcome>, FeeError> {
    check_visit(rules, visit)?;
    let rates = facility_rates(facility)?;
    let ctx = Context { visit, facility, rates: &rates };
    Ok(groups(rules, visit).iter().map(|g| outcome(g, &ctx, earlier)).collect())
}

#[cfg(test)]
mod tests;
