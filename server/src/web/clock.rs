//! The clock: the server's "now" and its shift from the system clock, set (SetClock with a time
//! or an offset) or shifted by some seconds more (SetClock with the offset it comes to).

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
    Router::new().route("/clock", get(show)).route("/clock/set", post(set)).route("/clock/shift", post(shift))
}

#[derive(Template)]
#[template(path = "admin/clock.html")]
struct ClockPage {
    page: Chrome,
    now: String,
    offset_seconds: i64,
    forms: Vec<Form>,
}

fn forms() -> Vec<Form> {
    vec![
        Form::post("set", "/clock/set", "時計の設定 / Set the clock", "設定する / Set")
            .text("now", "現在時刻 / now", "YYYYMMDDhhmmss (JST); wins over the offset")
            .text("offset_seconds", "ずれ (秒) / offset, seconds", "from the system clock; both empty: back to it"),
        Form::post("shift", "/clock/shift", "時計を進める・戻す / Shift the clock", "ずらす / Shift").text(
            "shift_seconds",
            "秒 / seconds",
            "added to the current offset; negative goes back",
        ),
    ]
}

async fn render(web: &Web, query: &FormData, failed: Option<(&str, &FormData, Problems)>) -> Response {
    let page = Chrome::new("時計 / Clock", "clock", query);
    let status = failed.as_ref().and_then(|f| f.2.status).unwrap_or(StatusCode::OK);
    let forms = forms()
        .into_iter()
        .map(|f| match &failed {
            Some((id, data, problems)) if *id == f.id => f.filled(data).with_problems(problems),
            _ => f,
        })
        .collect();
    let clock = &web.app().clock;
    html(status, &ClockPage { page, now: clock.now().to_string(), offset_seconds: clock.offset(), forms })
}

async fn show(State(web): State<Web>, Query(pairs): Query<Vec<(String, String)>>) -> Response {
    render(&web, &FormData(pairs), None).await
}

async fn call(web: &Web, form: &str, data: &FormData, req: Result<pb::SetClockRequest, Problems>) -> Response {
    let problems = match req {
        Ok(req) => match web.admin.set_clock(request(req)).await {
            Ok(_) => return see_other("/clock?done=clock-set"),
            Err(e) => Problems::from_status(&e),
        },
        Err(p) => p,
    };
    render(web, &FormData::default(), Some((form, data, problems))).await
}

async fn set(State(web): State<Web>, Posted(pairs): Posted<Vec<(String, String)>>) -> Response {
    let data = FormData(pairs);
    let mut problems = Problems::default();
    let offset_seconds = data.number("offset_seconds", &mut problems).unwrap_or(0);
    let req = pb::SetClockRequest { offset_seconds, now: data.get("now").into() };
    call(&web, "set", &data, if problems.is_empty() { Ok(req) } else { Err(problems) }).await
}

async fn shift(State(web): State<Web>, Posted(pairs): Posted<Vec<(String, String)>>) -> Response {
    let data = FormData(pairs);
    let mut problems = Problems::default();
    let by: i64 = data.number("shift_seconds", &mut problems).unwrap_or(0);
    let offset_seconds = web.app().clock.offset().saturating_add(by);
    let req = pb::SetClockRequest { offset_seconds, now: String::new() };
    call(&web, "shift", &data, if problems.is_empty() { Ok(req) } else { Err(problems) }).await
}
