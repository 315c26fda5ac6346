//! The command line: every option of `onshi-loadgen`, parsed by clap.

use crate::requests::KeyDistribution;

#[derive(clap::Parser, Debug, Clone)]
#[command(name = "onshi-loadgen", version, about = "Load generator for onshi (onshi.v1 over gRPC)")]
pub struct Args {
    /// HOST:PORT of the server; a loopback address unless --allow-remote.
    #[arg(long, default_value = "127.0.0.1:50051")]
    pub target: String,
    /// Allow a target that is not a loopback address.
    #[arg(long)]
    pub allow_remote: bool,
    /// CA certificate (PEM) for mutual TLS.
    #[arg(long)]
    pub cacert: Option<std::path::PathBuf>,
    /// Client certificate (PEM) naming the facility.
    #[arg(long)]
    pub cert: Option<std::path::PathBuf>,
    #[arg(long)]
    pub key: Option<std::path::PathBuf>,
    /// Talk plaintext to a server started with --plaintext.
    #[arg(long)]
    pub plaintext: bool,
    /// The facility to name in plaintext mode (x-onshi-facility).
    #[arg(long)]
    pub facility: Option<String>,
    /// TLS server name to verify.
    #[arg(long, default_value = "localhost")]
    pub server_name: String,
    /// Workload weights, e.g. "card=8,insured=1,miss=1" (names: health, card, insured, miss,
    /// medication, checkup, stream, bulk).
    #[arg(long, default_value = "card=1")]
    pub mix: String,
    /// HTTP/2 connections to open.
    #[arg(long, default_value_t = 4)]
    pub connections: usize,
    /// Scheduler threads of the generator (1: a single-threaded runtime).
    #[arg(long, default_value_t = 1)]
    pub threads: usize,
    /// Requests in flight in total (closed loop), or the most in flight (open loop).
    #[arg(short = 'c', long, default_value_t = 64)]
    pub concurrency: usize,
    /// Seconds to measure (0: until -n is reached).
    #[arg(short = 'z', long, default_value_t = 10.0)]
    pub duration: f64,
    /// Seconds of warm-up before measuring.
    #[arg(long, default_value_t = 2.0)]
    pub warmup: f64,
    /// Stop after this many measured requests (0: no limit).
    #[arg(short = 'n', long, default_value_t = 0)]
    pub total: u64,
    /// Open loop: offer this many requests per second.
    #[arg(long)]
    pub rps: Option<f64>,
    /// Confirmations in flight per stream (stream workload).
    #[arg(long, default_value_t = 64)]
    pub batch: usize,
    /// Search infos per upload (bulk workload).
    #[arg(long, default_value_t = 1000)]
    pub bulk_size: usize,
    /// Population seed and size the server was seeded with.
    #[arg(long, default_value_t = 1)]
    pub seed: u64,
    #[arg(long, default_value_t = 100_000)]
    pub persons: u64,
    /// How keys are drawn.
    #[arg(long, value_enum, default_value = "uniform")]
    pub keys: KeyDistribution,
    /// Pre-encoded requests per workload.
    #[arg(long, default_value_t = 20_000)]
    pub pool: usize,
    /// Draws keys from another stream of the same distribution (0: the default stream), so that
    /// a warm-up run and a measured run do not send the same requests.
    #[arg(long, default_value_t = 0)]
    pub key_salt: u64,
    /// Also report this server process's CPU time per request.
    #[arg(long)]
    pub server_pid: Option<u32>,
    /// Write the summary as JSON to this file.
    #[arg(long)]
    pub json: Option<std::path::PathBuf>,
    /// Write the latency histogram to this file as CSV: percentile, latency in µs (and, in open
    /// loop, how late requests were sent), from 0 to 99.999 % and the maximum
    /// (`loadgen/scripts/plot-histogram.py` draws it).
    #[arg(long)]
    pub histogram_out: Option<std::path::PathBuf>,
    /// No live progress line.
    #[arg(long)]
    pub quiet: bool,
}
