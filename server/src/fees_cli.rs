//! `onshi-server fees`: a client of a running server's FeeService (over mutual TLS, like the load
//! generator), printing tables. The defaults point at `./dev demo` (127.0.0.1:50051, certificates
//! in onshi-demo/pki, the demo clinic), so `onshi-server fees compute --visit first,A0000000000000000001`
//! is a whole command.

use std::fmt::Write as _;
use std::path::PathBuf;
use std::time::Duration;

use clap::{Args, Subcommand};
use onshi_proto::v1::fee_service_client::FeeServiceClient;
use onshi_proto::v1::{self as pb, estimate_additions_request::Counts, fee_patient};
use tonic::transport::{Certificate, Channel, ClientTlsConfig, Identity};

type AnyError = Box<dyn std::error::Error + Send + Sync>;

/// Where the server is and who asks.
#[derive(Debug, Clone, Args)]
pub struct Target {
    /// The facility listener.
    #[arg(long, default_value = "127.0.0.1:50051", global = true)]
    pub target: String,
    /// The CA that issued the server's certificate (PEM).
    #[arg(long, default_value = "onshi-demo/pki/ca.pem", global = true)]
    pub cacert: PathBuf,
    /// The facility asking: its certificate and key default to onshi-demo/pki/CODE.pem and .key.
    #[arg(long, default_value = "1312345679", global = true)]
    pub facility: String,
    /// The client certificate (PEM); default: the facility's in the demo PKI.
    #[arg(long, global = true)]
    pub cert: Option<PathBuf>,
    /// The client key (PEM); default: the facility's in the demo PKI.
    #[arg(long, global = true)]
    pub key: Option<PathBuf>,
}

#[derive(Debug, Clone, Args)]
pub struct FeesArgs {
    #[command(flatten)]
    pub target: Target,
    #[command(subcommand)]
    pub command: FeesCommand,
}

#[derive(Debug, Clone, Subcommand)]
pub enum FeesCommand {
    /// The additions the facility's visits earn from what the server recorded.
    Compute {
        /// KIND,PATIENT[,YYYYMMDD] (repeatable). KIND: first, revisit, outpatient (a 再診 as
        /// 外来診療料), dispensing (or 初診, 再診, 調剤). PATIENT: a card serial, or
        /// INSURER:SYMBOL:NUMBER:BRANCH:BIRTHDATE. No date: the server's today.
        #[arg(long = "visit", required = true)]
        visits: Vec<String>,
        /// The span, YYYYMMDD (default: the visits' own).
        #[arg(long)]
        from: Option<String>,
        #[arg(long)]
        to: Option<String>,
        /// ADDITION[@YYYYMMDD[@TIER]]: the facility notified this addition (repeatable), e.g.
        /// 医療DX推進体制整備加算 or 電子的診療情報連携体制整備加算@20260601@加算2.
        #[arg(long = "notified")]
        notified: Vec<String>,
        /// The facility issues 電子処方箋.
        #[arg(long)]
        e_prescription: bool,
    },
    /// The facility's マイナ保険証利用率 per month and the tiers it gives for a claim month.
    UsageRate {
        /// YYYYMM (default: the server's current month).
        #[arg(long)]
        claim_month: Option<String>,
        /// The months to list, YYYYMM (default: claim month − 5 … claim month).
        #[arg(long)]
        from_month: Option<String>,
        #[arg(long)]
        to_month: Option<String>,
        #[arg(long)]
        e_prescription: bool,
    },
    /// The leaflet's estimate: points and yen per day, month and year.
    Estimate {
        /// medical, dental or pharmacy (default: the asking facility's kind).
        #[arg(long)]
        kind: Option<String>,
        /// Patients a day (a clinic) or a month (a pharmacy).
        #[arg(long)]
        patients: u32,
        /// A clinic's counted first visits and revisits a day.
        #[arg(long, default_value_t = 0)]
        first_visits: u32,
        #[arg(long, default_value_t = 0)]
        revisits: u32,
        #[arg(long, default_value_t = 20)]
        days_per_month: u32,
        /// A pharmacy's counted patients a month (their first visit of the month); given, the
        /// counts are per month.
        #[arg(long)]
        counted: Option<u32>,
        /// マイナンバーカード holding rate, percent (e.g. 42.4).
        #[arg(long)]
        card_rate: String,
        /// The rules of this day, YYYYMMDD (default: the server's today).
        #[arg(long)]
        rules_date: Option<String>,
    },
    /// The 2022 subsidy for introducing the system.
    Subsidy {
        /// hospital, clinic, pharmacy or chain-pharmacy (default: the asking facility's kind).
        #[arg(long)]
        kind: Option<String>,
        /// A hospital's card readers (1–3).
        #[arg(long, default_value_t = 1)]
        readers: u32,
        /// The eligible cost, yen.
        #[arg(long)]
        cost: u64,
        /// When the card readers were applied for, YYYYMMDD (default: before the 2022-08 increase).
        #[arg(long)]
        readers_applied_on: Option<String>,
        #[arg(long)]
        installed_on: Option<String>,
        #[arg(long)]
        applied_on: Option<String>,
    },
}

