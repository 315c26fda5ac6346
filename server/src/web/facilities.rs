//! Facilities: the allow-list (ListFacilities), a facility allowed or changed (PutFacility),
//! suspended or made active again (PutFacility with the other status), and removed
//! (RemoveFacility).

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
        .route("/facilities", get(show))
        .route("/facilities/put", post(put))
        .route("/facilities/remove", post(remove))
}

#[derive(Template)]
#[template(path = "admin/facilities.html")]
struct FacilitiesPage {
    page: Chrome,
    facilities: Vec<pb::FacilityEntry>,
    forms: Vec<Form>,
}

impl FacilitiesPage {
    /// The status a row's button switches to.
    fn other_status(&self, f: &pb::FacilityEntry) -> &'static str {
        if f.status == "suspended" { "active" } else { "suspended" }
    }
}

fn put_form() -> Form {
    Form::post("put", "/facilities/put", "医療機関の登録・変更 / Allow or change a facility", "登録する / Save")
        .text("facility.medical_institution_code", "医療機関コード / facility code", "10 digits with the check digit")
        .text("facility.name", "名称 / name", "")
        .select(
            "facility.kind",
            "種別 / kind",
            "",
            &[
                ("clinic", "診療所 / clinic"),
                ("hospital", "病院 / hospital"),
                ("dental", "歯科 / dental"),
                ("pharmacy", "薬局 / pharmacy"),
            ],
        )
        .select(
            "facility.status",
            "状態 / status",
            "",
            &[("active", "有効 / active"), ("suspended", "停止 / suspended")],
        )
        .text("facility.certificate_sha256", "証明書 SHA-256 / certificate", "64 hex digits; empty: any from the CA")
        .select(
            "facility.check_digits",
            "検証番号 / check digits",
            "",
            &[("", "既定 / server default"), ("strict", "strict"), ("lenient", "lenient")],
        )
}

async fn render(web: &Web, query: &FormData, failed: Option<(&str, &FormData, Problems)>) -> Response {
    let mut page = Chrome::new("医療機関 / Facilities", "facilities", query);
    let mut status = failed.as_ref().and_then(|f| f.2.status).unwrap_or(StatusCode::OK);
    let facilities = match web.admin.list_facilities(request(pb::ListFacilitiesRequest {})).await {
        Ok(answer) => answer.into_inner().facilities,
        Err(e) => {
            let problems = Problems::from_status(&e);
            page.alert(&problems);
            status = problems.status.unwrap_or(StatusCode::CONFLICT);
            Vec::new()
        }
    };
    let mut form = put_form();
    match failed {
        Some(("put", data, problems)) => form = form.filled(data).with_problems(&problems),
        Some((_, _, problems)) => page.alert(&problems),
        None => {}
    }
    html(status, &FacilitiesPage { page, facilities, forms: vec![form] })
}

async fn show(State(web): State<Web>, Query(pairs): Query<Vec<(String, String)>>) -> Response {
    render(&web, &FormData(pairs), None).await
}

async fn put(State(web): State<Web>, Posted(pairs): Posted<Vec<(String, String)>>) -> Response {
    let data = FormData(pairs);
    let f = |name: &str| data.get(&format!("facility.{name}")).to_owned();
    let req = pb::PutFacilityRequest {
        facility: Some(pb::FacilityEntry {
            medical_institution_code: f("medical_institution_code"),
            name: f("name"),
            kind: f("kind"),
            status: f("status"),
            certificate_sha256: f("certificate_sha256"),
            check_digits: f("check_digits"),
        }),
    };
    let form = if data.get("from") == "row" { "row" } else { "put" };
    match web.admin.put_facility(request(req)).await {
        Ok(_) => see_other("/facilities?done=facility-put"),
        Err(e) => render(&web, &FormData::default(), Some((form, &data, Problems::from_status(&e)))).await,
    }
}

async fn remove(State(web): State<Web>, Posted(pairs): Posted<Vec<(String, String)>>) -> Response {
    let data = FormData(pairs);
    let req = pb::RemoveFacilityRequest { medical_institution_code: data.get("medical_institution_code").into() };
    match web.admin.remove_facility(request(req)).await {
        Ok(_) => see_other("/facilities?done=facility-removed"),
        Err(e) => render(&web, &FormData::default(), Some(("row", &data, Problems::from_status(&e)))).await,
    }
}
