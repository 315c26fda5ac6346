//! Reset and snapshots: back to the seeded baseline (Reset), named snapshots taken
//! (TakeSnapshot), restored (RestoreSnapshot) and listed (ListSnapshots).

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
        .route("/snapshots", get(show))
        .route("/snapshots/reset", post(reset))
        .route("/snapshots/take", post(take))
        .route("/snapshots/restore", post(restore))
}

#[derive(Template)]
#[template(path = "admin/snapshots.html")]
struct SnapshotsPage {
    page: Chrome,
    names: Vec<String>,
    forms: Vec<Form>,
}

fn forms() -> Vec<Form> {
    vec![
        Form::post("take", "/snapshots/take", "スナップショットを保存 / Take a snapshot", "保存する / Take").text(
            "name",
            "名前 / name",
            "letters, digits, '-' and '_'; at most 64",
        ),
        Form::post(
            "restore",
            "/snapshots/restore",
            "スナップショットを復元 / Restore a snapshot",
            "復元する / Restore",
        )
        .text("name", "名前 / name", ""),
    ]
}

async fn render(web: &Web, query: &FormData, failed: Option<(&str, &FormData, Problems)>) -> Response {
    let mut page = Chrome::new("リセット・スナップショット / Reset and snapshots", "snapshots", query);
    let mut status = failed.as_ref().and_then(|f| f.2.status).unwrap_or(StatusCode::OK);
    let names = match web.admin.list_snapshots(request(pb::ListSnapshotsRequest {})).await {
        Ok(answer) => answer.into_inner().names,
        Err(e) => {
            let problems = Problems::from_status(&e);
            page.alert(&problems);
            status = problems.status.unwrap_or(StatusCode::CONFLICT);
            Vec::new()
        }
    };
    let mut forms = forms();
    if let Some((id, data, problems)) = &failed {
        match forms.iter().position(|f| f.id == *id) {
            Some(i) => forms[i] = forms[i].clone().filled(data).with_problems(problems),
            None => page.alert(problems),
        }
    }
    html(status, &SnapshotsPage { page, names, forms })
}

async fn show(State(web): State<Web>, Query(pairs): Query<Vec<(String, String)>>) -> Response {
    render(&web, &FormData(pairs), None).await
}

async fn reset(State(web): State<Web>) -> Response {
    match web.admin.reset(request(pb::ResetRequest {})).await {
        Ok(_) => see_other("/snapshots?done=reset"),
        Err(e) => {
            render(&web, &FormData::default(), Some(("reset", &FormData::default(), Problems::from_status(&e)))).await
        }
    }
}

async fn take(State(web): State<Web>, Posted(pairs): Posted<Vec<(String, String)>>) -> Response {
    let data = FormData(pairs);
    match web.admin.take_snapshot(request(pb::SnapshotRequest { name: data.get("name").into() })).await {
        Ok(_) => see_other("/snapshots?done=snapshot-taken"),
        Err(e) => render(&web, &FormData::default(), Some(("take", &data, Problems::from_status(&e)))).await,
    }
}

async fn restore(State(web): State<Web>, Posted(pairs): Posted<Vec<(String, String)>>) -> Response {
    let data = FormData(pairs);
    let form = if data.get("from") == "row" { "row" } else { "restore" };
    match web.admin.restore_snapshot(request(pb::SnapshotRequest { name: data.get("name").into() })).await {
        Ok(_) => see_other("/snapshots?done=snapshot-restored"),
        Err(e) => render(&web, &FormData::default(), Some((form, &data, Problems::from_status(&e)))).await,
    }
}
