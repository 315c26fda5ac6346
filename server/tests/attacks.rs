//! Hostile clients against a real `onshi-server serve` process, one attack after another, while a
//! canary clinic on its own connection keeps asking and must get every answer right; afterwards
//! the server's resident memory must be back within 64 MiB of where it started.
//!
//! The attacks: sessions held open by one facility, length prefixes that lie, streams opened and
//! reset by the thousand, random bytes after the preface, frames that break the protocol, a
//! CONTINUATION flood, a gzip bomb, a message over the limit, refusals that would echo a long
//! input, and TLS handshakes that never finish. (The per-finding tests are in
//! tests/tests/integration/hostile.rs; this one proves they hold together, on the real binary.)

mod common;

use std::io::Write;
use std::net::SocketAddr;
use std::path::Path;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::Duration;

use bytes::Bytes;
use onshi_proto::v1::{CardReaderInfo, ConfirmByCardRequest};
use prost::Message;
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer, ServerName};
use tokio::io::AsyncWriteExt;

use self::common::{CLINIC, client_as, demo_config_in, start};

const PHARMACY: &str = "1342345673";

fn rss_kib(pid: u32) -> u64 {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap_or_default();
    status
        .lines()
        .find_map(|l| l.strip_prefix("VmRSS:"))
        .and_then(|v| v.split_whitespace().next()?.parse().ok())
        .unwrap_or(0)
}

fn tls_config(dir: &Path, facility: &str) -> Arc<rustls::ClientConfig> {
    let pki = dir.join("pki");
    let read = |name: String| std::fs::read(pki.join(name)).expect("PKI file");
    let mut roots = rustls::RootCertStore::empty();
    for cert in CertificateDer::pem_slice_iter(&read("ca.pem".into())) {
        roots.add(cert.expect("CA")).expect("root");
    }
    let chain: Vec<CertificateDer<'static>> =
        CertificateDer::pem_slice_iter(&read(format!("{facility}.pem"))).collect::<Result<_, _>>().expect("cert");
    let key = PrivateKeyDer::from_pem_slice(&read(format!("{facility}.key"))).expect("key");
    let mut config = rustls::ClientConfig::builder_with_provider(Arc::new(rustls::crypto::ring::default_provider()))
        .with_safe_default_protocol_versions()
        .expect("versions")
        .with_root_certificates(roots)
        .with_client_auth_cert(chain, key)
        .expect("client auth");
    config.alpn_protocols = vec![b"h2".to_vec()];
    Arc::new(config)
}

type Tls = tokio_rustls::client::TlsStream<tokio::net::TcpStream>;

async fn tls(dir: &Path, addr: SocketAddr) -> Tls {
    let tcp = tokio::net::TcpStream::connect(addr).await.expect("tcp");
    tokio_rustls::TlsConnector::from(tls_config(dir, PHARMACY))
        .connect(ServerName::try_from("localhost").expect("name"), tcp)
        .await
        .expect("TLS handshake")
}

async fn h2(dir: &Path, addr: SocketAddr) -> h2::client::SendRequest<Bytes> {
    let (send, connection) = h2::client::handshake(tls(dir, addr).await).await.expect("h2");
    tokio::spawn(async move {
        let _ = connection.await;
    });
    send
}

fn grpc(addr: SocketAddr, path: &str, gzip: bool) -> http::Request<()> {
    let mut b = http::Request::builder()
        .method("POST")
        .uri(format!("https://localhost:{}{path}", addr.port()))
        .header("content-type", "application/grpc")
        .header("te", "trailers");
    if gzip {
        b = b.header("grpc-encoding", "gzip");
    }
    b.body(()).expect("request")
}

fn prefix(compressed: bool, len: u32) -> Vec<u8> {
    let mut p = vec![u8::from(compressed)];
    p.extend_from_slice(&len.to_be_bytes());
    p
}

/// A raw HTTP/2 frame.
fn frame(kind: u8, flags: u8, stream: u32, payload: &[u8]) -> Vec<u8> {
    let len = payload.len() as u32;
    let mut f = vec![(len >> 16) as u8, (len >> 8) as u8, len as u8, kind, flags];
    f.extend_from_slice(&stream.to_be_bytes());
    f.extend_from_slice(payload);
    f
}

const PREFACE: &[u8] = b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n";

/// Writes `bytes` on a fresh TLS connection and reads until the server closes it (bounded).
async fn send_raw(dir: &Path, addr: SocketAddr, bytes: &[u8]) {
    let mut s = tls(dir, addr).await;
    let _ = s.write_all(bytes).await;
    let _ = s.flush().await;
    let mut sink = Vec::new();
    let _ = tokio::time::timeout(Duration::from_secs(5), tokio::io::AsyncReadExt::read_to_end(&mut s, &mut sink)).await;
}

