//! The page server on `[metrics] listen` (loopback only): Prometheus text at `/metrics`, and the
//! admin page under `/` — people, facilities, faults, the clock, reset and snapshots, the
//! journal. Every action on the page is a call of the AdminService the admin listener serves
//! (`service::admin::Admin`), made in process; the page holds no logic of its own beyond reading
//! forms and showing answers. Pages are HTML rendered here (askama templates under
//! `server/templates/admin/`), one stylesheet, no JavaScript.

mod call;
mod clock;
mod facilities;
mod faults;
mod forms;
mod guard;
mod index;
mod journal;
mod page;
mod people;
mod snapshots;

use std::future::Future;
use std::net::SocketAddr;

use axum::Router;
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use metrics_exporter_prometheus::PrometheusHandle;
use tokio::net::TcpListener;

use crate::app::App;
use crate::service::admin::Admin;

/// The stylesheet of every page, compiled in.
const STYLE: &str = include_str!("../../templates/admin/style.css");

#[derive(Debug, thiserror::Error)]
pub enum WebError {
    #[error("the metrics and admin page listener takes loopback addresses only; {0} is not one")]
    NotLoopback(SocketAddr),
    #[error("metrics and admin page listener on {0}: {1}")]
    Io(SocketAddr, std::io::Error),
}

/// What every handler gets: the admin service (the same the admin listener mounts) and the
/// recorder's handle.
#[derive(Clone)]
pub(crate) struct Web {
    admin: Admin,
    metrics: PrometheusHandle,
}

impl Web {
    fn app(&self) -> &App {
        &self.admin.0
    }
}

/// Binds `addr`, refusing any address that is not loopback.
pub async fn bind(addr: SocketAddr) -> Result<TcpListener, WebError> {
    if !addr.ip().is_loopback() {
        return Err(WebError::NotLoopback(addr));
    }
    TcpListener::bind(addr).await.map_err(|e| WebError::Io(addr, e))
}

/// The routes: `/metrics` and `/style.css` always; the admin pages when `pages` (the server
/// serves its admin API in plaintext on loopback: the page is no less guarded than that API);
/// otherwise every other path says why there is no page.
pub fn router(app: App, metrics: PrometheusHandle, pages: bool) -> Router {
    let web = Web { admin: Admin(app), metrics };
    let always = Router::new().route("/metrics", get(metrics_text)).route("/style.css", get(style));
    let routes = if pages {
        always.merge(
            Router::new()
                .merge(index::routes())
                .merge(people::routes())
                .merge(facilities::routes())
                .merge(faults::routes())
                .merge(clock::routes())
                .merge(snapshots::routes())
                .merge(journal::routes())
                .fallback(page::not_found)
                .layer(axum::middleware::from_fn(guard::same_origin)),
        )
    } else {
        always.fallback(pages_off)
    };
    routes.with_state(web)
}

/// Serves `router` on `listener` (a loopback address) until `shutdown`.
pub async fn serve(
    listener: TcpListener,
    app: App,
    metrics: PrometheusHandle,
    pages: bool,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> Result<(), WebError> {
    let addr = listener.local_addr().map_err(|e| WebError::Io(SocketAddr::from(([0, 0, 0, 0], 0)), e))?;
    if !addr.ip().is_loopback() {
        return Err(WebError::NotLoopback(addr));
    }
    axum::serve(listener, router(app, metrics, pages))
        .with_graceful_shutdown(shutdown)
        .await
        .map_err(|e| WebError::Io(addr, e))
}

async fn metrics_text(axum::extract::State(web): axum::extract::State<Web>) -> Response {
    ([(header::CONTENT_TYPE, "text/plain; version=0.0.4; charset=utf-8")], web.metrics.render()).into_response()
}

async fn style() -> Response {
    ([(header::CONTENT_TYPE, "text/css; charset=utf-8"), (header::CACHE_CONTROL, "max-age=300")], STYLE).into_response()
}

async fn pages_off() -> Response {
    (
        StatusCode::NOT_FOUND,
        [(header::CONTENT_TYPE, "text/plain; charset=utf-8")],
        "Only /metrics is served here: the admin page comes with the admin API in plaintext on loopback \
         ([admin] mode = \"plaintext\"), and this server's admin API is off or takes the admin certificate.\n",
    )
        .into_response()
}
