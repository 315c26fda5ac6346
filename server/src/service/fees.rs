//! FeeService: the fee additions (診療報酬 / 調剤報酬 加算) a facility's visits earn from the facts
//! the server recorded as it answered — the qualification confirmations (`confirmations` column
//! family, written by the confirming call in its own batch) and the disclosures of 薬剤情報 and
//! 特定健診情報 (the access log) — plus its マイナ保険証利用率, the leaflet's estimate and the 2022
//! subsidy. The rules and their arithmetic are `onshi_domain::fees`; this module only gathers the
//! caller's own facts (the facility its certificate names) and speaks protobuf.
//!
//! A visit's facts: "confirmed with the card" when the facility confirmed the patient by card that
//! day (JST) or obtained information through the system that day (which needs a consent given at
//! the card reader within 24 hours); the information obtained, and when, from the facility's
//! earliest disclosure of each kind to the patient that day.

use std::collections::{BTreeMap, HashMap};

use onshi_domain::date::{Date, JstDateTime};
use onshi_domain::facility::FacilityKind;
use onshi_domain::fees::usage_rate::{Window, best_in_window};
use onshi_domain::fees::{
    Bound, Condition, Department, EstimateError, EstimateInput, FacilityFacts, FeeError, FeeRules, HourMinute,
    MonthlyUsage, Notification, Outcome, PatientCounts, PatientVisit, Percentage, Schedule, SubsidyError,
    SubsidyFacility, SubsidyInput, Tier, Visit, VisitFacts, VisitKind, YearMonth, monthly_rates, process_visits,
    usage_tier,
};
use onshi_domain::ids::CertificateSerial;
use onshi_domain::qualification::PersonId;
use onshi_proto::served::fee_service_server::FeeService;
use onshi_proto::served::{self as pb, estimate_additions_request::Counts, fee_patient};
use onshi_store::ConfirmedBy;
use tonic::{Request, Response, Status};

use super::App;
use super::qualification::{SearchFields, parse_search};
use crate::auth::Caller;
use crate::errors::{ServiceError, Violations};
use crate::ops::confirm::PersonMatch;

/// The most visits one ComputeAdditions call judges.
pub const MAX_VISITS: usize = 100_000;
/// The longest span, in calendar months, of one ComputeAdditions or UsageRate call.
pub const MAX_SPAN_MONTHS: u32 = 13;
/// The 医療DX推進体制整備加算 (and period G's additions) judge month N on months N-5 … N-3.
const WINDOW_BACK_MONTHS: i64 = 5;

/// Access-log kinds that count as information obtained through the system.
const MEDICATION: &str = "pharmacists_info";
const CHECKUPS: &str = "specific_health_checkups_info";

fn tier_name(tier: Tier) -> String {
    match tier {
        Tier::Single => String::new(),
        t => t.to_string(),
    }
}

fn hour_minute(unix_seconds: i64) -> Option<HourMinute> {
    let b = JstDateTime::from_unix_seconds(unix_seconds)?.compact_bytes();
    let two = |i: usize| (b[i] - b'0') * 10 + (b[i + 1] - b'0');
    HourMinute::new(two(8), two(10))
}

fn hh_mm(unix_seconds: Option<i64>) -> String {
    unix_seconds.and_then(hour_minute).map(|t| t.to_string()).unwrap_or_default()
}

fn month_text(m: YearMonth) -> String {
    format!("{:04}{:02}", m.year(), m.month())
}

/// `YYYYMM`.
fn parse_month(s: &str) -> Result<YearMonth, String> {
    let b = s.as_bytes();
    if b.len() != 6 || !b.iter().all(u8::is_ascii_digit) {
        return Err(format!("expected 6 digits YYYYMM, got {:?}", onshi_domain::echo::echo(s)));
    }
    let (y, m) = (s[..4].parse::<u16>().unwrap_or(0), s[4..].parse::<u8>().unwrap_or(0));
    YearMonth::new(y, m).ok_or_else(|| format!("{s:?} is not a month"))
}

/// A date field: `YYYYMMDD`, or `default` when empty.
fn date_or(v: &mut Violations, field: &str, s: &str, default: Option<Date>) -> Option<Date> {
    if s.is_empty() {
        return default;
    }
    v.check(field, Date::parse_yyyymmdd(s))
}

fn department_name(d: Department) -> String {
    d.name().to_owned()
}

