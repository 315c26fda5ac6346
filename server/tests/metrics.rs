//! The Prometheus endpoint of a real `onshi-server serve`: after a few calls it serves text that
//! a Prometheus parser reads, with the calls counted by method, code and facility kind, their
//! latency histogram, and the store's figures; the admin page is on the same listener; and the
//! log can be JSON.

mod common;

use std::io::{Read, Write};
use std::time::Duration;

use onshi_proto::v1::{CardReaderInfo, ConfirmByCardRequest};

use self::common::{client, demo_config_in, start};

/// The answer to GET `path`: head and body.
fn get(addr: std::net::SocketAddr, path: &str) -> (String, String) {
    let mut s = std::net::TcpStream::connect(addr).expect("connect to metrics");
    s.set_read_timeout(Some(Duration::from_secs(10))).expect("timeout");
    s.write_all(format!("GET {path} HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n").as_bytes())
        .expect("GET");
    let mut out = String::new();
    s.read_to_string(&mut out).expect("read");
    out.split_once("\r\n\r\n").map(|(head, body)| (head.to_owned(), body.to_owned())).unwrap_or_default()
}

fn scrape(addr: std::net::SocketAddr) -> String {
    get(addr, "/metrics").1
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn metrics_count_calls_and_parse_as_prometheus_text() {
    let dir = tempfile::tempdir().expect("temp dir");
    let (mut config, path) = demo_config_in(dir.path(), 300);
    let port = std::net::TcpListener::bind("127.0.0.1:0").expect("free port").local_addr().expect("addr");
    config.metrics.listen = Some(port);
    config.log_format = onshi_server::config::LogFormat::Json;
    std::fs::write(&path, toml::to_string(&config).expect("TOML")).expect("config");
    let (server, addr) = start(&path);
    let mut c = client(dir.path(), addr).await;
    let ask = |serial: &str| ConfirmByCardRequest {
        message_header: None,
        card_reader_info: Some(CardReaderInfo {
            certificate_serial_number: serial.into(),
            verification_method: "1".into(),
            ..Default::default()
        }),
    };
    for _ in 0..3 {
        c.confirm_by_card(ask("A0000000000000000001")).await.expect("answered");
    }
    assert!(c.confirm_by_card(ask("not hex")).await.is_err());

    // Gauges are refreshed every 5 s (the first time before seeding): wait, bounded, for the
    // seeded store's figures.
    let keys_of = |text: &str| {
        text.lines()
            .find_map(|l| l.strip_prefix("onshi_store_keys "))
            .and_then(|v| v.trim().parse::<f64>().ok())
            .unwrap_or(0.0)
    };
    let mut text = String::new();
    for _ in 0..150 {
        text = scrape(port);
        if keys_of(&text) > 300.0 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let scrape = prometheus_parse::Scrape::parse(text.lines().map(|l| Ok(l.to_owned()))).expect("Prometheus text");
    let count = |code: &str| -> f64 {
        scrape
            .samples
            .iter()
            .filter(|s| s.metric == "onshi_requests_total")
            .filter(|s| s.labels.get("method") == Some("/onshi.v1.QualificationService/ConfirmByCard"))
            .filter(|s| s.labels.get("code") == Some(code) && s.labels.get("facility_kind") == Some("clinic"))
            .map(|s| match s.value {
                prometheus_parse::Value::Counter(v) | prometheus_parse::Value::Untyped(v) => v,
                _ => 0.0,
            })
            .sum()
    };
    assert_eq!(count("OK"), 3.0, "{text}");
    assert_eq!(count("INVALID_ARGUMENT"), 1.0, "{text}");
    assert!(scrape.samples.iter().any(|s| s.metric.starts_with("onshi_request_duration_seconds")), "{text}");
    let keys = scrape.samples.iter().find(|s| s.metric == "onshi_store_keys").map(|s| s.value.clone());
    assert!(matches!(keys, Some(prometheus_parse::Value::Gauge(v)) if v > 300.0), "the store's keys: {keys:?}\n{text}");

    let (head, page) = get(port, "/");
    assert!(head.starts_with("HTTP/1.1 200"), "{head}");
    assert!(page.contains("onshi 管理") && page.contains("href=\"/people\""), "the admin page: {page}");
    drop(c);
    drop(server);
}