/// Parses `KIND,PATIENT[,YYYYMMDD]`.
pub fn parse_visit(spec: &str) -> Result<pb::FeeVisit, String> {
    let mut parts = spec.split(',');
    let (kind, patient) = (parts.next().unwrap_or_default(), parts.next().unwrap_or_default());
    let date = parts.next().unwrap_or_default().to_owned();
    if parts.next().is_some() || patient.is_empty() {
        return Err(format!("--visit {spec:?}: expected KIND,PATIENT[,YYYYMMDD]"));
    }
    let (kind, outpatient_care) = match kind {
        "first" | "初診" => (pb::VisitKind::FirstVisit, false),
        "revisit" | "再診" => (pb::VisitKind::Revisit, false),
        "outpatient" | "外来診療料" => (pb::VisitKind::Revisit, true),
        "dispensing" | "調剤" => (pb::VisitKind::Dispensing, false),
        other => {
            return Err(format!("--visit {spec:?}: unknown kind {other:?} (first, revisit, outpatient, dispensing)"));
        }
    };
    let patient = if patient.contains(':') {
        let f: Vec<&str> = patient.split(':').collect();
        let [insurer, symbol, number, branch, birthdate] = f.as_slice() else {
            return Err(format!("--visit {spec:?}: insured numbers are INSURER:SYMBOL:NUMBER:BRANCH:BIRTHDATE"));
        };
        fee_patient::Patient::Insured(pb::PatientSearchInfo {
            insurer_number: (*insurer).to_owned(),
            insured_card_symbol: (*symbol).to_owned(),
            insured_identification_number: (*number).to_owned(),
            insured_branch_number: (*branch).to_owned(),
            birthdate: (*birthdate).to_owned(),
        })
    } else {
        fee_patient::Patient::CertificateSerialNumber(patient.to_owned())
    };
    Ok(pb::FeeVisit {
        patient: Some(pb::FeePatient { patient: Some(patient) }),
        date,
        kind: kind as i32,
        outpatient_care,
    })
}

/// Parses `ADDITION[@YYYYMMDD[@TIER]]`.
pub fn parse_notified(spec: &str) -> pb::FeeNotification {
    let mut parts = spec.split('@');
    pb::FeeNotification {
        addition: parts.next().unwrap_or_default().to_owned(),
        from_date: parts.next().unwrap_or_default().to_owned(),
        tier: parts.next().unwrap_or_default().to_owned(),
    }
}

