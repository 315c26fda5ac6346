//! What every page shares: the frame (title, facility, navigation), rendering a template into a
//! response, and the message pages for what is not there.

use askama::Template;
use axum::http::StatusCode;
use axum::response::{Html, IntoResponse, Response};

/// The navigation, in order: (path, label).
pub const NAV: [(&str, &str); 5] = [
    ("/", "カードリーダー"),
    ("/confirmations", "資格確認結果"),
    ("/medical", "薬剤・健診情報"),
    ("/bulk", "一括照会"),
    ("/fees", "加算・利用率"),
];

/// The frame around a page.
pub struct Chrome {
    pub facility: String,
    /// The path of the page's navigation entry.
    pub active: &'static str,
    pub title: String,
}

impl Chrome {
    pub fn new(facility: &str, active: &'static str, title: &str) -> Chrome {
        Chrome { facility: facility.to_owned(), active, title: title.to_owned() }
    }

    pub fn nav(&self) -> impl Iterator<Item = (&'static str, &'static str, bool)> + '_ {
        NAV.iter().map(move |(p, l)| (*p, *l, *p == self.active))
    }
}

/// Renders a template (a template that fails to render is a bug: a plain 500 says so).
pub fn render(t: &impl Template) -> Response {
    match t.render() {
        Ok(html) => Html(html).into_response(),
        Err(e) => {
            tracing::error!("a screen template failed: {e}");
            (StatusCode::INTERNAL_SERVER_ERROR, "the page could not be drawn (see the terminal's log)").into_response()
        }
    }
}

#[derive(Template)]
#[template(path = "message.html")]
pub struct Message {
    pub chrome: Chrome,
    pub heading: String,
    pub text: String,
}

pub fn not_found() -> Response {
    let m = Message {
        chrome: Chrome::new("", "", "見つかりません"),
        heading: "このページはありません".into(),
        text: "上のメニューから選んでください。".into(),
    };
    (StatusCode::NOT_FOUND, render(&m)).into_response()
}

/// The message of a gRPC refusal as staff read it.
pub fn refusal(status: &tonic::Status) -> String {
    let e = crate::error_codes::from_status(status);
    format!("{} {}", e.code, e.message)
}
