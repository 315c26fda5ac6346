//! This facility's fee additions (医療DX推進体制整備加算, 医療情報取得加算, …) by month, as a table
//! and a bar chart, with the reasons per visit, and the マイナ保険証利用率 by month — from the
//! server's FeeService, which judges them from what it recorded of this facility's confirmations.
//!
//! The visits are the patients this terminal confirmed (`state/visits.tsv`, one per patient and
//! day): at a pharmacy each is a dispensing; elsewhere a patient's first visit in the log is a
//! 初診 and later ones 再診 (the terminal cannot know the real visit kind; the EHR does).

use std::collections::HashSet;
use std::sync::Arc;

use askama::Template;
use axum::extract::{Query, State};
use axum::response::Response;
use onshi_domain::date::Date;
use onshi_domain::fees::table::{Condition, Department, FeeRules};
use onshi_domain::ids::{CheckDigits, MedicalInstitutionCode, ScoreTable};
use onshi_proto::v1::fee_service_client::FeeServiceClient;
use onshi_proto::v1::{
    ComputeAdditionsRequest, ComputeAdditionsResponse, FeeNotification, FeePatient, FeeVisit, PatientSearchInfo,
    UsageRateRequest, UsageRateResponse, VisitKind, fee_patient,
};

use super::Screen;
use super::chart;
use super::journal::Visit;
use super::medical::months_back;
use super::page::{Chrome, refusal, render};

/// The months of visits asked about.
const MONTHS: u32 = 12;

pub struct VisitRow {
    pub date: String,
    pub kind: String,
    pub patient: String,
    pub points: u32,
    pub earned: Vec<String>,
    pub refused: Vec<String>,
}

#[derive(Template)]
#[template(path = "fees.html")]
pub struct FeesPage {
    pub chrome: Chrome,
    pub additions_error: Option<String>,
    /// (month, points, yen).
    pub months: Vec<(String, u64, u64)>,
    pub total_points: u64,
    pub total_yen: u64,
    pub chart: String,
    pub visits: Vec<VisitRow>,
    pub usage_error: Option<String>,
    /// (month, card patients, all patients, rate).
    pub usage: Vec<(String, u64, u64, String)>,
    pub usage_chart: String,
    pub usage_window: String,
    pub usage_best: String,
    /// (addition, tier, points, reason).
    pub tiers: Vec<(String, String, u32, String)>,
    /// The additions in force for this facility's kind: (name, notified).
    pub notified: Vec<(String, bool)>,
    pub e_prescription: bool,
}

/// The facility's receipt kind, from the 医療機関コード's 点数表 (医科 when it cannot be read).
fn department(facility: &str) -> Department {
    match MedicalInstitutionCode::parse(facility, CheckDigits::Lenient).map(|c| c.score_table()) {
        Ok(ScoreTable::Dental) => Department::Dental,
        Ok(ScoreTable::Pharmacy) => Department::Pharmacy,
        _ => Department::Medical,
    }
}

/// The additions that need a notification (届出) which the built-in table has in force between
/// `from` and `to` for `department`.
fn additions(department: Department, from: &str, to: &str) -> Vec<String> {
    let (Ok(from), Ok(to)) = (Date::parse_yyyymmdd(from), Date::parse_yyyymmdd(to)) else { return Vec::new() };
    let Ok(rules) = FeeRules::builtin() else { return Vec::new() };
    let mut names: Vec<String> = Vec::new();
    for r in rules.rules() {
        let overlaps = r.from <= to && r.to.is_none_or(|end| from <= end);
        let needs_notification = matches!(r.condition, Condition::Notified { .. });
        if overlaps && needs_notification && r.is_for(department) && !names.contains(&r.addition) {
            names.push(r.addition.clone());
        }
    }
    names
}

fn kind_name(k: i32) -> &'static str {
    match VisitKind::try_from(k) {
        Ok(VisitKind::FirstVisit) => "初診",
        Ok(VisitKind::Revisit) => "再診",
        Ok(VisitKind::Dispensing) => "調剤",
        _ => "",
    }
}

/// One visit per patient and day, with the kind the facility's code implies.
fn fee_visits(facility: &str, visits: &[Visit], from: &str) -> Vec<FeeVisit> {
    let pharmacy = department(facility) == Department::Pharmacy;
    let mut seen_day = HashSet::new();
    let mut seen_patient = HashSet::new();
    let mut out = Vec::new();
    for v in visits {
        let first = seen_patient.insert(v.patient());
        if v.date.as_str() < from || !seen_day.insert((v.date.clone(), v.patient())) {
            continue;
        }
        let kind = if pharmacy {
            VisitKind::Dispensing
        } else if first {
            VisitKind::FirstVisit
        } else {
            VisitKind::Revisit
        };
        out.push(FeeVisit {
            patient: Some(FeePatient {
                patient: Some(fee_patient::Patient::Insured(PatientSearchInfo {
                    insurer_number: v.insurer.clone(),
                    insured_card_symbol: v.symbol.clone(),
                    insured_identification_number: v.number.clone(),
                    insured_branch_number: v.branch.clone(),
                    birthdate: v.birthdate.clone(),
                })),
            }),
            date: v.date.clone(),
            kind: kind as i32,
            outpatient_care: false,
        });
    }
    out
}

/// The non-empty parts, space separated.
fn join(parts: &[&str]) -> String {
    parts.iter().filter(|p| !p.is_empty()).copied().collect::<Vec<_>>().join(" ")
}