/// A percentage with at most two decimals ("42.4") in hundredths of a percent (4240).
pub fn parse_percent(s: &str) -> Result<u32, String> {
    let bad = || format!("--card-rate {s:?}: expected a percentage such as 42.4");
    let (whole, frac) = s.trim_end_matches('%').trim().split_once('.').unwrap_or((s.trim_end_matches('%').trim(), ""));
    if frac.len() > 2 || whole.is_empty() || !frac.bytes().all(|b| b.is_ascii_digit()) {
        return Err(bad());
    }
    let whole: u32 = whole.parse().map_err(|_| bad())?;
    let frac: u32 = if frac.is_empty() { 0 } else { format!("{frac:0<2}").parse().map_err(|_| bad())? };
    whole.checked_mul(100).and_then(|w| w.checked_add(frac)).ok_or_else(bad)
}

/// `1234567` → `1,234,567`.
pub fn thousands(n: u64) -> String {
    let digits = n.to_string();
    let mut out = String::with_capacity(digits.len() + digits.len() / 3);
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(c);
    }
    out
}

/// Terminal columns of `s` (wide for CJK).
fn columns(s: &str) -> usize {
    s.chars().map(|c| if c >= '\u{1100}' { 2 } else { 1 }).sum()
}

/// Rows as aligned columns (the last column unpadded).
fn table(header: &[&str], rows: &[Vec<String>]) -> String {
    let mut widths: Vec<usize> = header.iter().map(|h| columns(h)).collect();
    for r in rows {
        for (i, cell) in r.iter().enumerate() {
            widths[i] = widths[i].max(columns(cell));
        }
    }
    let mut out = String::new();
    let line = |cells: Vec<&str>, out: &mut String| {
        let n = cells.len();
        for (i, cell) in cells.into_iter().enumerate() {
            out.push_str(cell);
            if i + 1 < n {
                out.push_str(&" ".repeat(widths[i] - columns(cell) + 2));
            }
        }
        out.push('\n');
    };
    line(header.to_vec(), &mut out);
    for r in rows {
        line(r.iter().map(String::as_str).collect(), &mut out);
    }
    out
}

fn kind_name(kind: i32) -> &'static str {
    match pb::VisitKind::try_from(kind) {
        Ok(pb::VisitKind::FirstVisit) => "初診",
        Ok(pb::VisitKind::Revisit) => "再診",
        Ok(pb::VisitKind::Dispensing) => "調剤",
        _ => "?",
    }
}

fn dashed(date: &str) -> String {
    match (date.get(..4), date.get(4..6), date.get(6..)) {
        (Some(y), Some(m), Some(d)) if !d.is_empty() => format!("{y}-{m}-{d}"),
        (Some(y), Some(m), _) => format!("{y}-{m}"),
        _ => date.to_owned(),
    }
}

fn or_dash(s: &str) -> String {
    if s.is_empty() { "-".to_owned() } else { s.to_owned() }
}

/// The table of a ComputeAdditions answer.
pub fn additions_table(r: &pb::ComputeAdditionsResponse) -> String {
    let mut rows = Vec::new();
    for v in &r.visits {
        let first = vec![
            v.index.to_string(),
            dashed(&v.date),
            kind_name(v.kind).to_owned(),
            or_dash(&v.card_confirmed_at),
            or_dash(&v.medication_obtained_at),
            or_dash(&v.checkups_obtained_at),
        ];
        let outcomes = v
            .earned
            .iter()
            .map(|e| (&e.addition, &e.item, &e.tier, e.points.to_string(), &e.reason))
            .chain(v.refused.iter().map(|f| (&f.addition, &f.item, &f.tier, "-".to_owned(), &f.reason)));
        let mut any = false;
        for (i, (addition, item, tier, points, reason)) in outcomes.enumerate() {
            any = true;
            let mut row = if i == 0 { first.clone() } else { vec![String::new(); first.len()] };
            row.extend([format!("{addition} ({item})"), or_dash(tier), points, reason.clone()]);
            rows.push(row);
        }
        if !any {
            let mut row = first;
            row.extend(["-".into(), "-".into(), "-".into(), "no addition is in force for this visit".into()]);
            rows.push(row);
        }
    }
    let mut out = table(
        &["visit", "date", "kind", "card", "薬剤情報", "特定健診", "addition", "tier", "points", "reason"],
        &rows,
    );
    out.push('\n');
    let mut months: Vec<Vec<String>> = r
        .months
        .iter()
        .map(|m| vec![dashed(&m.month), thousands(m.points), format!("{} yen", thousands(m.yen))])
        .collect();
    months.push(vec!["total".into(), thousands(r.total_points), format!("{} yen", thousands(r.total_yen))]);
    out.push_str(&table(&["month", "points", "yen"], &months));
    out
}

