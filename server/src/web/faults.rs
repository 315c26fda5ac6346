//! Faults: the faults in effect (ListFaults), each with what it matches and what it does; a
//! fault added (AddFault, every field of the request) by hand or by a preset — one button per
//! recipe of the README, posting the same fields the form would; cleared one by one or all
//! (ClearFaults).

use askama::Template;
use axum::Router;
use axum::extract::{Form as Posted, Query, State};
use axum::http::StatusCode;
use axum::response::Response;
use axum::routing::{get, post};
use onshi_proto::served::admin_service_server::AdminService;
use onshi_proto::served::{self as pb, fault::Kind};

use super::Web;
use super::call::request;
use super::forms::{Form, FormData, Problems};
use super::page::{Chrome, html, see_other};

pub(super) fn routes() -> Router<Web> {
    Router::new().route("/faults", get(show)).route("/faults/add", post(add)).route("/faults/clear", post(clear))
}

/// A recipe of the README as a button: the form's fields, filled.
pub(super) struct Preset {
    pub id: &'static str,
    pub label: &'static str,
    pub fields: &'static [(&'static str, &'static str)],
}

/// The README's fault recipes ("Using onshi as a test double").
pub(super) const PRESETS: &[Preset] = &[
    Preset {
        id: "preset-maintenance",
        label: "次の ConfirmByCard 1回を UNAVAILABLE (maintenance) / the next ConfirmByCard fails",
        fields: &[
            ("fault.method", "ConfirmByCard"),
            ("fault.count", "1"),
            ("fault.kind", "status"),
            ("fault.status.code", "14"),
            ("fault.status.message", "maintenance"),
            ("fault.status.reason", "MAINTENANCE"),
        ],
    },
    Preset {
        id: "preset-latency",
        label: "薬局 1342345673 の全呼び出しに 200–800 ms / latency on every call of the pharmacy",
        fields: &[
            ("fault.medical_institution_code", "1342345673"),
            ("fault.kind", "latency"),
            ("fault.latency.min_ms", "200"),
            ("fault.latency.max_ms", "800"),
        ],
    },
    Preset {
        id: "preset-request-failure",
        label: "A0000000000000000011 の 30 % に SegmentOfResult 9 (E9001) / request failure for one patient",
        fields: &[
            ("fault.person", "A0000000000000000011"),
            ("fault.probability", "0.3"),
            ("fault.kind", "request_failure"),
            ("fault.request_failure.error_code", "E9001"),
            ("fault.request_failure.error_message", "システム処理中にエラーが発生しました。"),
        ],
    },
    Preset {
        id: "preset-bulk-delay",
        label: "一括照会を 10 分長く処理中に / 一括照会 jobs 10 minutes longer",
        fields: &[("fault.kind", "bulk_delay"), ("fault.bulk_delay.seconds", "600")],
    },
    Preset {
        id: "preset-outage",
        label: "全面停止 (UNAVAILABLE, NOT_SERVING) / a full outage",
        fields: &[("fault.kind", "outage")],
    },
];

/// A fault as the list shows it.
struct FaultView {
    id: u64,
    matches: String,
    does: String,
    hits: u64,
}

#[derive(Template)]
#[template(path = "admin/faults.html")]
struct FaultsPage {
    page: Chrome,
    faults: Vec<FaultView>,
    presets: &'static [Preset],
    forms: Vec<Form>,
}

fn add_form() -> Form {
    Form::post("add-fault", "/faults/add", "障害の追加 / Add a fault", "追加する / Add")
        .text("fault.method", "メソッド / method", "e.g. ConfirmByCard; empty: any")
        .text("fault.medical_institution_code", "医療機関コード / facility", "empty: any")
        .text("fault.person", "人 / person", "card serial or 番号; empty: anyone")
        .text("fault.count", "回数 / count", "the next N calls; empty or 0: until cleared")
        .text("fault.probability", "確率 / probability", "0–1; empty or 0: every call")
        .select(
            "fault.kind",
            "種類 / kind",
            "",
            &[
                ("", "選択 / choose"),
                ("status", "gRPC status"),
                ("latency", "遅延 / latency"),
                ("request_failure", "処理結果エラー / request failure (SegmentOfResult 9)"),
                ("bulk_delay", "一括照会の遅延 / bulk delay"),
                ("outage", "全面停止 / outage"),
            ],
        )
        .text("fault.status.code", "status: code", "1–16, e.g. 14 UNAVAILABLE")
        .text("fault.status.message", "status: message", "")
        .text("fault.status.reason", "status: reason", "ErrorInfo reason")
        .text("fault.latency.min_ms", "latency: min ms", "")
        .text("fault.latency.max_ms", "latency: max ms", "")
        .text("fault.request_failure.error_code", "request failure: ErrorCode", "")
        .text("fault.request_failure.error_message", "request failure: ErrorMessage", "")
        .text("fault.bulk_delay.seconds", "bulk delay: seconds", "")
}

fn code_name(code: i32) -> String {
    format!("{code} {:?}", tonic::Code::from_i32(code))
}

