//! The final numbers: a table for people and JSON for scripts, from per-worker HdrHistograms
//! merged at the end.

use std::collections::BTreeMap;
use std::fmt::Write;
use std::path::Path;

use hdrhistogram::Histogram;
use serde::Serialize;

/// Latency percentiles in microseconds.
#[derive(Debug, Clone, Serialize)]
pub struct Latency {
    pub p50: u64,
    pub p90: u64,
    pub p99: u64,
    pub p999: u64,
    pub max: u64,
}

impl Latency {
    pub fn of(h: &Histogram<u64>) -> Latency {
        Latency {
            p50: h.value_at_quantile(0.5),
            p90: h.value_at_quantile(0.9),
            p99: h.value_at_quantile(0.99),
            p999: h.value_at_quantile(0.999),
            max: h.max(),
        }
    }
}

/// Everything a run measured.
#[derive(Debug, Clone, Serialize)]
pub struct Summary {
    /// Successful requests (for stream and bulk: confirmations).
    pub requests: u64,
    pub errors: u64,
    /// Errors by gRPC code name.
    pub errors_by_code: BTreeMap<String, u64>,
    /// Open loop only: requests that were due but not sent because the generator fell more than
    /// a second behind (the server could not keep up).
    pub not_sent: u64,
    pub duration_s: f64,
    pub rps: f64,
    /// "closed" or "open".
    pub mode: String,
    /// Open loop: the offered rate.
    pub offered_rps: Option<f64>,
    pub latency_us: Latency,
    /// Open loop: how late requests were queued for sending after their intended time (the
    /// generator's own share of `latency_us`).
    pub send_lateness_us: Option<Latency>,
    /// Open loop: latency from when each request was queued for sending.
    pub from_send_us: Option<Latency>,
    /// Open loop: how many times the pacing thread released slots (the rest were released by
    /// workers on the runtime thread), and how late the oldest slot of each release was.
    pub pacer_releases: Option<u64>,
    pub pacer_lateness_us: Option<Latency>,
    /// Requests per workload.
    pub by_workload: BTreeMap<String, u64>,
    /// CPU time of this load generator per request, microseconds.
    pub client_cpu_us_per_request: f64,
    /// CPU time of the server process (with --server-pid) per request, microseconds.
    pub server_cpu_us_per_request: Option<f64>,
}

impl Summary {
    pub fn print_table(&self) {
        println!("mode          {}", self.mode);
        if let Some(o) = self.offered_rps {
            println!("offered       {o:.0} req/s (not sent: {})", self.not_sent);
        }
        println!("requests      {}", self.requests);
        println!("duration      {:.2} s", self.duration_s);
        println!("throughput    {:.0} req/s", self.rps);
        let l = &self.latency_us;
        println!("latency (µs)  p50 {}  p90 {}  p99 {}  p99.9 {}  max {}", l.p50, l.p90, l.p99, l.p999, l.max);
        if let Some(l) = &self.send_lateness_us {
            println!(
                "late to send  p50 {}  p90 {}  p99 {}  p99.9 {}  max {} (µs after the intended time)",
                l.p50, l.p90, l.p99, l.p999, l.max
            );
        }
        if let Some(l) = &self.from_send_us {
            println!("from sending  p50 {}  p90 {}  p99 {}  p99.9 {}  max {}", l.p50, l.p90, l.p99, l.p999, l.max);
        }
        if let (Some(n), Some(l)) = (self.pacer_releases, &self.pacer_lateness_us) {
            println!("pacer thread  {n} releases, late p50 {}  p99 {}  max {} µs", l.p50, l.p99, l.max);
        }
        for (w, n) in &self.by_workload {
            println!("  {w:<12} {n}");
        }
        if self.errors == 0 {
            println!("errors        0");
        } else {
            println!("errors        {}", self.errors);
            for (code, n) in &self.errors_by_code {
                println!("  {code:<20} {n}");
            }
        }
        print!("cpu/request   client {:.1} µs", self.client_cpu_us_per_request);
        match self.server_cpu_us_per_request {
            Some(s) => println!(", server {s:.1} µs"),
            None => println!(),
        }
    }
}

/// The quantiles `--histogram-out` lists: 1 − 10^(−k/10) for k = 0..=50 (0 to 99.999 %), then 1.
fn quantiles() -> impl Iterator<Item = f64> {
    (0..=50).map(|k| 1.0 - 10f64.powf(-f64::from(k) / 10.0)).chain([1.0])
}

/// `--histogram-out`: a CSV of percentile → µs, one column per histogram (`columns`: name and
/// histogram, all in microseconds).
pub fn write_percentiles(path: &Path, columns: &[(&str, &Histogram<u64>)]) -> std::io::Result<()> {
    let mut out = String::from("percentile");
    for (name, _) in columns {
        let _ = write!(out, ",{name}");
    }
    out.push('\n');
    for q in quantiles() {
        let _ = write!(out, "{:.5}", q * 100.0);
        for (_, h) in columns {
            let _ = write!(out, ",{}", h.value_at_quantile(q));
        }
        out.push('\n');
    }
    std::fs::write(path, out)
}

/// CPU seconds (user + system) a process has used, from /proc.
pub fn cpu_seconds(pid: Option<u32>) -> Option<f64> {
    let path = match pid {
        Some(p) => format!("/proc/{p}/stat"),
        None => "/proc/self/stat".to_owned(),
    };
    let stat = std::fs::read_to_string(path).ok()?;
    // Fields after the command name, which is in parentheses and may contain spaces.
    let rest = &stat[stat.rfind(')')? + 2..];
    let fields: Vec<&str> = rest.split_whitespace().collect();
    let utime: f64 = fields.get(11)?.parse().ok()?;
    let stime: f64 = fields.get(12)?.parse().ok()?;
    Some((utime + stime) / 100.0)
}