/// The description of a domain error without its leading `field: `.
fn described(field: &str, message: String) -> String {
    message.strip_prefix(&format!("{field}: ")).map(str::to_owned).unwrap_or(message)
}

fn fee_error(e: FeeError) -> ServiceError {
    let field = e.field().to_owned();
    let description = described(&field, e.to_string());
    ServiceError::BadRequest(vec![(field, description)])
}

fn estimate_error(e: EstimateError) -> ServiceError {
    let field = match &e {
        EstimateError::OutsideRules { field, .. }
        | EstimateError::CountsNotForKind { field, .. }
        | EstimateError::TooManyCounted { field, .. }
        | EstimateError::Days { field, .. } => *field,
    };
    let description = described(field, e.to_string());
    let field = field.replace("counts.", "per_day.");
    ServiceError::BadRequest(vec![(field, description)])
}

fn subsidy_error(e: SubsidyError) -> ServiceError {
    let field = match &e {
        SubsidyError::CardReaders { .. } => "card_readers",
        SubsidyError::TooLate { field, .. } => field,
    };
    let description = described(
        match &e {
            SubsidyError::CardReaders { field, .. } | SubsidyError::TooLate { field, .. } => field,
        },
        e.to_string(),
    );
    ServiceError::BadRequest(vec![(field.to_owned(), description)])
}

/// What the server recorded about one patient at the caller on one day.
#[derive(Debug, Clone, Copy, Default)]
struct DayFacts {
    card_at: Option<i64>,
    insured_at: Option<i64>,
    medication_at: Option<i64>,
    checkups_at: Option<i64>,
}

impl DayFacts {
    fn visit_facts(&self) -> VisitFacts {
        let obtained = self.medication_at.is_some() || self.checkups_at.is_some();
        VisitFacts {
            card_used: self.card_at.is_some() || obtained,
            medication_obtained_at: self.medication_at.and_then(hour_minute),
            checkups_obtained_at: self.checkups_at.and_then(hour_minute),
            not_obtainable: None,
            from_other_facility: false,
        }
    }
}

/// A visit whose patient was resolved.
struct ResolvedVisit {
    person: PersonId,
    date: Date,
    kind: VisitKind,
    outpatient_care: bool,
}

impl App {
    /// The caller's receipt kind (its allow-list entry's kind).
    fn department(&self, caller: &Caller) -> Department {
        Department::of(self.facility_kind(caller))
    }

    fn facility_kind(&self, caller: &Caller) -> FacilityKind {
        self.allow_list.with(&caller.code, |f| f.map_or(FacilityKind::Clinic, |f| f.kind))
    }

    /// The caller's facts about `person` on `date`.
    fn day_facts(&self, caller: &Caller, person: PersonId, date: Date) -> Result<DayFacts, ServiceError> {
        let store = self.store.get();
        let (card_at, insured_at) = store.confirmations_of(&caller.code, date, person)?;
        let from = JstDateTime::start_of(date).unix_seconds();
        let mut facts = DayFacts { card_at, insured_at, ..DayFacts::default() };
        for r in store.access_records_between(person, from, from + 86_400)? {
            if r.facility_code != caller.code.as_str() {
                continue;
            }
            let slot = match r.kind.as_str() {
                MEDICATION => &mut facts.medication_at,
                CHECKUPS => &mut facts.checkups_at,
                _ => continue,
            };
            // Newest first: the last one seen is the day's earliest.
            *slot = Some(r.at);
        }
        Ok(facts)
    }

    /// The caller's confirmations from `from` to `to`, per month: patients confirmed, and those
    /// confirmed with the card at least once in the month (a claim-count reading: one patient is
    /// one receipt a month).
    fn monthly_usage(&self, caller: &Caller, from: Date, to: Date) -> Result<Vec<MonthlyUsage>, ServiceError> {
        let mut months: BTreeMap<YearMonth, HashMap<PersonId, bool>> = BTreeMap::new();
        self.store.get().confirmations_between(&caller.code, from, to, |day, person, by| {
            let card = months.entry(YearMonth::of(day)).or_default().entry(person).or_insert(false);
            *card |= by == ConfirmedBy::Card;
        })?;
        Ok(months
            .into_iter()
            .map(|(month, people)| MonthlyUsage {
                month,
                card_confirmations: people.values().filter(|c| **c).count() as u64,
                all_confirmations: people.len() as u64,
            })
            .collect())
    }