fn view(f: &pb::Fault) -> FaultView {
    let or = |s: &str, any: &str| if s.is_empty() { any.to_owned() } else { s.to_owned() };
    // The service keeps "always" as probability 1 (0 in a request means always too).
    let always = f.probability == 0.0 || f.probability >= 1.0;
    let percent = f.probability * 100.0;
    let how_often = match (f.count, always) {
        (0, true) => "解除まで毎回 / every call until cleared".to_owned(),
        (0, false) => format!("解除まで {percent:.0} % / {percent:.0} % of calls until cleared"),
        (1, true) => "次の 1 回 / the next call".to_owned(),
        (n, true) => format!("次の {n} 回 / the next {n} calls"),
        (n, false) => format!("次の {n} 回のうち {percent:.0} % / {percent:.0} % of the next {n} calls"),
    };
    let matches = format!(
        "method {} · facility {} · person {} · {how_often}",
        or(&f.method, "any"),
        or(&f.medical_institution_code, "any"),
        or(&f.person, "anyone")
    );
    let does = match &f.kind {
        Some(Kind::Status(s)) => {
            let reason = if s.reason.is_empty() { String::new() } else { format!(", reason {}", s.reason) };
            format!("gRPC status {} “{}”{reason}", code_name(s.code), s.message)
        }
        Some(Kind::Latency(l)) => format!("遅延 / latency {}–{} ms", l.min_ms, l.max_ms),
        Some(Kind::RequestFailure(r)) => {
            format!("SegmentOfResult 9, ErrorCode {}, ErrorMessage “{}”", r.error_code, r.error_message)
        }
        Some(Kind::BulkDelay(b)) => format!("一括照会 +{} s processing / bulk jobs {} s longer", b.seconds, b.seconds),
        Some(Kind::Outage(_)) => "全面停止: every facility call UNAVAILABLE, health NOT_SERVING".to_owned(),
        None => "—".to_owned(),
    };
    FaultView { id: f.id, matches, does, hits: f.hits }
}

async fn render(web: &Web, query: &FormData, failed: Option<(&str, &FormData, Problems)>) -> Response {
    let mut page = Chrome::new("障害 / Faults", "faults", query);
    let mut status = failed.as_ref().and_then(|f| f.2.status).unwrap_or(StatusCode::OK);
    let faults = match web.admin.list_faults(request(pb::ListFaultsRequest {})).await {
        Ok(answer) => answer.into_inner().faults.iter().map(view).collect(),
        Err(e) => {
            let problems = Problems::from_status(&e);
            page.alert(&problems);
            status = problems.status.unwrap_or(StatusCode::CONFLICT);
            Vec::new()
        }
    };
    let mut form = add_form();
    match failed {
        Some(("add", data, problems)) => form = form.filled(data).with_problems(&problems),
        Some((_, _, problems)) => page.alert(&problems),
        None => {}
    }
    html(status, &FaultsPage { page, faults, presets: PRESETS, forms: vec![form] })
}

async fn show(State(web): State<Web>, Query(pairs): Query<Vec<(String, String)>>) -> Response {
    render(&web, &FormData(pairs), None).await
}

/// The AddFaultRequest the form says, or what in it is not a number.
fn add_request(data: &FormData) -> Result<pb::AddFaultRequest, Problems> {
    let mut problems = Problems::default();
    let s = |name: &str| data.get(name).to_owned();
    let kind = match data.get("fault.kind") {
        "status" => Some(Kind::Status(pb::StatusFault {
            code: data.number("fault.status.code", &mut problems).unwrap_or(0),
            message: s("fault.status.message"),
            reason: s("fault.status.reason"),
        })),
        "latency" => Some(Kind::Latency(pb::LatencyFault {
            min_ms: data.number("fault.latency.min_ms", &mut problems).unwrap_or(0),
            max_ms: data.number("fault.latency.max_ms", &mut problems).unwrap_or(0),
        })),
        "request_failure" => Some(Kind::RequestFailure(pb::RequestFailureFault {
            error_code: s("fault.request_failure.error_code"),
            error_message: s("fault.request_failure.error_message"),
        })),
        "bulk_delay" => Some(Kind::BulkDelay(pb::BulkDelayFault {
            seconds: data.number("fault.bulk_delay.seconds", &mut problems).unwrap_or(0),
        })),
        "outage" => Some(Kind::Outage(pb::OutageFault {})),
        _ => None,
    };
    let fault = pb::Fault {
        method: s("fault.method"),
        medical_institution_code: s("fault.medical_institution_code"),
        person: s("fault.person"),
        count: data.number("fault.count", &mut problems).unwrap_or(0),
        probability: data.number("fault.probability", &mut problems).unwrap_or(0.0),
        kind,
        ..Default::default()
    };
    if problems.is_empty() { Ok(pb::AddFaultRequest { fault: Some(fault) }) } else { Err(problems) }
}

async fn add(State(web): State<Web>, Posted(pairs): Posted<Vec<(String, String)>>) -> Response {
    let data = FormData(pairs);
    let problems = match add_request(&data) {
        Ok(req) => match web.admin.add_fault(request(req)).await {
            Ok(_) => return see_other("/faults?done=fault-added"),
            Err(e) => Problems::from_status(&e),
        },
        Err(problems) => problems,
    };
    render(&web, &FormData::default(), Some(("add", &data, problems))).await
}

async fn clear(State(web): State<Web>, Posted(pairs): Posted<Vec<(String, String)>>) -> Response {
    let data = FormData(pairs);
    let mut problems = Problems::default();
    let id = data.number::<u64>("id", &mut problems).unwrap_or(0);
    if problems.is_empty() {
        match web.admin.clear_faults(request(pb::ClearFaultsRequest { id })).await {
            Ok(_) => return see_other("/faults?done=faults-cleared"),
            Err(e) => problems = Problems::from_status(&e),
        }
    }
    render(&web, &FormData::default(), Some(("clear", &data, problems))).await
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_preset_makes_a_request_of_its_kind() {
        for p in PRESETS {
            let data = FormData(p.fields.iter().map(|(k, v)| ((*k).to_owned(), (*v).to_owned())).collect());
            let req = add_request(&data).unwrap_or_else(|e| panic!("{}: {:?}", p.id, e.fields));
            assert!(req.fault.and_then(|f| f.kind).is_some(), "{}", p.id);
        }
    }
}
