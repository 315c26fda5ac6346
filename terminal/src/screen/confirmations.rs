//! Today's confirmations, newest first: every answer this terminal gave (the folder exchange's
//! single checks, taps at the reader) and every face file seen, each opening to every element
//! of the result grouped as on the real screen, codes by their Japanese names. New ones arrive
//! without a reload (server-sent events carry the rendered entry).

use std::convert::Infallible;
use std::sync::Arc;

use askama::Template;
use axum::extract::{Path, State};
use axum::response::sse::{Event, KeepAlive, Sse};
use axum::response::{IntoResponse, Response};
use futures_util::stream::Stream;
use tokio_stream::StreamExt;
use tokio_stream::wrappers::BroadcastStream;

use super::Screen;
use super::journal::Entry;
use super::labels::{self, Group};
use super::page::{Chrome, not_found, render};

/// One result of an entry.
pub struct ResultView {
    pub name: String,
    pub groups: Vec<Group>,
    pub medical_link: Option<String>,
}

/// One entry, as the list shows it.
#[derive(Template)]
#[template(path = "entry.html")]
pub struct EntryView {
    pub id: u64,
    pub time: String,
    pub source: String,
    pub file: String,
    pub name: String,
    pub validity: String,
    pub status: String,
    pub ok: bool,
    /// The header and outcome.
    pub outcome: Vec<Group>,
    pub results: Vec<ResultView>,
    pub open: bool,
}

impl EntryView {
    pub fn of(e: &Entry, open: bool) -> EntryView {
        let results = e.results();
        let body_leaves: Vec<&crate::xml_in::Element> =
            e.body.children.iter().filter(|c| c.name != "ResultList").collect();
        let outcome = labels::groups(e.header.children.iter().chain(body_leaves.iter().copied()));
        let status = e.body.text_of("ProcessingResultStatus");
        let segment = e.header.text_of("SegmentOfResult");
        let ok = segment != "9" && status != "2";
        let message = if segment == "9" {
            format!("{} {}", e.header.text_of("ErrorCode"), e.header.text_of("ErrorMessage"))
        } else if !e.body.text_of("ProcessingResultCode").is_empty() {
            format!("{} {}", e.body.text_of("ProcessingResultCode"), e.body.text_of("ProcessingResultMessage"))
        } else {
            labels::meaning("ProcessingResultStatus", status)
        };
        let validity = e.body.text_of("QualificationValidity");
        EntryView {
            id: e.id,
            time: labels::time(&e.recorded).rsplit(' ').next().unwrap_or_default().to_owned(),
            source: e.source.label().to_owned(),
            file: e.file.clone(),
            name: results.first().map(|r| r.text_of("Name").to_owned()).unwrap_or_default(),
            validity: if validity.is_empty() {
                String::new()
            } else {
                labels::meaning("QualificationValidity", validity)
            },
            status: message,
            ok,
            outcome,
            results: results
                .iter()
                .map(|r| ResultView {
                    name: r.text_of("Name").to_owned(),
                    groups: labels::groups(r.children.iter()),
                    medical_link: super::medical::link_of(r),
                })
                .collect(),
            open,
        }
    }

    fn html(&self) -> String {
        self.render().unwrap_or_else(|e| format!("<p>the entry could not be drawn: {e}</p>"))
    }
}

#[derive(Template)]
#[template(path = "confirmations.html")]
pub struct ConfirmationsPage {
    pub chrome: Chrome,
    pub entries: Vec<String>,
    pub count: usize,
}

pub async fn page(State(screen): State<Arc<Screen>>) -> Response {
    let entries: Vec<String> = screen.journal.today().iter().map(|e| EntryView::of(e, false).html()).collect();
    render(&ConfirmationsPage {
        chrome: Chrome::new(&screen.ctx.facility, "/confirmations", "資格確認結果"),
        count: entries.len(),
        entries,
    })
}

pub async fn one(State(screen): State<Arc<Screen>>, Path(id): Path<String>) -> Response {
    let Some(entry) = id.parse::<u64>().ok().and_then(|id| screen.journal.get(id)) else { return not_found() };
    render(&ConfirmationsPage {
        chrome: Chrome::new(&screen.ctx.facility, "/confirmations", "資格確認結果"),
        entries: vec![EntryView::of(&entry, true).html()],
        count: 1,
    })
}

/// Each new entry, rendered, as an event `confirmation`.
pub async fn events(State(screen): State<Arc<Screen>>) -> impl IntoResponse {
    let stream: std::pin::Pin<Box<dyn Stream<Item = Result<Event, Infallible>> + Send>> =
        Box::pin(BroadcastStream::new(screen.journal.subscribe()).filter_map(|e| {
            // A lagging page skips what it missed; a reload shows everything.
            let e = e.ok()?;
            Some(Ok(Event::default().event("confirmation").id(e.id.to_string()).data(EntryView::of(&e, false).html())))
        }));
    Sse::new(stream).keep_alive(KeepAlive::default())
}
