//! onshi-terminal: the facility's qualification-confirmation terminal (資格確認端末).
//!
//! EHR and receipt software talks to the real terminal through a shared folder: XML requests
//! into `req/`, answers out of `res/`, card-reader results unasked into `face/` (TERMINAL.md).
//! This crate is that terminal. It is a gRPC client of onshi exactly as the real terminal is a
//! client of the national system — mutual TLS with one facility's certificate — and depends on
//! the proto and domain crates only, never on the server.
//!
//! - [`exchange`]: watching `req/`, taking complete files, answering, `.err` files, recovery.
//! - [`ops`]: one module per request kind (the call and the answer's layout).
//! - [`layout`], [`xml_in`], [`xml_out`]: element names, reading (UTF-8 / Shift_JIS by the
//!   declaration), writing (in the terminal's encoding).
//! - [`tap`]: the face-authentication card reader; [`pdf`]: PDF answers; [`patients`]: the
//!   birthdates the medical requests lack.
//!
//! The library's entry is [`run`], so tests start a terminal in process on a temp folder.

pub mod connect;
pub mod error_codes;
pub mod exchange;
pub mod files;
pub mod layout;
pub mod ops;
pub mod patients;
pub mod pdf;
pub mod screen;
pub mod stats;
pub mod tap;
pub mod xml_in;
pub mod xml_out;

use std::future::Future;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use thiserror::Error;

pub use connect::TlsFiles;
pub use exchange::Folders;
pub use xml_in::TextEncoding;

/// How a terminal is set up.
#[derive(Debug, Clone)]
pub struct Config {
    /// The root holding req/, res/, face/ (and the terminal's work/ and state/).
    pub dir: PathBuf,
    /// The server, HOST:PORT.
    pub target: String,
    pub tls: TlsFiles,
    /// The name the server certificate is checked for.
    pub server_name: String,
    /// The encoding answers and face files are written in.
    pub encoding: TextEncoding,
    /// Files handled at once.
    pub concurrency: usize,
    /// How often `req/` is listed in case an event was missed.
    pub rescan: Duration,
    /// Whether the terminal keeps the journal its screen shows.
    pub screen: bool,
}

impl Config {
    pub fn new(dir: PathBuf, target: String, tls: TlsFiles) -> Config {
        Config {
            dir,
            target,
            tls,
            server_name: "localhost".into(),
            encoding: TextEncoding::ShiftJis,
            concurrency: 64,
            rescan: Duration::from_secs(1),
            screen: false,
        }
    }
}

#[derive(Debug, Error)]
pub enum Error {
    #[error(transparent)]
    Connect(#[from] connect::ConnectError),
    #[error("{path}: {source}")]
    Folder { path: PathBuf, source: std::io::Error },
}

/// The shared state of a terminal: the connection, the facility, the patient book, the font.
pub fn context(config: &Config) -> Result<(Folders, Arc<ops::Context>), Error> {
    let folders = Folders::under(&config.dir);
    folders.create().map_err(|source| Error::Folder { path: config.dir.clone(), source })?;
    let facility = connect::facility_of(&config.tls.cert)?;
    let channel = connect::channel(&config.target, &config.tls, &config.server_name)?;
    let ctx = ops::Context {
        channel,
        facility,
        encoding: config.encoding,
        patients: Arc::new(patients::PatientBook::open(folders.state.join("patients.tsv"))),
        state_dir: folders.state.clone(),
        font: pdf::PdfFont::find(),
        journal: config.screen.then(|| Arc::new(screen::journal::Journal::new(&folders.state))),
    };
    Ok((folders, Arc::new(ctx)))
}

/// Serves the folder exchange until `shutdown` completes.
pub async fn run(config: Config, stats: Arc<stats::Stats>, shutdown: impl Future<Output = ()>) -> Result<(), Error> {
    let (folders, ctx) = context(&config)?;
    serve_exchange(&config, folders, ctx, stats, shutdown).await
}

/// Serves the folder exchange and the screen on `listener` until `shutdown` completes.
pub async fn run_with_screen(
    mut config: Config,
    listener: tokio::net::TcpListener,
    population: Option<screen::search::PopulationRef>,
    stats: Arc<stats::Stats>,
    shutdown: impl Future<Output = ()>,
) -> Result<(), Error> {
    config.screen = true;
    let (folders, ctx) = context(&config)?;
    let journal = ctx.journal.clone().unwrap_or_else(|| Arc::new(screen::journal::Journal::new(&folders.state)));
    let view = Arc::new(screen::Screen { ctx: ctx.clone(), folders: folders.clone(), journal, population });
    let (stop_tx, stop_rx) = tokio::sync::oneshot::channel::<()>();
    let http = tokio::spawn(screen::serve(listener, view, async move {
        let _ = stop_rx.await;
    }));
    let served = serve_exchange(&config, folders, ctx, stats, shutdown).await;
    let _ = stop_tx.send(());
    // Open event streams would hold the graceful shutdown: give it a moment, then go.
    let _ = tokio::time::timeout(Duration::from_secs(2), http).await;
    served
}

async fn serve_exchange(
    config: &Config,
    folders: Folders,
    ctx: Arc<ops::Context>,
    stats: Arc<stats::Stats>,
    shutdown: impl Future<Output = ()>,
) -> Result<(), Error> {
    if ctx.font.is_none() {
        tracing::warn!(
            "no Japanese font found: PDF requests will be refused (install fonts-ipafont-gothic or set ONSHI_PDF_FONT)"
        );
    }
    let root = folders.root.clone();
    exchange::serve(folders, ctx, stats, config.concurrency, config.rescan, shutdown)
        .await
        .map_err(|source| Error::Folder { path: root, source })
}
