//! What a card lookup costs, layer by layer: the domain work (check digits, generating a person),
//! the store's point read, encoding a stored result, the whole handler in process, and a full
//! round trip over loopback with mutual TLS next to the health check (the framework's ceiling).
//!
//! `cargo bench -p onshi-benches --bench card_lookup`

use std::sync::Arc;

use criterion::{BenchmarkId, Criterion, Throughput, criterion_group, criterion_main};
use onshi_domain::check_digit;
use onshi_domain::date::Date;
use onshi_domain::population::Population;
use onshi_proto::served::qualification_service_server::QualificationService;
use onshi_proto::v1::qualification_service_client::QualificationServiceClient;
use onshi_proto::v1::{CardReaderInfo, ConfirmByCardRequest};
use onshi_server::auth::ConnIdentity;
use onshi_server::boot::boot;
use onshi_server::clock::Clock;
use onshi_server::service::qualification::Qualification;
use onshi_server::{demo, pki};
use onshi_store::CardLookup;
use onshi_store::encoding::encode_result;
use prost::Message;
use tonic::transport::{Certificate, Channel, ClientTlsConfig, Identity};

const PERSONS: u64 = 100_000;
const CLINIC: &str = "1312345679";

fn domain(c: &mut Criterion) {
    let mut g = c.benchmark_group("domain");
    g.bench_function("check_digit/insurer_number", |b| {
        b.iter(|| check_digit::is_valid(std::hint::black_box(b"01130012")))
    });
    let pop = Population::new(1, Date::new(2026, 11, 23).expect("date"));
    let mut i = 0u64;
    g.bench_function("population/person", |b| {
        b.iter(|| {
            i = (i + 7919) % 10_000_000;
            pop.person(i)
        })
    });
    g.bench_function("population/keys", |b| {
        b.iter(|| {
            i = (i + 7919) % 10_000_000;
            pop.keys(i)
        })
    });
    let person = pop.person(42);
    g.bench_function("encode/result", |b| {
        b.iter(|| encode_result(&person, person.qualifications.last().expect("insured")))
    });
    g.finish();
}

struct Fixture {
    _dir: tempfile::TempDir,
    booted: onshi_server::boot::Booted,
    pop: Population,
    pki: pki::PkiPaths,
}

fn fixture() -> Fixture {
    let dir = tempfile::tempdir().expect("temp dir");
    let facilities: Vec<(&str, &str)> = demo::DEMO_FACILITIES.iter().map(|f| (f.code, f.name)).collect();
    let (pki, _) = pki::ensure(&dir.path().join("pki"), &facilities).expect("PKI");
    let config = demo::demo_config(dir.path(), PERSONS, "127.0.0.1:0".parse().expect("addr"));
    let clock = Arc::new(Clock::system());
    let booted = boot(&config, clock.clone(), |_| {}).expect("boot");
    let as_of = booted.app.store.get().population().expect("store").expect("seeded").as_of_date().expect("date");
    Fixture { _dir: dir, booted, pop: Population::new(1, as_of), pki }
}

/// Card serials of seeded people, in a scattered order.
fn serials(pop: &Population, n: usize) -> Vec<String> {
    (0..PERSONS)
        .map(|i| (i * 7919) % PERSONS)
        .filter_map(|i| pop.keys(i).card_serial.map(|s| s.as_str().to_owned()))
        .take(n)
        .collect()
}

