//! `onshi-stack-control`: the stack-ceiling control of the bench suite. Built from the same
//! crates as onshi-server — its accept loop and TLS (`transport::incoming`, client certificates
//! required), the same tonic `Server` settings, the same request-limits layer and the generated
//! `served` QualificationService — but ConfirmByCard answers a canned response: the bytes of a
//! typical population answer (person 0's qualification, encoded the way the seeder stores it),
//! with no store, no validation, no authorization, no admission, no faults, no journal. Whatever
//! card ÷ control is short of 1 is onshi's own work; the rest is the stack's.
//!
//! Not part of the product: the suite (`benches/suite.sh`) starts it, measures card lookups
//! against it beside the real server, and stops it. Loopback only, bounded by `--seconds`.

use std::net::SocketAddr;
use std::pin::Pin;
use std::sync::Arc;
use std::time::Duration;

use onshi_domain::date::JstDateTime;
use onshi_domain::population::Population;
use onshi_domain::qualification::card_choice;
use onshi_proto::served::qualification_service_server::{QualificationService, QualificationServiceServer};
use onshi_proto::served::{
    BulkConfirmDownloadRequest, BulkConfirmDownloadResponse, BulkConfirmUploadRequest, BulkConfirmUploadResponse,
    ConfirmByCardRequest, ConfirmByInsuredNumberRequest, ConfirmStreamRequest, ConfirmStreamResponse,
    QualificationConfirmationBody, QualificationConfirmationResponse, RegisterReferenceNumberRequest,
    RegisterReferenceNumberResponse, RegisterReferenceNumbersRequest, RegisterReferenceNumbersResponse, ResultHeader,
};
use onshi_server::limits::{MessageLimits, RequestLimitsLayer};
use onshi_server::service::convert::{ConsentFields, encode_request_fields};
use onshi_store::encoding::encode_result_into;
use tonic::{Request, Response, Status, Streaming};

/// The server's allocator, so allocation costs alike.
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

const USAGE: &str =
    "usage: onshi-stack-control --listen 127.0.0.1:PORT --ca CA.pem --cert SERVER.pem --key SERVER.key [--seconds N]";

struct Canned(QualificationConfirmationResponse);

/// What the real server answers for a typical population card: person 0's chosen qualification,
/// as stored at seeding, plus the per-request consent fields, under a header of the same shape.
fn canned(facility: &str) -> Result<QualificationConfirmationResponse, String> {
    let now = JstDateTime::from_unix_seconds(
        std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map_err(|e| e.to_string())?.as_secs() as i64,
    )
    .ok_or("the clock is outside the calendar")?;
    let population = Population::new(1, now.date());
    let (person, q) = (0..1_000)
        .find_map(|i| {
            let p = population.person(i);
            let (chosen, _) = card_choice(&p.spans(), now.date())?;
            let q = p.qualifications.get(chosen)?.clone();
            (!p.cards.is_empty()).then_some((p, q))
        })
        .ok_or("no population person with a card and a valid qualification")?;
    let mut bytes = Vec::new();
    encode_result_into(&person, &q, &mut bytes);
    encode_request_fields(&ConsentFields::default(), "", &mut bytes);
    Ok(QualificationConfirmationResponse {
        message_header: Some(ResultHeader {
            process_execution_time: now.compact(),
            qualification_confirmation_date: now.date().yyyymmdd(),
            medical_institution_code: facility.to_owned(),
            arbitrary_file_identifier: String::new(),
            reference_classification: "1".into(),
            segment_of_result: "1".into(),
            error_code: String::new(),
            error_message: String::new(),
            character_code_identifier: "0".into(),
        }),
        message_body: Some(QualificationConfirmationBody {
            processing_result_status: "1".into(),
            processing_result_code: String::new(),
            processing_result_message: String::new(),
            qualification_validity: "1".into(),
            result_list: vec![bytes.into()],
        }),
    })
}

fn not_here() -> Status {
    Status::unimplemented("the stack control answers ConfirmByCard only")
}

#[tonic::async_trait]
impl QualificationService for Canned {
    async fn confirm_by_insured_number(
        &self,
        _: Request<ConfirmByInsuredNumberRequest>,
    ) -> Result<Response<QualificationConfirmationResponse>, Status> {
        Err(not_here())
    }

    async fn confirm_by_card(
        &self,
        _: Request<ConfirmByCardRequest>,
    ) -> Result<Response<QualificationConfirmationResponse>, Status> {
        // Bytes entries: the clone shares the encoded answer, as the real server's store reads do.
        Ok(Response::new(self.0.clone()))
    }

    async fn bulk_confirm_upload(
        &self,
        _: Request<BulkConfirmUploadRequest>,
    ) -> Result<Response<BulkConfirmUploadResponse>, Status> {
        Err(not_here())
    }

