//! The terminal's screen: the pages reception and QA staff use in a browser beside the folder
//! exchange (`onshi-terminal run --http 127.0.0.1:PORT`, loopback only). axum serves HTML
//! rendered on the server from askama templates (`terminal/templates/`), one stylesheet and one
//! small script (live updates of the confirmations list over server-sent events).
//!
//! - [`reader`]: the card reader (find a patient, face or PIN, the consent questions, tap).
//! - [`confirmations`]: today's answers, each opening to every element, live.
//! - [`medical`]: medication and checkups of a patient who consented, with SVG charts.
//! - [`bulk`]: the 一括照会 jobs uploaded through `req/`.
//! - [`fees`]: this facility's fee additions and マイナ保険証利用率.
//!
//! Every page asks the server through the same gRPC client and certificate as the folder
//! exchange; nothing here reads the server's store.

pub mod bulk;
pub mod chart;
pub mod confirmations;
pub mod fees;
pub mod journal;
pub mod labels;
pub mod medical;
pub mod page;
pub mod reader;
pub mod search;

use std::future::Future;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use axum::Router;
use axum::http::header;
use axum::response::IntoResponse;
use axum::routing::{get, post};
use onshi_domain::date::{Date, JstDateTime};
use thiserror::Error;

use crate::exchange::Folders;
use crate::ops::Context;
use journal::Journal;
use search::PopulationRef;

#[derive(Debug, Error)]
pub enum ScreenError {
    #[error("the screen listens on loopback addresses only; {0} is not one")]
    NotLoopback(SocketAddr),
    #[error("cannot listen on {addr}: {source}")]
    Bind { addr: SocketAddr, source: std::io::Error },
}

/// What the pages share.
pub struct Screen {
    pub ctx: Arc<Context>,
    pub folders: Folders,
    pub journal: Arc<Journal>,
    pub population: Option<PopulationRef>,
}

impl Screen {
    /// Today in JST, the day the pages show.
    pub fn today(&self) -> Date {
        today()
    }
}

/// Today in JST (2000-01-01 if the system clock is outside the calendar the domain handles).
pub fn today() -> Date {
    let secs = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map_or(0, |d| d.as_secs() as i64);
    JstDateTime::from_unix_seconds(secs)
        .map(JstDateTime::date)
        .unwrap_or_else(|| Date::new(2000, 1, 1).expect("a calendar date"))
}

const STYLE: &str = include_str!("../../static/style.css");
const LIVE: &str = include_str!("../../static/live.js");

fn router(screen: Arc<Screen>) -> Router {
    Router::new()
        .route("/", get(reader::page))
        .route("/tap", post(reader::tap))
        .route("/confirmations", get(confirmations::page))
        .route("/confirmations/{id}", get(confirmations::one))
        .route("/events", get(confirmations::events))
        .route("/medical", get(medical::page))
        .route("/bulk", get(bulk::page))
        .route("/bulk/{reception}", get(bulk::job))
        .route("/fees", get(fees::page))
        .route("/style.css", get(|| async { ([(header::CONTENT_TYPE, "text/css; charset=utf-8")], STYLE) }))
        .route("/live.js", get(|| async { ([(header::CONTENT_TYPE, "text/javascript; charset=utf-8")], LIVE) }))
        .fallback(|| async { page::not_found().into_response() })
        .with_state(screen)
}

/// Binds the screen's listener (loopback only).
pub async fn bind(addr: SocketAddr) -> Result<tokio::net::TcpListener, ScreenError> {
    if !addr.ip().is_loopback() {
        return Err(ScreenError::NotLoopback(addr));
    }
    tokio::net::TcpListener::bind(addr).await.map_err(|source| ScreenError::Bind { addr, source })
}

/// Serves the screen on `listener` until `shutdown` completes; also watches `face/` for face
/// files written by other readers.
pub async fn serve(
    listener: tokio::net::TcpListener,
    screen: Arc<Screen>,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    let faces = {
        let screen = screen.clone();
        tokio::spawn(async move {
            let mut tick = tokio::time::interval(Duration::from_millis(500));
            loop {
                tick.tick().await;
                let (journal, dir) = (screen.journal.clone(), screen.folders.face.clone());
                let _ = tokio::task::spawn_blocking(move || journal.scan_faces(&dir)).await;
            }
        })
    };
    let served = axum::serve(listener, router(screen)).with_graceful_shutdown(shutdown).await;
    faces.abort();
    served
}