    /// The person a visit's patient names, or why not (recorded against `path`).
    fn resolve_patient(
        &self,
        caller: &Caller,
        patient: Option<&pb::FeePatient>,
        path: &str,
        v: &mut Violations,
    ) -> Result<Option<PersonId>, ServiceError> {
        match patient.and_then(|p| p.patient.as_ref()) {
            None => {
                v.add(path, "set certificate_serial_number or insured");
                Ok(None)
            }
            Some(fee_patient::Patient::CertificateSerialNumber(s)) => {
                let field = format!("{path}.certificate_serial_number");
                let Some(serial) = v.check(&field, CertificateSerial::parse(s)) else { return Ok(None) };
                let owner = self.store.get().card_owner(&serial)?;
                if owner.is_none() {
                    v.add(&field, "no card has this serial");
                }
                Ok(owner)
            }
            Some(fee_patient::Patient::Insured(s)) => {
                let path = format!("{path}.insured");
                let fields = SearchFields {
                    insurer_number: &s.insurer_number,
                    insured_card_symbol: &s.insured_card_symbol,
                    insured_identification_number: &s.insured_identification_number,
                    insured_branch_number: &s.insured_branch_number,
                    birthdate: &s.birthdate,
                };
                let Some((query, _)) = parse_search(caller.check_digits, fields, &path, v) else { return Ok(None) };
                Ok(match crate::ops::confirm::resolve_person(&self.store.get(), &query)? {
                    PersonMatch::One(person, _) => Some(person),
                    PersonMatch::None => {
                        v.add(&path, "no one has these numbers and birthdate");
                        None
                    }
                    PersonMatch::Several => {
                        v.add(&path, "several people have these numbers; give insured_branch_number");
                        None
                    }
                })
            }
        }
    }

    /// The request's notifications; one without a date takes effect from `default_from`.
    fn notifications(
        &self,
        req: &pb::ComputeAdditionsRequest,
        default_from: Date,
        v: &mut Violations,
    ) -> Vec<Notification> {
        let rules: &FeeRules = &self.fee_rules;
        let mut out = Vec::with_capacity(req.notifications.len());
        for (i, n) in req.notifications.iter().enumerate() {
            let path = format!("notifications[{i}]");
            let notified = rules
                .rules()
                .iter()
                .any(|r| r.addition == n.addition && matches!(r.condition, Condition::Notified { .. }));
            if !notified {
                v.add(
                    &format!("{path}.addition"),
                    format!(
                        "{:?} is not an addition of the fee rules that needs a notification",
                        onshi_domain::echo::echo(&n.addition)
                    ),
                );
            }
            let from = date_or(v, &format!("{path}.from_date"), &n.from_date, Some(default_from));
            let tier = if n.tier.is_empty() {
                Some(None)
            } else {
                match Tier::parse(&n.tier) {
                    Some(t) => Some(Some(t)),
                    None => {
                        v.add(&format!("{path}.tier"), "expected \"加算1\" … \"加算9\" or empty");
                        None
                    }
                }
            };
            if let (true, Some(from), Some(tier)) = (notified, from, tier) {
                out.push(Notification { addition: n.addition.clone(), from, tier });
            }
        }
        out
    }