/// The table of a UsageRate answer.
pub fn usage_table(r: &pb::UsageRateResponse) -> String {
    let rows: Vec<Vec<String>> = r
        .months
        .iter()
        .map(|m| {
            vec![dashed(&m.month), m.card_confirmations.to_string(), m.all_confirmations.to_string(), or_dash(&m.rate)]
        })
        .collect();
    let mut out = table(&["month", "card", "all", "マイナ保険証利用率"], &rows);
    let _ = writeln!(
        out,
        "\nclaim month {}: window {}, best {}",
        dashed(&r.claim_month),
        r.window,
        if r.best_month.is_empty() {
            "none".to_owned()
        } else {
            format!("{} ({})", dashed(&r.best_month), r.best_rate)
        }
    );
    if r.tiers.is_empty() {
        out.push_str("no usage-rate addition is in force in the claim month for this facility\n");
    }
    for t in &r.tiers {
        let tier = if t.points == 0 {
            "no tier".to_owned()
        } else {
            format!("{} {} points", if t.tier.is_empty() { "single" } else { &t.tier }, t.points)
        };
        let _ = writeln!(out, "  {}: {tier} ({})", t.addition, t.reason);
    }
    out
}

fn amount(a: Option<&pb::FeeAmount>) -> String {
    a.map_or_else(|| "-".to_owned(), |a| format!("{} pt / {} yen", thousands(a.points), thousands(a.yen)))
}

/// The table of an EstimateAdditions answer.
pub fn estimate_table(r: &pb::EstimateAdditionsResponse, card_rate: &str) -> String {
    let cases = [
        (format!("with cards ({card_rate} %)"), &r.with_cards),
        ("insurance card only".into(), &r.insurance_card_only),
    ];
    let rows: Vec<Vec<String>> = cases
        .iter()
        .map(|(name, c)| {
            let c = (*c).clone().unwrap_or_default();
            vec![name.clone(), amount(c.per_day.as_ref()), amount(c.per_month.as_ref()), amount(c.per_year.as_ref())]
        })
        .collect();
    let mut out = format!("{} under the rules of {}\n", r.department, dashed(&r.rules_date));
    out.push_str(&table(&["case", "per day", "per month", "per year"], &rows));
    for (name, c) in &cases {
        for l in c.as_ref().map(|c| c.lines.as_slice()).unwrap_or_default() {
            let every = if l.once_in_months == 1 {
                "once a month".to_owned()
            } else {
                format!("once in {} months", l.once_in_months)
            };
            let tier = if l.tier.is_empty() { String::new() } else { format!(" {}", l.tier) };
            let _ = writeln!(
                out,
                "  {name}: {} ({}){tier} {} pt × {} patients, {every}",
                l.addition, l.item, l.points, l.patients
            );
        }
    }
    out
}

/// The text of an EstimateSubsidy answer.
pub fn subsidy_text(r: &pb::EstimateSubsidyResponse, cost: u64) -> String {
    let by_rate = u128::from(cost) * u128::from(r.rate_numerator) / u128::from(r.rate_denominator.max(1));
    let bound = if r.bound == "limit" {
        format!(
            "the limit of {} yen bound it (cost × rate = {} yen)",
            thousands(r.limit_yen),
            thousands(by_rate as u64)
        )
    } else {
        format!("cost × rate, within the limit of {} yen", thousands(r.limit_yen))
    };
    format!(
        "subsidy {} yen: {} yen × {}/{}; {bound}; {} terms\n",
        thousands(r.amount_yen),
        thousands(cost),
        r.rate_numerator,
        r.rate_denominator,
        if r.schedule == "increased" { "the 2022-08 increased" } else { "the original (before 2022-08)" }
    )
}

