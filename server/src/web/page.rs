//! What every page shares: the frame (title, the nav entry that is current, the notice after a
//! redirect, messages), rendering a template into a response, and redirect-after-post.

use askama::Template;
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};

use super::forms::{FormData, Problems};

/// The frame of a page (`templates/admin/base.html`).
#[derive(Debug, Default)]
pub(super) struct Chrome {
    pub title: String,
    /// Which nav entry is current: "people", "facilities", "faults", "clock", "snapshots",
    /// "journal", or "" (the overview).
    pub nav: &'static str,
    /// What the last action did (after its redirect).
    pub notice: Option<String>,
    /// Messages for the whole page (an action whose form has no inputs, a failed read).
    pub alerts: Vec<String>,
}

impl Chrome {
    pub fn new(title: &str, nav: &'static str, query: &FormData) -> Chrome {
        Chrome { title: title.to_owned(), nav, notice: notice(query.get("done")), alerts: Vec::new() }
    }

    /// Adds the messages of `problems` that the page shows at its top.
    pub fn alert(&mut self, problems: &Problems) {
        self.alerts.extend(problems.general.iter().cloned());
        self.alerts.extend(problems.fields.iter().map(|(f, m)| format!("{f}: {m}")));
    }
}

/// The notice for `?done=…` (a fixed table: nothing from the query is shown as it came).
fn notice(done: &str) -> Option<String> {
    let text = match done {
        "lost" => "資格を喪失させました / the qualification is lost",
        "insurer" => "保険者を変更しました / the insurer is changed",
        "card-issued" => "カードを発行しました / the card is issued",
        "card-revoked" => "カードを失効させました / the card is revoked",
        "facility-put" => "医療機関を登録しました / the facility is saved",
        "facility-removed" => "医療機関を削除しました / the facility is removed",
        "fault-added" => "障害を追加しました / the fault is added",
        "faults-cleared" => "障害を解除しました / the faults are cleared",
        "clock-set" => "時計を設定しました / the clock is set",
        "reset" => "初期状態に戻しました / reset to the seeded baseline",
        "snapshot-taken" => "スナップショットを保存しました / the snapshot is taken",
        "snapshot-restored" => "スナップショットを復元しました / the snapshot is restored",
        "journal-cleared" => "ジャーナルを消去しました / the journal is cleared",
        "journal-on" => "ジャーナルを有効にしました / the journal records",
        "journal-off" => "ジャーナルを無効にしました / the journal is off",
        _ => return None,
    };
    Some(text.to_owned())
}

/// `page` as an HTML answer with `status`.
pub(super) fn html(status: StatusCode, page: &impl Template) -> Response {
    match page.render() {
        Ok(body) => (status, [(header::CONTENT_TYPE, "text/html; charset=utf-8")], body).into_response(),
        Err(e) => {
            tracing::error!(error = %e, "an admin page did not render");
            (StatusCode::INTERNAL_SERVER_ERROR, "the page did not render; see the server log").into_response()
        }
    }
}

/// Redirect-after-post: the browser asks for `location` with GET.
pub(super) fn see_other(location: &str) -> Response {
    (StatusCode::SEE_OTHER, [(header::LOCATION, location.to_owned())]).into_response()
}

#[derive(Template)]
#[template(path = "admin/message.html")]
struct MessagePage {
    page: Chrome,
    text: String,
}

pub(super) async fn not_found() -> Response {
    let page = MessagePage {
        page: Chrome { title: "Not found".into(), ..Chrome::default() },
        text: "このページはありません / there is no such page".into(),
    };
    html(StatusCode::NOT_FOUND, &page)
}