    pub(crate) fn compute_additions(
        &self,
        caller: &Caller,
        req: &pb::ComputeAdditionsRequest,
    ) -> Result<pb::ComputeAdditionsResponse, ServiceError> {
        if req.visits.len() > MAX_VISITS {
            return Err(ServiceError::BadRequest(vec![(
                "visits".into(),
                format!("at most {MAX_VISITS} visits, got {}", req.visits.len()),
            )]));
        }
        let today = self.clock.now().date();
        let rules: &FeeRules = &self.fee_rules;
        let department = self.department(caller);
        let mut v = Violations::default();

        // Each patient is resolved once, however many visits name it.
        let mut people: HashMap<Vec<u8>, Option<PersonId>> = HashMap::new();
        let mut resolved: Vec<Option<ResolvedVisit>> = Vec::with_capacity(req.visits.len());
        for (i, visit) in req.visits.iter().enumerate() {
            let path = format!("visits[{i}]");
            let date = date_or(&mut v, &format!("{path}.date"), &visit.date, Some(today));
            if let Some(d) = date
                && !rules.covers(d)
            {
                v.add(&format!("{path}.date"), format!("{d} is outside every period of the fee rules"));
            }
            let kind = match pb::VisitKind::try_from(visit.kind) {
                Ok(pb::VisitKind::FirstVisit) => Some(VisitKind::FirstVisit),
                Ok(pb::VisitKind::Revisit) => Some(VisitKind::Revisit),
                Ok(pb::VisitKind::Dispensing) => Some(VisitKind::Dispensing),
                Ok(pb::VisitKind::Unspecified) | Err(_) => {
                    v.add(&format!("{path}.kind"), "set VISIT_KIND_FIRST_VISIT, _REVISIT or _DISPENSING");
                    None
                }
            };
            if let Some(k) = kind
                && !k.is_at(department)
            {
                v.add(&format!("{path}.kind"), format!("a {department} facility has no {k} visits"));
            }
            let key = visit.patient.as_ref().map(prost::Message::encode_to_vec).unwrap_or_default();
            let person = match people.get(&key) {
                Some(p) => *p,
                None => {
                    let p = self.resolve_patient(caller, visit.patient.as_ref(), &format!("{path}.patient"), &mut v)?;
                    people.insert(key, p);
                    p
                }
            };
            resolved.push(match (person, date, kind) {
                (Some(person), Some(date), Some(kind)) => {
                    Some(ResolvedVisit { person, date, kind, outpatient_care: visit.outpatient_care })
                }
                _ => None,
            });
        }

        // The span: as given, or the visits' own.
        let first_visit = resolved.iter().flatten().map(|r| r.date).min();
        let last_visit = resolved.iter().flatten().map(|r| r.date).max();
        let from = date_or(&mut v, "from_date", &req.from_date, Some(first_visit.unwrap_or(today)));
        let to = date_or(&mut v, "to_date", &req.to_date, Some(last_visit.unwrap_or(today)));
        if let (Some(from), Some(to)) = (from, to) {
            let span_field = if req.to_date.is_empty() { "visits" } else { "to_date" };
            if to < from {
                v.add(span_field, format!("the span {from} … {to} ends before it starts"));
            } else if from.add_months(MAX_SPAN_MONTHS).is_none_or(|limit| to >= limit) {
                v.add(span_field, format!("the span {from} … {to} is over {MAX_SPAN_MONTHS} months"));
            }
            for (i, r) in resolved.iter().enumerate() {
                if let Some(r) = r
                    && (r.date < from || r.date > to)
                {
                    v.add(&format!("visits[{i}].date"), format!("{} is outside the span {from} … {to}", r.date));
                }
            }
        }
        let notifications = self.notifications(req, from.unwrap_or(today), &mut v);
        v.finish()?;
        let resolved: Vec<ResolvedVisit> = resolved.into_iter().flatten().collect();

        let mut facts_of: HashMap<(PersonId, Date), DayFacts> = HashMap::new();
        let mut visits = Vec::with_capacity(resolved.len());
        for r in &resolved {
            let facts = match facts_of.get(&(r.person, r.date)) {
                Some(f) => *f,
                None => {
                    let f = self.day_facts(caller, r.person, r.date)?;
                    facts_of.insert((r.person, r.date), f);
                    f
                }
            };
            visits.push(PatientVisit {
                patient: r.person.0.to_string(),
                visit: Visit {
                    date: r.date,
                    department,
                    kind: r.kind,
                    outpatient_care: r.outpatient_care,
                    facts: facts.visit_facts(),
                },
            });
        }
        // The usage rate matters only to additions that need a notification.
        let usage = match (notifications.is_empty(), first_visit, last_visit) {
            (false, Some(first), Some(last)) => {
                let back = YearMonth::of(first).plus(-WINDOW_BACK_MONTHS).map_or(first, YearMonth::first_day);
                self.monthly_usage(caller, back, last)?
            }
            _ => Vec::new(),
        };
        let facility = FacilityFacts { notifications, e_prescription: req.e_prescription, usage };
        let statement = process_visits(rules, &facility, &visits, &[]).map_err(fee_error)?;

        let answer = statement
            .visits
            .iter()
            .map(|judged| {
                let r = &resolved[judged.index];
                let facts = facts_of.get(&(r.person, r.date)).copied().unwrap_or_default();
                let mut out = pb::VisitAdditions {
                    index: judged.index as u32,
                    date: judged.date.yyyymmdd(),
                    kind: req.visits[judged.index].kind,
                    card_confirmed_at: hh_mm(facts.card_at),
                    insured_number_confirmed_at: hh_mm(facts.insured_at),
                    medication_obtained_at: hh_mm(facts.medication_at),
                    checkups_obtained_at: hh_mm(facts.checkups_at),
                    ..Default::default()
                };
                for outcome in &judged.outcomes {
                    match outcome {
                        Outcome::Earned(e) => {
                            out.points += e.points;
                            out.earned.push(pb::EarnedAddition {
                                addition: e.addition.clone(),
                                item: e.item.to_string(),
                                tier: tier_name(e.tier),
                                points: e.points,
                                receipt_code: e.receipt.as_ref().map(|c| c.code.clone()).unwrap_or_default(),
                                certainty: e.certainty.name().to_owned(),
                                reason: e.reason.clone(),
                            });
                        }
                        Outcome::Refused(f) => out.refused.push(pb::RefusedAddition {
                            addition: f.addition.clone(),
                            item: f.item.to_string(),
                            tier: f.tier.map(tier_name).unwrap_or_default(),
                            reason: f.reason.clone(),
                        }),
                    }
                }
                out
            })
            .collect();
        Ok(pb::ComputeAdditionsResponse {
            visits: answer,
            months: statement
                .months
                .iter()
                .map(|m| pb::MonthTotal { month: month_text(m.month), points: m.points, yen: m.yen })
                .collect(),
            total_points: statement.total_points,
            total_yen: statement.total_yen,
        })
    }