fn dashed(month: &str) -> String {
    if month.len() == 6 { format!("{}-{}", &month[..4], &month[4..]) } else { month.to_owned() }
}

/// The form: `set=1` with `n=ADDITION` per notified addition and `e=1` for 電子処方箋; without
/// `set`, every addition counts as notified (the facility filed for all of them).
pub async fn page(State(screen): State<Arc<Screen>>, Query(form): Query<Vec<(String, String)>>) -> Response {
    let today = screen.today().yyyymmdd();
    let from = format!("{}01", months_back(&today, MONTHS - 1));
    let set = form.iter().any(|(k, _)| k == "set");
    let e_prescription = form.iter().any(|(k, v)| k == "e" && v == "1");
    let notified: Vec<(String, bool)> = additions(department(&screen.ctx.facility), &from, &today)
        .into_iter()
        .map(|a| {
            let on = !set || form.iter().any(|(k, v)| k == "n" && *v == a);
            (a, on)
        })
        .collect();
    let notifications: Vec<FeeNotification> = notified
        .iter()
        .filter(|(_, on)| *on)
        .map(|(a, _)| FeeNotification { addition: a.clone(), from_date: from.clone(), tier: String::new() })
        .collect();
    let log = screen.journal.visits();
    let visits = fee_visits(&screen.ctx.facility, &log, &from);
    let mut client = FeeServiceClient::new(screen.ctx.channel.clone());
    let mut page = FeesPage {
        chrome: Chrome::new(&screen.ctx.facility, "/fees", "加算・利用率"),
        additions_error: None,
        months: Vec::new(),
        total_points: 0,
        total_yen: 0,
        chart: String::new(),
        visits: Vec::new(),
        usage_error: None,
        usage: Vec::new(),
        usage_chart: String::new(),
        usage_window: String::new(),
        usage_best: String::new(),
        tiers: Vec::new(),
        notified,
        e_prescription,
    };
    if !visits.is_empty() {
        let request = ComputeAdditionsRequest {
            from_date: from.clone(),
            to_date: today.clone(),
            visits: visits.clone(),
            notifications,
            e_prescription,
        };
        match client.compute_additions(request).await {
            Ok(r) => fill_additions(&mut page, r.into_inner(), &visits),
            Err(status) => page.additions_error = Some(refusal(&status)),
        }
    }
    let usage = UsageRateRequest {
        claim_month: String::new(),
        from_month: months_back(&today, MONTHS - 1),
        to_month: today[..6].to_owned(),
        e_prescription,
    };
    match client.usage_rate(usage).await {
        Ok(r) => fill_usage(&mut page, r.into_inner()),
        Err(status) => page.usage_error = Some(refusal(&status)),
    }
    render(&page)
}

fn fill_additions(page: &mut FeesPage, r: ComputeAdditionsResponse, asked: &[FeeVisit]) {
    page.months = r.months.iter().map(|m| (dashed(&m.month), m.points, m.yen)).collect();
    page.total_points = r.total_points;
    page.total_yen = r.total_yen;
    let bars: Vec<(String, f64)> = page.months.iter().map(|(m, p, _)| (m.clone(), *p as f64)).collect();
    page.chart = chart::bars("月ごとの加算（点）", "点", &bars);
    page.visits = r
        .visits
        .iter()
        .rev()
        .map(|v| {
            let patient = asked
                .get(v.index as usize)
                .and_then(|a| a.patient.as_ref())
                .and_then(|p| match &p.patient {
                    Some(fee_patient::Patient::Insured(i)) => Some(format!(
                        "{} {} {} {} ({})",
                        i.insurer_number,
                        i.insured_card_symbol,
                        i.insured_identification_number,
                        i.insured_branch_number,
                        i.birthdate
                    )),
                    _ => None,
                })
                .unwrap_or_default();
            VisitRow {
                date: v.date.clone(),
                kind: kind_name(v.kind).to_owned(),
                patient,
                points: v.points,
                earned: v
                    .earned
                    .iter()
                    .map(|e| format!("{} {}点 — {}", join(&[&e.addition, &e.tier, &e.item]), e.points, e.reason))
                    .collect(),
                refused: v
                    .refused
                    .iter()
                    .map(|e| format!("{} {}: {}", e.addition, e.tier, e.reason).replace("  ", " "))
                    .collect(),
            }
        })
        .collect();
}

fn fill_usage(page: &mut FeesPage, r: UsageRateResponse) {
    page.usage = r
        .months
        .iter()
        .map(|m| (dashed(&m.month), m.card_confirmations, m.all_confirmations, m.rate.clone()))
        .collect();
    let bars: Vec<(String, f64)> = r
        .months
        .iter()
        .map(|m| {
            let rate = if m.all_confirmations == 0 {
                0.0
            } else {
                m.card_confirmations as f64 * 100.0 / m.all_confirmations as f64
            };
            (dashed(&m.month), (rate * 10.0).floor() / 10.0)
        })
        .collect();
    page.usage_chart = chart::bars("マイナ保険証利用率（%）", "%", &bars);
    page.usage_window = r.window;
    page.usage_best =
        if r.best_month.is_empty() { String::new() } else { format!("{} {}", dashed(&r.best_month), r.best_rate) };
    page.tiers = r.tiers.iter().map(|t| (t.addition.clone(), t.tier.clone(), t.points, t.reason.clone())).collect();
}
