//! One run from start to report: check the target, connect, build the pools, start the pacer
//! and the workers, warm up, measure until the deadline or the count, then merge the workers'
//! histograms into the summary.

use std::collections::BTreeMap;
use std::io::IsTerminal;
use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::{Duration, Instant};

use http::header::HeaderValue;

use crate::cli::Args;
use crate::pacer::{self, Plan};
use crate::report::{self, Latency, Summary};
use crate::worker::{self, Context, Histograms, Shared, WorkerResult};
use crate::workload::{self, Workload};
use crate::{AnyError, connections, h2client, pools};

pub async fn run(args: Args) -> Result<(), AnyError> {
    let host = args.target.rsplit_once(':').map_or(args.target.as_str(), |(h, _)| h);
    let loopback = matches!(host, "localhost" | "127.0.0.1" | "[::1]" | "::1") || host.starts_with("127.");
    if !loopback && !args.allow_remote {
        return Err(format!("{} is not a loopback address; pass --allow-remote to load it", args.target).into());
    }
    if args.duration <= 0.0 && args.total == 0 {
        return Err("give a --duration or a -n count: runs are bounded".into());
    }
    let mix = workload::parse_mix(&args.mix)?;
    let concurrency = args.concurrency.max(1);
    let stream_workers = workload::stream_workers(&mix, concurrency)?;
    let unary_mix: Vec<(Workload, u32)> = mix.iter().copied().filter(|(w, _)| *w != Workload::Stream).collect();

    let mut meta = tonic::metadata::MetadataMap::new();
    let mut headers: Vec<(&str, &[u8])> = Vec::new();
    if let Some(f) = &args.facility {
        HeaderValue::from_str(f).map_err(|_| "--facility is not a header value")?;
        meta.insert("x-onshi-facility", f.parse().map_err(|_| "--facility is not a header value")?);
        headers.push(("x-onshi-facility", f.as_bytes()));
    }
    let target = connections::h2_target(&args)?;
    let conns = connections::open(&args, &target, stream_workers < concurrency, stream_workers > 0).await?;
    let routes = connections::routes(&target, &headers);
    let setup = match conns.h2.first() {
        Some(c) => c.clone(),
        None => h2client::connect(&target).await?,
    };
    let pools = Arc::new(pools::build(&args, &mix, &setup, &routes[&Workload::Card]).await?);
    drop(setup);
    let shared = Arc::new(Shared::new());
    let warmup = Duration::from_secs_f64(args.warmup.max(0.0));
    let plan = Arc::new(Plan::new(args.total, args.rps, warmup));
    let pacer = args.rps.map(|rps| pacer::spawn(shared.clone(), plan.clone(), rps));

    let ctx = Arc::new(Context {
        routes,
        mix: unary_mix,
        pools: pools.clone(),
        shared: shared.clone(),
        plan: plan.clone(),
        bulk_size: args.bulk_size,
    });
    let hists: Vec<_> = (0..args.connections.max(1)).map(|_| Histograms::shared()).collect();
    let mut workers: Vec<tokio::task::JoinHandle<WorkerResult>> = Vec::new();
    for id in 0..concurrency {
        if id < stream_workers {
            let channel = conns.channels[id % conns.channels.len()].clone();
            let (pools, shared) = (pools.clone(), shared.clone());
            workers.push(tokio::spawn(worker::stream(
                id,
                channel,
                meta.clone(),
                pools,
                shared,
                args.batch.max(1),
                hists[id % hists.len()].clone(),
            )));
        } else {
            let send = conns.h2[id % conns.h2.len()].clone();
            workers.push(tokio::spawn(worker::unary(id, send, ctx.clone(), hists[id % hists.len()].clone())));
        }
    }
    drop(conns);

    tokio::time::sleep(warmup).await;
    let client_cpu0 = report::cpu_seconds(None);
    let server_cpu0 = args.server_pid.and_then(|p| report::cpu_seconds(Some(p)));
    shared.measuring.store(true, Ordering::Relaxed);
    let started = Instant::now();
    let deadline = (args.duration > 0.0).then(|| started + Duration::from_secs_f64(args.duration));
    let progress = !args.quiet && std::io::stderr().is_terminal();
    let mut last_print = Instant::now();
    let mut by_count = false;
    loop {
        tokio::time::sleep(Duration::from_millis(100)).await;
        if deadline.is_some_and(|d| Instant::now() >= d) {
            break;
        }
        if workers.iter().all(|w| w.is_finished()) {
            // Every worker gave up (lost connections): nothing more will be measured.
            break;
        }
        let slots_taken = plan.rps.is_some() && shared.next_slot.load(Ordering::Relaxed) >= plan.total;
        let counted = plan.rps.is_none() && shared.done.load(Ordering::Relaxed) >= plan.total;
        if shared.stop.load(Ordering::Relaxed) || (plan.total > 0 && (slots_taken || counted)) {
            by_count = true;
            break;
        }
        if progress && last_print.elapsed() >= Duration::from_secs(1) {
            last_print = Instant::now();
            let secs = started.elapsed().as_secs_f64();
            let done = shared.done.load(Ordering::Relaxed);
            eprint!(
                "\r{secs:6.1} s  {done:>10} req  {:>9.0} req/s  errors {}   ",
                done as f64 / secs,
                shared.errors.load(Ordering::Relaxed)
            );
        }
    }
    // A run bounded by -n ends when the requests it counted have been answered; a timed run ends
    // at its deadline, and answers after it are not counted.
    let mut results = Vec::new();
    if by_count {
        shared.stop.store(true, Ordering::Relaxed);
        // Wakes open-loop workers waiting for a slot (every slot is taken by now).
        shared.due.close();
        results = worker::join(workers).await;
        workers = Vec::new();
    }
    shared.measuring.store(false, Ordering::Relaxed);
    shared.ended.store(true, Ordering::Relaxed);
    let elapsed = started.elapsed().as_secs_f64();
    let client_cpu = report::cpu_seconds(None).zip(client_cpu0).map(|(b, a)| b - a);
    let server_cpu = args.server_pid.and_then(|p| report::cpu_seconds(Some(p))).zip(server_cpu0).map(|(b, a)| b - a);
    shared.stop.store(true, Ordering::Relaxed);
    shared.due.close();
    if progress {
        eprintln!();
    }
    results.extend(worker::join(workers).await);
    // The pacing thread ends within a sleep (5 ms at most) of the stop.
    let pacer = pacer.and_then(|p| p.join().ok());

    let mut hist = worker::histogram();
    let mut late = worker::histogram();
    let mut from_send = worker::histogram();
    let mut errors_by_code = BTreeMap::new();
    let mut by_workload = BTreeMap::new();
    for h in &hists {
        let h = worker::lock(h);
        hist.add(&h.latency)?;
        late.add(&h.late)?;
        from_send.add(&h.from_send)?;
    }
    for r in results {
        for (k, v) in r.errors {
            *errors_by_code.entry(k).or_default() += v;
        }
        for (k, v) in r.by_workload {
            *by_workload.entry(k).or_default() += v;
        }
    }
    let requests: u64 = by_workload.values().sum();
    let errors: u64 = errors_by_code.values().sum();
    let per_request = |cpu: f64| if requests == 0 { 0.0 } else { cpu * 1e6 / requests as f64 };
    let summary = Summary {
        requests,
        errors,
        errors_by_code,
        not_sent: shared.not_sent.load(Ordering::Relaxed),
        duration_s: elapsed,
        rps: requests as f64 / elapsed.max(1e-9),
        mode: if args.rps.is_some() { "open" } else { "closed" }.to_owned(),
        offered_rps: args.rps,
        latency_us: Latency::of(&hist),
        send_lateness_us: args.rps.map(|_| Latency::of(&late)),
        from_send_us: args.rps.map(|_| Latency::of(&from_send)),
        pacer_releases: pacer.as_ref().map(|p| p.releases),
        pacer_lateness_us: pacer.as_ref().map(|p| Latency::of(&p.late)),
        by_workload,
        client_cpu_us_per_request: per_request(client_cpu.unwrap_or(0.0)),
        server_cpu_us_per_request: server_cpu.map(per_request),
    };
    summary.print_table();
    if let Some(path) = &args.histogram_out {
        let mut columns = vec![("latency_us", &hist)];
        if args.rps.is_some() {
            columns.extend([("send_lateness_us", &late), ("from_send_us", &from_send)]);
        }
        report::write_percentiles(path, &columns)?;
    }
    if let Some(path) = &args.json {
        std::fs::write(path, serde_json::to_string_pretty(&summary)?)?;
    }
    if requests == 0 && errors > 0 {
        return Err("every request failed".into());
    }
    Ok(())
}