    pub(crate) fn usage_rate(
        &self,
        caller: &Caller,
        req: &pb::UsageRateRequest,
    ) -> Result<pb::UsageRateResponse, ServiceError> {
        let today = self.clock.now().date();
        let mut v = Violations::default();
        let month = |v: &mut Violations, field: &str, s: &str, default: Option<YearMonth>| {
            if s.is_empty() { default } else { v.check(field, parse_month(s)) }
        };
        let claim = month(&mut v, "claim_month", &req.claim_month, Some(YearMonth::of(today)));
        let from = month(&mut v, "from_month", &req.from_month, claim.and_then(|c| c.plus(-WINDOW_BACK_MONTHS)));
        let to = month(&mut v, "to_month", &req.to_month, claim);
        if let (Some(from), Some(to)) = (from, to) {
            let months = to.index() - from.index() + 1;
            if months < 1 {
                v.add("to_month", format!("{to} is before from_month {from}"));
            } else if months > i64::from(MAX_SPAN_MONTHS) {
                v.add("to_month", format!("{from} … {to} is over {MAX_SPAN_MONTHS} months"));
            }
        }
        let (claim, from, to) = v.finish_with(claim.zip(from).zip(to).map(|((c, f), t)| (c, f, t)))?;
        let window = Window::of(claim);
        let first = window.map_or(from, |w| w.first).min(from);
        let last = window.map_or(to, |w| w.last).max(to);
        let last_day = last.plus(1).and_then(|m| m.first_day().pred()).unwrap_or(last.first_day());
        let usage = self.monthly_usage(caller, first.first_day(), last_day)?;
        let rates =
            monthly_rates(&usage).map_err(|e| ServiceError::BadRequest(vec![("usage".into(), e.to_string())]))?;
        let mut months = Vec::new();
        let mut m = from;
        while m <= to {
            let rate = rates.iter().find(|(month, _)| *month == m).map(|(_, r)| *r);
            months.push(pb::MonthlyUsageRate {
                month: month_text(m),
                card_confirmations: rate.map_or(0, |r| r.card()),
                all_confirmations: rate.map_or(0, |r| r.all()),
                rate: rate.map(|r| r.to_string()).unwrap_or_default(),
            });
            let Some(next) = m.plus(1) else { break };
            m = next;
        }
        let best = best_in_window(&rates, claim);
        let department = self.department(caller);
        let on = claim.first_day();
        let rules: &FeeRules = &self.fee_rules;
        let mut additions: Vec<(&str, u8)> = Vec::new();
        for r in rules.in_force(on).filter(|r| r.is_for(department)) {
            if let Condition::Notified { usage_rate_at_least: Some(p), .. } = r.condition {
                match additions.iter_mut().find(|(a, _)| *a == r.addition) {
                    Some((_, lowest)) => *lowest = (*lowest).min(p),
                    None => additions.push((r.addition.as_str(), p)),
                }
            }
        }
        let window_text = window.map(|w| w.to_string()).unwrap_or_default();
        let tiers = additions
            .into_iter()
            .map(|(addition, lowest)| match usage_tier(rules, addition, department, on, &rates, req.e_prescription) {
                Some(choice) => pb::UsageTier {
                    addition: addition.to_owned(),
                    tier: tier_name(choice.rule.tier),
                    points: choice.rule.points,
                    reason: match (choice.best, choice.rule.condition) {
                        (Some((m, rate)), Condition::Notified { usage_rate_at_least: Some(p), .. }) => {
                            format!("{m} ({rate}) is the best of {window_text}; at least {p} %")
                        }
                        _ => "no usage-rate threshold".to_owned(),
                    },
                },
                None => pb::UsageTier {
                    addition: addition.to_owned(),
                    reason: match best {
                        None => format!("no confirmations recorded in {window_text}"),
                        Some((m, rate)) => {
                            format!("{m} ({rate}) is the best of {window_text}; below {lowest} %")
                        }
                    },
                    ..Default::default()
                },
            })
            .collect();
        Ok(pb::UsageRateResponse {
            months,
            claim_month: month_text(claim),
            window: window_text,
            best_month: best.map(|(m, _)| month_text(m)).unwrap_or_default(),
            best_rate: best.map(|(_, r)| r.to_string()).unwrap_or_default(),
            tiers,
        })
    }