async fn connect(t: &Target) -> Result<FeeServiceClient<Channel>, AnyError> {
    let pki = t.cacert.parent().map(PathBuf::from).unwrap_or_default();
    let cert = t.cert.clone().unwrap_or_else(|| pki.join(format!("{}.pem", t.facility)));
    let key = t.key.clone().unwrap_or_else(|| pki.join(format!("{}.key", t.facility)));
    let read = |p: &PathBuf| std::fs::read(p).map_err(|e| format!("{}: {e}", p.display()));
    let tls = ClientTlsConfig::new()
        .ca_certificate(Certificate::from_pem(read(&t.cacert)?))
        .identity(Identity::from_pem(read(&cert)?, read(&key)?))
        .domain_name("localhost");
    let channel = Channel::from_shared(format!("https://{}", t.target))?
        .tls_config(tls)?
        .connect_timeout(Duration::from_secs(5))
        .timeout(Duration::from_secs(120))
        .connect()
        .await
        .map_err(|e| format!("{}: {e}", t.target))?;
    Ok(FeeServiceClient::new(channel).max_decoding_message_size(256 << 20).max_encoding_message_size(16 << 20))
}

fn status_text(s: tonic::Status) -> AnyError {
    use tonic_types::StatusExt;
    match s.get_details_bad_request() {
        Some(b) if !b.field_violations.is_empty() => {
            let mut text = format!("{:?}:", s.code());
            for v in b.field_violations {
                let _ = write!(text, "\n  {}: {}", v.field, v.description);
            }
            text.into()
        }
        _ => format!("{:?}: {}", s.code(), s.message()).into(),
    }
}

