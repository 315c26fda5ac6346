//! One way to start a server: [`start`] turns a configuration into listening, serving tasks —
//! the facility API, the admin API (unless off), `/metrics` and the admin page (when
//! `[metrics] listen` is set) — and seeds the store in the background (the facility API answers
//! UNAVAILABLE until then). [`Running::stop`] completes when everything is closed, the store
//! included, so the same process can open the store again at once. `onshi-server serve` and
//! `demo`, the integration tests, the benchmarks and the load generator's smoke test all start
//! servers through here.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use thiserror::Error;
use tokio::net::TcpListener;
use tokio::sync::watch;
use tokio::task::JoinHandle;

use crate::app::App;
use crate::boot::{self, BootError};
use crate::clock::Clock;
use crate::config::{AdminMode, Config};
use crate::metrics::MetricsError;
use crate::server::RunError;
use crate::web::WebError;
use onshi_store::seed::SeedReport;

#[derive(Debug, Error)]
pub enum StartError {
    #[error(transparent)]
    Boot(#[from] BootError),
    #[error("cannot listen on {0}: {1}")]
    Listen(SocketAddr, std::io::Error),
    #[error(transparent)]
    Web(#[from] WebError),
    #[error(transparent)]
    Metrics(#[from] MetricsError),
    #[error(transparent)]
    Run(#[from] RunError),
    #[error("a server task panicked: {0}")]
    Panicked(#[from] tokio::task::JoinError),
    #[error("the stopped server still holds its store after 10 s")]
    StoreStillOpen,
}

/// A started server.
pub struct Running {
    /// The facility API's address (the port chosen when the configuration said 0).
    pub addr: SocketAddr,
    /// The admin API's, unless `[admin] mode = "off"`.
    pub admin_addr: Option<SocketAddr>,
    /// `/metrics` and, when the admin API is plaintext, the admin page.
    pub web_addr: Option<SocketAddr>,
    pub app: App,
    /// The server's TLS configuration (`None` in plaintext mode), for listeners a test adds.
    pub tls: Option<Arc<rustls::ServerConfig>>,
    stop: watch::Sender<bool>,
    facility: JoinHandle<Result<(), RunError>>,
    admin: Option<JoinHandle<Result<(), RunError>>>,
    web: Option<JoinHandle<Result<(), WebError>>>,
    gauges: Option<JoinHandle<()>>,
    seeding: Option<JoinHandle<Result<SeedReport, BootError>>>,
}

/// How [`Running::stop`] ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Stopped {
    /// Everything is closed, the store included.
    Closed,
    /// Seeding was still running: it is abandoned (ingestion is atomic and the population record
    /// is written last, so the next start seeds again), and the store stays open until the
    /// process exits.
    WhileSeeding,
}

async fn bind(addr: SocketAddr) -> Result<TcpListener, StartError> {
    TcpListener::bind(addr).await.map_err(|e| StartError::Listen(addr, e))
}

/// Starts what `config` describes. `progress` hears the persons seeded so far.
pub async fn start(
    config: &Config,
    clock: Arc<Clock>,
    progress: impl FnMut(u64) + Send + 'static,
) -> Result<Running, StartError> {
    let (app, tls) = boot::prepare(config, clock)?;
    // `/metrics` and the admin page share the metrics listener (loopback only).
    let web_listener = match config.metrics.listen {
        Some(listen) => Some(crate::web::bind(listen).await?),
        None => None,
    };
    let web_addr = web_listener.as_ref().and_then(|l| l.local_addr().ok());
    let listener = bind(config.listen).await?;
    let addr = listener.local_addr().map_err(|e| StartError::Listen(config.listen, e))?;
    let admin_listener = match config.admin.mode {
        AdminMode::Off => None,
        _ => Some(bind(config.admin.listen).await?),
    };
    let admin_addr = admin_listener.as_ref().and_then(|l| l.local_addr().ok());
    let admin_tls = if config.admin.mode == AdminMode::Mtls { tls.clone() } else { None };

    let (stop, stopped) = watch::channel(false);
    let until_stopped = |mut rx: watch::Receiver<bool>| async move {
        let _ = rx.wait_for(|s| *s).await;
    };
    let (gauges, web) = match web_listener {
        Some(web_listener) => {
            let handle = crate::metrics::install()?;
            // The page acts with the admin API's authority: only where that API is plaintext on
            // loopback (the page's own guard keeps other sites' forms out).
            let pages = config.admin.mode == AdminMode::Plaintext;
            if let Some(a) = web_addr {
                tracing::info!("metrics on http://{a}/metrics");
                if pages {
                    tracing::info!("admin page on http://{a}/");
                }
            }
            let gauges = crate::metrics::spawn_gauges(app.clone(), handle.clone());
            let web = crate::web::serve(web_listener, app.clone(), handle, pages, until_stopped(stopped.clone()));
            (Some(gauges), Some(tokio::spawn(web)))
        }
        None => (None, None),
    };
    let facility = tokio::spawn(crate::server::run(listener, app.clone(), tls.clone(), until_stopped(stopped.clone())));
    let admin = admin_listener
        .map(|l| tokio::spawn(crate::server::run_admin(l, app.clone(), admin_tls, until_stopped(stopped.clone()))));
    let (seeding_app, seeding_config) = (app.clone(), config.clone());
    let seeding = tokio::task::spawn_blocking(move || boot::seed_and_open(&seeding_app, &seeding_config, progress));
    Ok(Running { addr, admin_addr, web_addr, app, tls, stop, facility, admin, web, gauges, seeding: Some(seeding) })
}

impl Running {
    /// Waits until the store is seeded and the facility API serves; what seeding did (`None`
    /// when it was waited for before).
    /// Cancel-safe: dropped before seeding ends, the seeding is still this server's to stop.
    pub async fn seeded(&mut self) -> Result<Option<SeedReport>, StartError> {
        let Some(task) = self.seeding.as_mut() else { return Ok(None) };
        let result = task.await;
        self.seeding = None;
        Ok(Some(result??))
    }

    /// Whether seeding is over (successfully or not).
    pub fn seeding_done(&self) -> bool {
        self.seeding.as_ref().is_none_or(JoinHandle::is_finished)
    }

    /// Stops every listener and lets the calls in flight finish, without waiting for other
    /// holders of the app (a test's extra listener, say) to let go of the store.
    pub async fn stop_serving(mut self) -> Result<Stopped, StartError> {
        self.stop_tasks().await
    }

    async fn stop_tasks(&mut self) -> Result<Stopped, StartError> {
        let _ = self.stop.send(true);
        if let Some(gauges) = self.gauges.take() {
            gauges.abort();
            let _ = gauges.await;
        }
        if let Some(mut web) = self.web.take() {
            // A browser may hold a connection open; the page does not hold up the stop for long.
            match tokio::time::timeout(Duration::from_secs(3), &mut web).await {
                Ok(served) => served??,
                Err(_) => web.abort(),
            }
        }
        (&mut self.facility).await??;
        if let Some(admin) = self.admin.take() {
            admin.await??;
        }
        let seeding = self.seeding.take();
        if seeding.as_ref().is_some_and(|s| !s.is_finished()) {
            return Ok(Stopped::WhileSeeding);
        }
        if let Some(task) = seeding
            && let Err(e) = task.await?
        {
            tracing::error!("seeding had failed: {e}");
        }
        Ok(Stopped::Closed)
    }

    /// Stops every listener, lets the calls in flight finish, and — unless seeding is still
    /// running — waits until the store is closed (no clone of the app is left anywhere).
    pub async fn stop(mut self) -> Result<Stopped, StartError> {
        if self.stop_tasks().await? == Stopped::WhileSeeding {
            return Ok(Stopped::WhileSeeding);
        }
        // Connection tasks hyper spawned may still be dropping their clones of the app on
        // another worker thread: wait (bounded) until the last one is gone.
        let handle = Arc::downgrade(&self.app.store);
        let store = Arc::downgrade(&self.app.store.get());
        drop(self);
        let deadline = std::time::Instant::now() + Duration::from_secs(10);
        while handle.strong_count() > 0 || store.strong_count() > 0 {
            if std::time::Instant::now() > deadline {
                return Err(StartError::StoreStillOpen);
            }
            tokio::time::sleep(Duration::from_millis(1)).await;
        }
        Ok(Stopped::Closed)
    }
}