    pub(crate) fn estimate_additions(
        &self,
        caller: &Caller,
        req: &pb::EstimateAdditionsRequest,
    ) -> Result<pb::EstimateAdditionsResponse, ServiceError> {
        let mut v = Violations::default();
        let department = match pb::FeeDepartment::try_from(req.department) {
            Ok(pb::FeeDepartment::Unspecified) => Some(self.department(caller)),
            Ok(pb::FeeDepartment::Medical) => Some(Department::Medical),
            Ok(pb::FeeDepartment::Dental) => Some(Department::Dental),
            Ok(pb::FeeDepartment::Pharmacy) => Some(Department::Pharmacy),
            Err(_) => {
                v.add("department", "not a FeeDepartment");
                None
            }
        };
        let counts = match &req.counts {
            Some(Counts::PerDay(d)) => Some(PatientCounts::PerDay {
                patients: d.patients,
                first_visits: d.first_visits,
                revisits: d.revisits,
                days_per_month: d.days_per_month,
            }),
            Some(Counts::PerMonth(m)) => Some(PatientCounts::PerMonth { patients: m.patients, counted: m.counted }),
            None => {
                v.add("counts", "set per_day (医科, 歯科) or per_month (調剤)");
                None
            }
        };
        let rate = Percentage::from_hundredths(req.card_holding_rate_hundredths);
        if rate.is_none() {
            v.add("card_holding_rate_hundredths", "at most 10000 (100 %)");
        }
        let rules_date = date_or(&mut v, "rules_date", &req.rules_date, Some(self.clock.now().date()));
        let all = || Some((department?, counts?, rate?, rules_date?));
        let (department, counts, card_holding_rate, rules_date) = v.finish_with(all())?;
        let input = EstimateInput { department, counts, card_holding_rate, rules_date };
        let e = onshi_domain::fees::estimate(&self.fee_rules, &input).map_err(estimate_error)?;
        let amount = |a: onshi_domain::fees::Amount| pb::FeeAmount { points: a.points, yen: a.yen };
        let case = |c: &onshi_domain::fees::EstimateCase| pb::EstimateCase {
            per_day: c.per_day.map(amount),
            per_month: Some(amount(c.per_month)),
            per_year: Some(amount(c.per_year)),
            lines: c
                .lines
                .iter()
                .map(|l| pb::EstimateLine {
                    addition: l.addition.clone(),
                    item: l.item.to_string(),
                    tier: tier_name(l.tier),
                    points: l.points,
                    once_in_months: u32::from(l.once_in_months),
                    patients: l.patients,
                })
                .collect(),
        };
        Ok(pb::EstimateAdditionsResponse {
            department: department_name(department),
            rules_date: rules_date.yyyymmdd(),
            with_cards: Some(case(&e.with_cards)),
            insurance_card_only: Some(case(&e.insurance_card_only)),
        })
    }