/// The status of a response, or that none came within 10 s.
async fn status_of(response: h2::client::ResponseFuture) -> Option<i32> {
    tokio::time::timeout(Duration::from_secs(10), async move {
        let response = response.await.ok()?;
        let code = |h: &http::HeaderMap| h.get("grpc-status").and_then(|v| v.to_str().ok()?.parse::<i32>().ok());
        if let Some(c) = code(response.headers()) {
            return Some(c);
        }
        let mut body = response.into_body();
        while let Some(Ok(chunk)) = body.data().await {
            let _ = body.flow_control().release_capacity(chunk.len());
        }
        code(&body.trailers().await.ok()??)
    })
    .await
    .ok()?
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_server_survives_hostile_clients_and_gives_back_their_memory() {
    let dir = tempfile::tempdir().expect("temp dir");
    let (_, config_path) = demo_config_in(dir.path(), 500);
    let (server, addr) = start(&config_path);
    let pid = server.0.as_ref().expect("child").id();
    let mut canary = client_as(dir.path(), addr, CLINIC).await;
    let ask = ConfirmByCardRequest {
        message_header: None,
        card_reader_info: Some(CardReaderInfo {
            certificate_serial_number: "A0000000000000000001".into(),
            verification_method: "1".into(),
            ..Default::default()
        }),
    };
    for _ in 0..200 {
        canary.confirm_by_card(ask.clone()).await.expect("warm-up");
    }
    let start_kib = rss_kib(pid);
    assert!(start_kib > 0, "no RSS for {pid}");

    // The canary asks every 20 ms through every attack; every answer must be right.
    let stop = Arc::new(AtomicBool::new(false));
    let (asked, failed) = (Arc::new(AtomicU64::new(0)), Arc::new(AtomicU64::new(0)));
    let canary_task = {
        let (stop, asked, failed, ask) = (stop.clone(), asked.clone(), failed.clone(), ask.clone());
        tokio::spawn(async move {
            while !stop.load(Ordering::Relaxed) {
                let ok = tokio::time::timeout(Duration::from_secs(5), canary.confirm_by_card(ask.clone()))
                    .await
                    .is_ok_and(|r| {
                        r.is_ok_and(|r| r.into_inner().message_body.is_some_and(|b| b.qualification_validity == "1"))
                    });
                asked.fetch_add(1, Ordering::Relaxed);
                if !ok {
                    failed.fetch_add(1, Ordering::Relaxed);
                }
                tokio::time::sleep(Duration::from_millis(20)).await;
            }
        })
    };
    let mut peak_kib = start_kib;
    let began = std::time::Instant::now();
    let phase = |name: &str| eprintln!("attacks: {name} done at {:.1} s", began.elapsed().as_secs_f64());

    // 1. 520 ConfirmStream sessions with headers only (128 streams per connection at most).
    let mut held = Vec::new();
    for _ in 0..5 {
        let mut c = h2(dir.path(), addr).await;
        for _ in 0..104 {
            c = c.ready().await.expect("slot");
            if let Ok(s) = c.send_request(grpc(addr, "/onshi.v1.QualificationService/ConfirmStream", false), false) {
                held.push(s);
            }
        }
        held.push(c.send_request(grpc(addr, "/grpc.health.v1.Health/Check", false), false).expect("sent"));
    }
    // 2. 200 bulk uploads whose prefix claims 4 MiB and which send 10 bytes, left open (on two
    // connections: they are within the limit, so they hold their streams until the call's time
    // limit).
    let mut c = h2(dir.path(), addr).await;
    for i in 0..200 {
        if i == 100 {
            c = h2(dir.path(), addr).await;
        }
        c = c.ready().await.expect("slot");
        let (response, mut body) =
            c.send_request(grpc(addr, "/onshi.v1.QualificationService/BulkConfirmUpload", false), false).expect("sent");
        let mut lying = prefix(false, 4 << 20);
        lying.extend_from_slice(b"0123456789");
        body.send_data(lying.into(), false).expect("prefix");
        held.push((response, body));
    }
    phase("sessions and lying prefixes");
    tokio::time::sleep(Duration::from_millis(500)).await;
    peak_kib = peak_kib.max(rss_kib(pid));
    assert!(
        peak_kib < start_kib + 64 * 1024,
        "held sessions and lying prefixes grew the server from {start_kib} to {peak_kib} KiB"
    );

    // 3. 10,000 streams opened and reset at once. The server sends GOAWAY (ENHANCE_YOUR_CALM) to a
    // connection that resets too many; the attacker connects again.
    let mut c = h2(dir.path(), addr).await;
    let mut goaways = 0;
    for _ in 0..10_000 {
        c = match c.ready().await {
            Ok(c) => c,
            Err(_) => {
                goaways += 1;
                h2(dir.path(), addr).await
            }
        };
        if let Ok((_, mut body)) =
            c.send_request(grpc(addr, "/onshi.v1.QualificationService/ConfirmByCard", false), false)
        {
            body.send_reset(h2::Reason::CANCEL);
        }
    }
    eprintln!("attacks: 10,000 resets cost the attacker {goaways} connections");
    phase("resets");
    // 4. Random bytes after the preface; 5. frames that break the protocol; 6. a CONTINUATION
    // flood (a header block far over the limit, never ended).
    let mut state = 0x1234_5678_9abc_def0u64;
    let garbage: Vec<u8> = (0..64 * 1024)
        .map(|_| {
            state = onshi_domain::population::mix64(state);
            state as u8
        })
        .collect();
    send_raw(dir.path(), addr, &[PREFACE, &garbage].concat()).await;
    let settings = frame(4, 0, 0, &[]);
    let bad_hpack = frame(1, 0x4 | 0x1, 1, &[0xff; 64]);
    let data_on_idle = frame(0, 0, 7, b"data on a stream that was never opened");
    let settings_on_stream = frame(4, 0, 3, &[0, 1, 0, 0, 0, 0]);
    for bad in [bad_hpack, data_on_idle, settings_on_stream] {
        send_raw(dir.path(), addr, &[PREFACE, &settings, &bad].concat()).await;
    }
    let mut flood = [PREFACE, &settings, &frame(1, 0, 1, &[0x82])].concat();
    for _ in 0..128 {
        flood.extend(frame(9, 0, 1, &[0x40; 16 * 1024]));
    }
    send_raw(dir.path(), addr, &flood).await;
    phase("garbage, bad frames, CONTINUATION flood");

    // 7. A gzip bomb: 50 MB of zeros in a ConfirmByCard, compressed to a few KiB.
    let bomb = ConfirmByCardRequest {
        message_header: None,
        card_reader_info: Some(CardReaderInfo {
            certificate_serial_number: "0".repeat(50 << 20),
            ..Default::default()
        }),
    }
    .encode_to_vec();
    let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::best());
    gz.write_all(&bomb).expect("gzip");
    let compressed = gz.finish().expect("gzip");
    let mut c = h2(dir.path(), addr).await;
    let (response, mut body) =
        c.send_request(grpc(addr, "/onshi.v1.QualificationService/ConfirmByCard", true), false).expect("sent");
    body.send_data([prefix(true, compressed.len() as u32), compressed].concat().into(), true).expect("bomb");
    let code = status_of(response).await;
    assert!(code.is_some_and(|c| c != 0), "the gzip bomb was answered with {code:?}");
    drop(bomb);
    // 8. A message over the bulk limit, in full.
    c = c.ready().await.expect("slot");
    let (response, mut body) =
        c.send_request(grpc(addr, "/onshi.v1.QualificationService/BulkConfirmUpload", false), false).expect("sent");
    body.send_data(prefix(false, 5 << 20).into(), false).expect("prefix");
    let code = status_of(response).await;
    assert_eq!(code, Some(tonic::Code::ResourceExhausted as i32));
    // 9. TLS handshakes that never finish: half a ClientHello on 50 connections, held.
    let mut stalled = Vec::new();
    for _ in 0..50 {
        let mut tcp = tokio::net::TcpStream::connect(addr).await.expect("tcp");
        let _ = tcp.write_all(&[0x16, 0x03, 0x01, 0x02, 0x00, 0x01, 0x00]).await;
        stalled.push(tcp);
    }
    phase("gzip bomb, oversized message, stalled handshakes");
    tokio::time::sleep(Duration::from_millis(300)).await;
    peak_kib = peak_kib.max(rss_kib(pid));

    // Every attacker goes away; the memory comes back.
    drop((held, stalled, c));
    tokio::time::sleep(Duration::from_secs(3)).await;
    stop.store(true, Ordering::Relaxed);
    canary_task.await.expect("canary");
    let end_kib = rss_kib(pid);
    let (asked, failed) = (asked.load(Ordering::Relaxed), failed.load(Ordering::Relaxed));
    eprintln!(
        "attacks: RSS {start_kib} KiB at start, {peak_kib} KiB at most, {end_kib} KiB after; canary {asked} asked, {failed} failed"
    );
    assert!(asked > 20, "the canary asked only {asked} times");
    assert_eq!(failed, 0, "the canary saw {failed} failures in {asked} calls");
    assert!(end_kib < start_kib + 64 * 1024, "RSS {start_kib} KiB before the attacks, {end_kib} KiB after");
    drop(server);
}
