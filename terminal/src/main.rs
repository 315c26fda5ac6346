//! `onshi-terminal`: the facility terminal's folder exchange (`run`) and its card reader (`tap`).

use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Arc;
use std::time::Duration;

use clap::{Args, Parser, Subcommand};
use onshi_terminal::tap::{self, Verify};
use onshi_terminal::{Config, TextEncoding, TlsFiles, stats::Stats};

#[derive(Parser)]
#[command(
    name = "onshi-terminal",
    version,
    about = "The facility's qualification-confirmation terminal: req/res/face folders over mTLS to onshi"
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Args, Clone)]
struct Connection {
    /// The terminal's root folder (req/, res/, face/ are created in it).
    #[arg(long)]
    dir: PathBuf,
    /// The onshi server, HOST:PORT.
    #[arg(long, default_value = "127.0.0.1:50051")]
    target: String,
    /// The CA that signed the server's certificate.
    #[arg(long)]
    cacert: PathBuf,
    /// The facility's certificate (its subject CN is the 医療機関コード) and key.
    #[arg(long)]
    cert: PathBuf,
    #[arg(long)]
    key: PathBuf,
    /// The name the server's certificate must carry.
    #[arg(long, default_value = "localhost")]
    server_name: String,
    /// The encoding of answers and face files: shift_jis (as most terminals) or utf-8.
    #[arg(long, default_value = "shift_jis", value_parser = parse_encoding)]
    encoding: TextEncoding,
}

fn parse_population(s: &str) -> Result<onshi_terminal::screen::search::PopulationRef, String> {
    let (seed, persons) = s.split_once(':').ok_or_else(|| format!("{s:?}: expected SEED:PERSONS, e.g. 1:100000"))?;
    let seed = seed.trim().parse().map_err(|_| format!("{seed:?}: the seed is a number"))?;
    let persons = persons.trim().parse().map_err(|_| format!("{persons:?}: the person count is a number"))?;
    Ok(onshi_terminal::screen::search::PopulationRef { seed, persons })
}

fn parse_encoding(s: &str) -> Result<TextEncoding, String> {
    TextEncoding::from_label(s).ok_or_else(|| format!("{s:?}: expected shift_jis or utf-8"))
}

#[derive(Subcommand)]
enum Command {
    /// Serve the folder exchange: answer every request dropped into DIR/req.
    Run {
        #[command(flatten)]
        connection: Connection,
        /// Files handled at once.
        #[arg(long, default_value_t = 64)]
        concurrency: usize,
        /// Milliseconds between rescans of req/ (the fallback for missed events).
        #[arg(long, default_value_t = 1000)]
        rescan_ms: u64,
        /// Serve Prometheus metrics (files by operation and outcome) on this loopback address.
        #[arg(long)]
        metrics: Option<std::net::SocketAddr>,
        /// Serve the terminal's screen (card reader, results, medical information, bulk jobs,
        /// fees) in a browser on this loopback address, e.g. 127.0.0.1:8080.
        #[arg(long)]
        http: Option<std::net::SocketAddr>,
        /// The population the server was seeded with, SEED:PERSONS, so the card reader page can
        /// find population people by name, kana, insured numbers or card serial.
        #[arg(long, value_parser = parse_population)]
        population: Option<onshi_terminal::screen::search::PopulationRef>,
    },
    /// Put a My Number card on the reader: confirm it and write the face file.
    Tap {
        #[command(flatten)]
        connection: Connection,
        /// The card's 利用者証明用電子証明書 serial (hexadecimal).
        #[arg(long)]
        serial: String,
        /// How the patient was verified.
        #[arg(long, value_enum, default_value = "face")]
        verify: Verify,
        /// What the patient consented to share, comma separated:
        /// medication, checkup, diagnosis, operation, limit, diseases.
        #[arg(long, value_delimiter = ',')]
        consent: Vec<String>,
    },
}

impl Connection {
    fn config(&self) -> Config {
        let tls = TlsFiles { cacert: self.cacert.clone(), cert: self.cert.clone(), key: self.key.clone() };
        let mut c = Config::new(self.dir.clone(), self.target.clone(), tls);
        c.server_name = self.server_name.clone();
        c.encoding = self.encoding;
        c
    }
}

async fn stop_signal() {
    let ctrl_c = tokio::signal::ctrl_c();
    #[cfg(unix)]
    {
        let mut term = match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(t) => t,
            Err(_) => {
                let _ = ctrl_c.await;
                return;
            }
        };
        tokio::select! {
            _ = ctrl_c => {}
            _ = term.recv() => {}
        }
    }
    #[cfg(not(unix))]
    let _ = ctrl_c.await;
}

fn main() -> ExitCode {
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env()
                .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info")),
        )
        .with_writer(std::io::stderr)
        .init();
    let cli = Cli::parse();
    let runtime = match tokio::runtime::Builder::new_multi_thread().enable_all().build() {
        Ok(r) => r,
        Err(e) => {
            eprintln!("onshi-terminal: {e}");
            return ExitCode::FAILURE;
        }
    };
    let result: Result<(), String> = runtime.block_on(async move {
        match cli.command {
            Command::Run { connection, concurrency, rescan_ms, metrics, http, population } => {
                if let Some(listen) = metrics {
                    onshi_terminal::stats::serve_metrics(listen)?;
                    eprintln!("onshi-terminal: metrics on http://{listen}/metrics");
                }
                let mut config = connection.config();
                config.concurrency = concurrency;
                config.rescan = Duration::from_millis(rescan_ms.max(10));
                let stats = Arc::new(Stats::default());
                eprintln!(
                    "onshi-terminal: serving {} (req/ → res/, face/) for the server at {}",
                    config.dir.display(),
                    config.target
                );
                match http {
                    Some(addr) => {
                        let listener = onshi_terminal::screen::bind(addr).await.map_err(|e| e.to_string())?;
                        let addr = listener.local_addr().map_err(|e| e.to_string())?;
                        eprintln!("onshi-terminal: screen on http://{addr}/");
                        onshi_terminal::run_with_screen(config, listener, population, stats.clone(), stop_signal())
                            .await
                            .map_err(|e| e.to_string())?;
                    }
                    None => {
                        onshi_terminal::run(config, stats.clone(), stop_signal()).await.map_err(|e| e.to_string())?
                    }
                }
                eprintln!("onshi-terminal: stopped after {} files", stats.total());
                Ok(())
            }
            Command::Tap { connection, serial, verify, consent } => {
                let config = connection.config();
                let request = tap::request(&serial, verify, &consent).map_err(|e| e.to_string())?;
                let (folders, ctx) = onshi_terminal::context(&config).map_err(|e| e.to_string())?;
                let tapped = tap::tap(&ctx, &folders, request).await.map_err(|e| e.to_string())?;
                let body = tapped.response.message_body.unwrap_or_default();
                let name = body.result_list.first().map(|r| r.name.as_str()).unwrap_or("");
                println!("{}", tapped.face_file.display());
                eprintln!(
                    "QualificationValidity {} {}{}",
                    if body.qualification_validity.is_empty() { "-" } else { &body.qualification_validity },
                    name,
                    if body.processing_result_code.is_empty() {
                        String::new()
                    } else {
                        format!(
                            " (ProcessingResultCode {}: {})",
                            body.processing_result_code, body.processing_result_message
                        )
                    }
                );
                Ok(())
            }
        }
    });
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("onshi-terminal: {e}");
            ExitCode::FAILURE
        }
    }
}