    pub(crate) fn estimate_subsidy(
        &self,
        caller: &Caller,
        req: &pb::EstimateSubsidyRequest,
    ) -> Result<pb::EstimateSubsidyResponse, ServiceError> {
        let mut v = Violations::default();
        let readers = u8::try_from(req.card_readers.max(1)).unwrap_or(u8::MAX);
        let facility = match pb::SubsidyFacility::try_from(req.facility) {
            Ok(pb::SubsidyFacility::Unspecified) => Some(match self.facility_kind(caller) {
                FacilityKind::Hospital => SubsidyFacility::Hospital { card_readers: readers },
                FacilityKind::Clinic | FacilityKind::Dental => SubsidyFacility::Clinic,
                FacilityKind::Pharmacy => SubsidyFacility::Pharmacy { large_chain: false },
            }),
            Ok(pb::SubsidyFacility::Hospital) => Some(SubsidyFacility::Hospital { card_readers: readers }),
            Ok(pb::SubsidyFacility::Clinic) => Some(SubsidyFacility::Clinic),
            Ok(pb::SubsidyFacility::Pharmacy) => Some(SubsidyFacility::Pharmacy { large_chain: false }),
            Ok(pb::SubsidyFacility::PharmacyLargeChain) => Some(SubsidyFacility::Pharmacy { large_chain: true }),
            Err(_) => {
                v.add("facility", "not a SubsidyFacility");
                None
            }
        };
        // Empty: before the 2022-08 increase (the terms FEES.md gives first).
        let readers_applied_on = date_or(&mut v, "readers_applied_on", &req.readers_applied_on, Date::new(2022, 4, 1));
        let installed_on = date_or(&mut v, "installed_on", &req.installed_on, None);
        let subsidy_applied_on = date_or(&mut v, "subsidy_applied_on", &req.subsidy_applied_on, None);
        let (facility, readers_applied_on) = v.finish_with(facility.zip(readers_applied_on))?;
        let input = SubsidyInput {
            facility,
            eligible_cost_yen: req.eligible_cost_yen,
            readers_applied_on,
            installed_on,
            subsidy_applied_on,
        };
        let s = onshi_domain::fees::subsidy(&input).map_err(subsidy_error)?;
        Ok(pb::EstimateSubsidyResponse {
            amount_yen: s.amount_yen,
            rate_numerator: s.rate.0,
            rate_denominator: s.rate.1,
            limit_yen: s.limit_yen,
            bound: match s.bound {
                Bound::Rate => "rate",
                Bound::Limit => "limit",
            }
            .to_owned(),
            schedule: match s.schedule {
                Schedule::Original => "original",
                Schedule::Increased => "increased",
            }
            .to_owned(),
        })
    }
}

/// The tonic FeeService.
#[derive(Debug, Clone)]
pub struct Fees(pub App);

#[tonic::async_trait]
impl FeeService for Fees {
    async fn compute_additions(
        &self,
        request: Request<pb::ComputeAdditionsRequest>,
    ) -> Result<Response<pb::ComputeAdditionsResponse>, Status> {
        // Up to 100,000 visits, each a few reads: tell the runtime this worker is busy a while.
        self.0
            .unary("/onshi.v1.FeeService/ComputeAdditions", request, |app, caller, req| {
                tokio::task::block_in_place(|| app.compute_additions(caller, req))
            })
            .await
    }

    async fn usage_rate(
        &self,
        request: Request<pb::UsageRateRequest>,
    ) -> Result<Response<pb::UsageRateResponse>, Status> {
        self.0.unary("/onshi.v1.FeeService/UsageRate", request, |app, caller, req| app.usage_rate(caller, req)).await
    }

    async fn estimate_additions(
        &self,
        request: Request<pb::EstimateAdditionsRequest>,
    ) -> Result<Response<pb::EstimateAdditionsResponse>, Status> {
        self.0
            .unary("/onshi.v1.FeeService/EstimateAdditions", request, |app, caller, req| {
                app.estimate_additions(caller, req)
            })
            .await
    }

    async fn estimate_subsidy(
        &self,
        request: Request<pb::EstimateSubsidyRequest>,
    ) -> Result<Response<pb::EstimateSubsidyResponse>, Status> {
        self.0
            .unary("/onshi.v1.FeeService/EstimateSubsidy", request, |app, caller, req| {
                app.estimate_subsidy(caller, req)
            })
            .await
    }
}
