//! The journal: ReadJournal with its filters as a form, newest first; cleared (ClearJournal);
//! switched on or off (SetJournal).

use askama::Template;
use axum::Router;
use axum::extract::{Form as Posted, Query, State};
use axum::http::StatusCode;
use axum::response::Response;
use axum::routing::{get, post};
use onshi_proto::served as pb;
use onshi_proto::served::admin_service_server::AdminService;

use super::Web;
use super::call::request;
use super::forms::{Form, FormData, Problems};
use super::page::{Chrome, html, see_other};

pub(super) fn routes() -> Router<Web> {
    Router::new()
        .route("/journal", get(show))
        .route("/journal/clear", post(clear))
        .route("/journal/enabled", post(set_enabled))
}

#[derive(Template)]
#[template(path = "admin/journal.html")]
struct JournalPage {
    page: Chrome,
    forms: Vec<Form>,
    /// Newest first.
    entries: Vec<pb::JournalEntry>,
    /// None when the journal could not be read.
    enabled: Option<bool>,
    dropped: u64,
}

fn filter_form() -> Form {
    Form::get("filter", "/journal", "絞り込み / Filter", "表示 / Show")
        .text("medical_institution_code", "医療機関コード / facility", "empty: all")
        .text("method", "メソッド / method", "e.g. onshi.v1.QualificationService/ConfirmByCard; empty: all")
        .text("after_sequence", "この番号より後 / after sequence", "")
        .text("limit", "件数 / limit", "empty: 100; at most 1,000")
}

async fn show(State(web): State<Web>, Query(pairs): Query<Vec<(String, String)>>) -> Response {
    render(&web, &FormData(pairs), None).await
}

/// The page with the entries `query` filters; `failed`: a clear or switch that was refused.
async fn render(web: &Web, query: &FormData, failed: Option<Problems>) -> Response {
    let mut page = Chrome::new("ジャーナル / Journal", "journal", query);
    if let Some(p) = &failed {
        page.alert(p);
    }
    let mut problems = Problems::default();
    let req = pb::ReadJournalRequest {
        medical_institution_code: query.get("medical_institution_code").into(),
        method: query.get("method").into(),
        after_sequence: query.number("after_sequence", &mut problems).unwrap_or(0),
        limit: query.number("limit", &mut problems).unwrap_or(0),
    };
    let (mut entries, mut enabled, mut dropped) = (Vec::new(), None, 0);
    if problems.is_empty() {
        match web.admin.read_journal(request(req)).await {
            Ok(answer) => {
                let answer = answer.into_inner();
                entries = answer.entries;
                entries.reverse();
                enabled = Some(answer.enabled);
                dropped = answer.dropped;
            }
            Err(e) => problems = Problems::from_status(&e),
        }
    }
    let status = failed.and_then(|p| p.status).or(problems.status).unwrap_or(StatusCode::OK);
    let form = filter_form().filled(query).with_problems(&problems);
    html(status, &JournalPage { page, forms: vec![form], entries, enabled, dropped })
}

async fn clear(State(web): State<Web>) -> Response {
    match web.admin.clear_journal(request(pb::ClearJournalRequest {})).await {
        Ok(_) => see_other("/journal?done=journal-cleared"),
        Err(e) => render(&web, &FormData::default(), Some(Problems::from_status(&e))).await,
    }
}

async fn set_enabled(State(web): State<Web>, Posted(pairs): Posted<Vec<(String, String)>>) -> Response {
    let data = FormData(pairs);
    let enabled = data.get("enabled") == "true";
    match web.admin.set_journal(request(pb::SetJournalRequest { enabled })).await {
        Ok(answer) if answer.get_ref().enabled => see_other("/journal?done=journal-on"),
        Ok(_) => see_other("/journal?done=journal-off"),
        Err(e) => render(&web, &FormData::default(), Some(Problems::from_status(&e))).await,
    }
}
