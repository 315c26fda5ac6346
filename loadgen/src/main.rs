//! onshi-loadgen: rehearses national qualification-check traffic against onshi (or anything that
//! speaks onshi.v1) and reports numbers people can trust.
//!
//! Requests are pre-encoded from the same deterministic population the server seeded; unary calls
//! go out on bare HTTP/2 connections ([`h2client`]) and streams through tonic with a codec that
//! does not decode answers, so the generator's own cost per request stays small.
//! Closed loop (`--concurrency` requests in flight) finds the peak; open loop (`--rps`) offers a
//! fixed rate and measures latency from each request's intended send time, so a slow server
//! cannot hide its queueing (no coordinated omission).
//!
//! `main` only builds the runtime; [`run`] is one run from start to report.

mod cli;
mod connections;
mod h2client;
mod hpack;
mod huffman;
mod pacer;
mod pools;
mod raw;
mod report;
mod requests;
mod run;
mod worker;
mod workload;

use clap::Parser;

#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

type AnyError = Box<dyn std::error::Error + Send + Sync>;

fn main() -> std::process::ExitCode {
    let args = cli::Args::parse();
    // One thread by default, like h2load: on a machine shared with the server, a second
    // scheduler thread mostly adds cross-thread wake-ups, not throughput.
    let runtime = match args.threads {
        0 | 1 => tokio::runtime::Builder::new_current_thread().enable_all().build(),
        n => tokio::runtime::Builder::new_multi_thread().worker_threads(n).enable_all().build(),
    };
    let outcome = match runtime {
        Ok(rt) => rt.block_on(run::run(args)),
        Err(e) => Err(e.into()),
    };
    match outcome {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("onshi-loadgen: {e}");
            std::process::ExitCode::FAILURE
        }
    }
}