/// Runs one `fees` command against the server and returns what to print.
pub async fn run(args: FeesArgs) -> Result<String, AnyError> {
    let t = &args.target;
    let mut client = connect(t).await?;
    Ok(match args.command {
        FeesCommand::Compute { visits, from, to, notified, e_prescription } => {
            let visits = visits.iter().map(|v| parse_visit(v)).collect::<Result<Vec<_>, _>>()?;
            let req = pb::ComputeAdditionsRequest {
                from_date: from.unwrap_or_default(),
                to_date: to.unwrap_or_default(),
                visits,
                notifications: notified.iter().map(|n| parse_notified(n)).collect(),
                e_prescription,
            };
            let r = client.compute_additions(req).await.map_err(status_text)?.into_inner();
            additions_table(&r)
        }
        FeesCommand::UsageRate { claim_month, from_month, to_month, e_prescription } => {
            let req = pb::UsageRateRequest {
                claim_month: claim_month.unwrap_or_default(),
                from_month: from_month.unwrap_or_default(),
                to_month: to_month.unwrap_or_default(),
                e_prescription,
            };
            let r = client.usage_rate(req).await.map_err(status_text)?.into_inner();
            usage_table(&r)
        }
        FeesCommand::Estimate {
            kind,
            patients,
            first_visits,
            revisits,
            days_per_month,
            counted,
            card_rate,
            rules_date,
        } => {
            let department = match kind.as_deref() {
                None => pb::FeeDepartment::Unspecified,
                Some("medical" | "医科") => pb::FeeDepartment::Medical,
                Some("dental" | "歯科") => pb::FeeDepartment::Dental,
                Some("pharmacy" | "調剤") => pb::FeeDepartment::Pharmacy,
                Some(other) => return Err(format!("--kind {other:?}: medical, dental or pharmacy").into()),
            };
            let counts = match counted {
                Some(counted) => Counts::PerMonth(pb::PatientsPerMonth { patients, counted }),
                None => Counts::PerDay(pb::PatientsPerDay { patients, first_visits, revisits, days_per_month }),
            };
            let req = pb::EstimateAdditionsRequest {
                department: department as i32,
                counts: Some(counts),
                card_holding_rate_hundredths: parse_percent(&card_rate)?,
                rules_date: rules_date.unwrap_or_default(),
            };
            let r = client.estimate_additions(req).await.map_err(status_text)?.into_inner();
            estimate_table(&r, card_rate.trim_end_matches('%').trim())
        }
        FeesCommand::Subsidy { kind, readers, cost, readers_applied_on, installed_on, applied_on } => {
            let facility = match kind.as_deref() {
                None => pb::SubsidyFacility::Unspecified,
                Some("hospital" | "病院") => pb::SubsidyFacility::Hospital,
                Some("clinic" | "診療所") => pb::SubsidyFacility::Clinic,
                Some("pharmacy" | "薬局") => pb::SubsidyFacility::Pharmacy,
                Some("chain-pharmacy") => pb::SubsidyFacility::PharmacyLargeChain,
                Some(other) => {
                    return Err(format!("--kind {other:?}: hospital, clinic, pharmacy or chain-pharmacy").into());
                }
            };
            let req = pb::EstimateSubsidyRequest {
                facility: facility as i32,
                card_readers: readers,
                eligible_cost_yen: cost,
                readers_applied_on: readers_applied_on.unwrap_or_default(),
                installed_on: installed_on.unwrap_or_default(),
                subsidy_applied_on: applied_on.unwrap_or_default(),
            };
            let r = client.estimate_subsidy(req).await.map_err(status_text)?.into_inner();
            subsidy_text(&r, cost)
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn visits_parse_from_kind_patient_and_date() {
        let v = parse_visit("first,A0000000000000000001").expect("valid");
        assert_eq!(v.kind, pb::VisitKind::FirstVisit as i32);
        assert_eq!(v.date, "");
        assert_eq!(
            v.patient.and_then(|p| p.patient),
            Some(fee_patient::Patient::CertificateSerialNumber("A0000000000000000001".into()))
        );
        let v = parse_visit("outpatient,01130012:90000001:1::19800115,20240703").expect("valid");
        assert!(v.outpatient_care);
        assert_eq!(v.date, "20240703");
        match v.patient.and_then(|p| p.patient) {
            Some(fee_patient::Patient::Insured(s)) => {
                assert_eq!((s.insurer_number.as_str(), s.insured_branch_number.as_str()), ("01130012", ""));
            }
            other => panic!("{other:?}"),
        }
        assert!(parse_visit("first").is_err());
        assert!(parse_visit("emergency,A1").is_err());
        assert!(parse_visit("first,1:2:3").is_err());
    }

    #[test]
    fn percentages_and_thousands() {
        assert_eq!(parse_percent("42.4"), Ok(4240));
        assert_eq!(parse_percent("100"), Ok(10_000));
        assert_eq!(parse_percent("7.25 %"), Ok(725));
        assert!(parse_percent("4.245").is_err());
        assert!(parse_percent("x").is_err());
        assert_eq!(thousands(103_200), "103,200");
        assert_eq!(thousands(999), "999");
        assert_eq!(thousands(1_000_000), "1,000,000");
        let n = parse_notified("電子的診療情報連携体制整備加算@20260601@加算2");
        assert_eq!((n.from_date.as_str(), n.tier.as_str()), ("20260601", "加算2"));
    }

    #[test]
    fn tables_align_wide_characters() {
        let t = table(&["a", "b"], &[vec!["初診".into(), "x".into()], vec!["abcdef".into(), "y".into()]]);
        let lines: Vec<&str> = t.lines().collect();
        assert_eq!(lines[1], "初診    x");
        assert_eq!(lines[2], "abcdef  y");
    }
}
