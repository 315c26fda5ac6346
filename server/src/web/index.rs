//! The overview at `/`: the server's clock, how many facilities and faults there are, whether
//! the journal records, and what each page does.

use askama::Template;
use axum::Router;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::Response;
use axum::routing::get;
use onshi_proto::served as pb;
use onshi_proto::served::admin_service_server::AdminService;

use super::Web;
use super::call::request;
use super::forms::{FormData, Problems};
use super::page::{Chrome, html};

pub(super) fn routes() -> Router<Web> {
    Router::new().route("/", get(show))
}

#[derive(Template)]
#[template(path = "admin/index.html")]
struct IndexPage {
    page: Chrome,
    now: String,
    facilities: String,
    faults: String,
    journal: String,
}

async fn show(State(web): State<Web>) -> Response {
    let mut page = Chrome::new("onshi 管理 / admin", "", &FormData::default());
    let mut shown = |r: Result<String, tonic::Status>| {
        r.unwrap_or_else(|e| {
            page.alert(&Problems::from_status(&e));
            "—".to_owned()
        })
    };
    let facilities = shown(
        web.admin
            .list_facilities(request(pb::ListFacilitiesRequest {}))
            .await
            .map(|a| a.into_inner().facilities.len().to_string()),
    );
    let faults = shown(
        web.admin.list_faults(request(pb::ListFaultsRequest {})).await.map(|a| a.into_inner().faults.len().to_string()),
    );
    let journal = shown(
        web.admin
            .read_journal(request(pb::ReadJournalRequest { limit: 1, ..Default::default() }))
            .await
            .map(|a| if a.into_inner().enabled { "有効 / on" } else { "無効 / off" }.to_owned()),
    );
    let now = web.app().clock.now().to_string();
    html(StatusCode::OK, &IndexPage { page, now, facilities, faults, journal })
}