    async fn bulk_confirm_download(
        &self,
        _: Request<BulkConfirmDownloadRequest>,
    ) -> Result<Response<BulkConfirmDownloadResponse>, Status> {
        Err(not_here())
    }

    type ConfirmStreamStream =
        Pin<Box<dyn tokio_stream::Stream<Item = Result<ConfirmStreamResponse, Status>> + Send + 'static>>;

    async fn confirm_stream(
        &self,
        _: Request<Streaming<ConfirmStreamRequest>>,
    ) -> Result<Response<Self::ConfirmStreamStream>, Status> {
        Err(not_here())
    }

    async fn register_reference_number(
        &self,
        _: Request<RegisterReferenceNumberRequest>,
    ) -> Result<Response<RegisterReferenceNumberResponse>, Status> {
        Err(not_here())
    }

    async fn register_reference_numbers(
        &self,
        _: Request<RegisterReferenceNumbersRequest>,
    ) -> Result<Response<RegisterReferenceNumbersResponse>, Status> {
        Err(not_here())
    }
}

struct Args {
    listen: SocketAddr,
    ca: String,
    cert: String,
    key: String,
    seconds: u64,
}

fn args() -> Result<Args, String> {
    let mut it = std::env::args().skip(1);
    let (mut listen, mut ca, mut cert, mut key, mut seconds) = (None, None, None, None, 600);
    while let Some(flag) = it.next() {
        let mut value = || it.next().ok_or(format!("{flag} needs a value\n{USAGE}"));
        match flag.as_str() {
            "--listen" => listen = Some(value()?.parse::<SocketAddr>().map_err(|e| format!("--listen: {e}"))?),
            "--ca" => ca = Some(value()?),
            "--cert" => cert = Some(value()?),
            "--key" => key = Some(value()?),
            "--seconds" => seconds = value()?.parse().map_err(|e| format!("--seconds: {e}"))?,
            other => return Err(format!("unknown flag {other}\n{USAGE}")),
        }
    }
    let listen = listen.ok_or(USAGE)?;
    if !listen.ip().is_loopback() {
        return Err(format!("the control listens on loopback only; {listen} is not one"));
    }
    Ok(Args { listen, ca: ca.ok_or(USAGE)?, cert: cert.ok_or(USAGE)?, key: key.ok_or(USAGE)?, seconds })
}

async fn serve(a: Args) -> Result<(), String> {
    let read = |p: &str| std::fs::read(p).map_err(|e| format!("{p}: {e}"));
    let tls = onshi_server::transport::server_config(&read(&a.ca)?, &read(&a.cert)?, &read(&a.key)?)
        .map_err(|e| e.to_string())?;
    // The server's defaults (config.rs [limits]), so the stack is configured alike.
    let limits = onshi_server::config::LimitsConfig::default();
    let messages = MessageLimits { default_bytes: limits.max_message_bytes, bulk_bytes: limits.max_bulk_message_bytes };
    let (health_reporter, health) = tonic_health::server::health_reporter();
    health_reporter.set_serving::<QualificationServiceServer<Canned>>().await;
    let service = QualificationServiceServer::from_arc(Arc::new(Canned(canned("1312345679")?)))
        .max_decoding_message_size(messages.bulk_bytes.max(messages.default_bytes));
    let listener = tokio::net::TcpListener::bind(a.listen).await.map_err(|e| format!("{}: {e}", a.listen))?;
    eprintln!("onshi-stack-control: ConfirmByCard with a canned answer on {} for {} s", a.listen, a.seconds);
    tonic::transport::Server::builder()
        .max_concurrent_streams(limits.max_concurrent_streams)
        .http2_max_header_list_size(limits.max_header_list_bytes)
        .timeout(Duration::from_secs(limits.request_timeout_seconds.max(1)))
        .layer(RequestLimitsLayer(messages))
        .add_service(health)
        .add_service(service)
        .serve_with_incoming_shutdown(
            onshi_server::transport::incoming(listener, Some(tls), limits.max_connections_per_peer),
            async move {
                tokio::select! {
                    _ = tokio::signal::ctrl_c() => {}
                    () = tokio::time::sleep(Duration::from_secs(a.seconds)) => {}
                }
            },
        )
        .await
        .map_err(|e| e.to_string())
}

fn main() -> std::process::ExitCode {
    let result = args().and_then(|a| {
        let runtime = tokio::runtime::Builder::new_multi_thread().enable_all().build().map_err(|e| e.to_string())?;
        runtime.block_on(serve(a))
    });
    match result {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("onshi-stack-control: {e}");
            std::process::ExitCode::FAILURE
        }
    }
}