fn store_and_handler(c: &mut Criterion) {
    let f = fixture();
    let serials = serials(&f.pop, 50_000);
    let parsed: Vec<_> =
        serials.iter().map(|s| onshi_domain::ids::CertificateSerial::parse(s).expect("serial")).collect();
    let mut g = c.benchmark_group("in_process");
    g.throughput(Throughput::Elements(1));
    let mut n = 0usize;
    let store = f.booted.app.store.get();
    g.bench_function("store/card_point_read", |b| {
        b.iter(|| {
            n = (n + 1) % parsed.len();
            match store.card(&parsed[n]).expect("read") {
                CardLookup::Active(v) => v.len(),
                _ => panic!("seeded serial"),
            }
        })
    });
    let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().expect("runtime");
    let svc = Qualification(f.booted.app.clone());
    let identity = ConnIdentity::plaintext(None);
    g.bench_function("handler/confirm_by_card", |b| {
        b.iter(|| {
            n = (n + 1) % serials.len();
            let mut req = tonic::Request::new(onshi_proto::served::ConfirmByCardRequest {
                message_header: None,
                card_reader_info: Some(onshi_proto::served::CardReaderInfo {
                    certificate_serial_number: serials[n].clone(),
                    verification_method: "1".into(),
                    ..Default::default()
                }),
            });
            req.extensions_mut().insert(identity.clone());
            req.metadata_mut().insert(onshi_server::auth::FACILITY_HEADER, CLINIC.parse().expect("header"));
            let reply = rt.block_on(svc.confirm_by_card(req)).expect("answered");
            reply.get_ref().encoded_len()
        })
    });
    g.finish();
}

fn round_trip(c: &mut Criterion) {
    let f = fixture();
    let serials = serials(&f.pop, 50_000);
    let rt = tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build().expect("runtime");
    let listener = rt.block_on(tokio::net::TcpListener::bind("127.0.0.1:0")).expect("bind");
    let addr = listener.local_addr().expect("addr");
    let (tx, rx) = tokio::sync::oneshot::channel::<()>();
    let app = f.booted.app.clone();
    let tls = f.booted.tls.clone();
    rt.spawn(async move {
        let _ = onshi_server::run(listener, app, tls, async {
            let _ = rx.await;
        })
        .await;
    });
    let read = |p: std::path::PathBuf| std::fs::read(p).expect("PKI file");
    let tls = ClientTlsConfig::new()
        .ca_certificate(Certificate::from_pem(read(f.pki.ca())))
        .identity(Identity::from_pem(read(f.pki.facility_cert(CLINIC)), read(f.pki.facility_key(CLINIC))))
        .domain_name("localhost");
    let channel: Channel = rt
        .block_on(Channel::from_shared(format!("https://{addr}")).expect("uri").tls_config(tls).expect("tls").connect())
        .expect("connect");
    let mut g = c.benchmark_group("round_trip_mtls");
    g.throughput(Throughput::Elements(1));
    let mut health = tonic_health::pb::health_client::HealthClient::new(channel.clone());
    g.bench_function(BenchmarkId::new("health_check", "1 in flight"), |b| {
        b.iter(|| {
            rt.block_on(health.check(tonic_health::pb::HealthCheckRequest { service: String::new() })).expect("serving")
        })
    });
    let mut client = QualificationServiceClient::new(channel);
    let mut n = 0usize;
    g.bench_function(BenchmarkId::new("confirm_by_card", "1 in flight"), |b| {
        b.iter(|| {
            n = (n + 1) % serials.len();
            let req = ConfirmByCardRequest {
                message_header: None,
                card_reader_info: Some(CardReaderInfo {
                    certificate_serial_number: serials[n].clone(),
                    verification_method: "1".into(),
                    ..Default::default()
                }),
            };
            rt.block_on(client.confirm_by_card(req)).expect("answered")
        })
    });
    g.bench_function(BenchmarkId::new("confirm_by_card_unknown_serial", "1 in flight"), |b| {
        b.iter(|| {
            let req = ConfirmByCardRequest {
                message_header: None,
                card_reader_info: Some(CardReaderInfo {
                    certificate_serial_number: "A0000000000000000005".into(),
                    verification_method: "1".into(),
                    ..Default::default()
                }),
            };
            rt.block_on(client.confirm_by_card(req)).expect("answered")
        })
    });
    g.finish();
    let _ = tx.send(());
}

criterion_group!(benches, domain, store_and_handler, round_trip);
criterion_main!(benches);
