//! Serving: the library's entry point, `run(listener, …, shutdown)`, so tests bind 127.0.0.1:0
//! first and never sleep waiting for a port.

use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

use onshi_proto::served::access_history_service_server::AccessHistoryServiceServer;
use onshi_proto::served::admin_service_server::AdminServiceServer;
use onshi_proto::served::checkup_service_server::CheckupServiceServer;
use onshi_proto::served::fee_service_server::FeeServiceServer;
use onshi_proto::served::medication_service_server::MedicationServiceServer;
use onshi_proto::served::qualification_service_server::QualificationServiceServer;
use thiserror::Error;
use tokio::net::TcpListener;
use tonic::transport::Server;
use tonic_health::ServingStatus;

use crate::app::App;
use crate::limits::{MessageLimits, RequestLimitsLayer};
use crate::service::access_history::AccessHistory;
use crate::service::admin::Admin;
use crate::service::fees::Fees;
use crate::service::medical::{Checkup, Medication};
use crate::service::qualification::Qualification;
use crate::transport;

/// The largest admin request (a person, a record, a fault).
pub const MAX_ADMIN_REQUEST_BYTES: usize = 64 * 1024;

#[derive(Debug, Error)]
pub enum RunError {
    #[error("plaintext mode listens on loopback addresses only; {0} is not one")]
    PlaintextNotLoopback(std::net::SocketAddr),
    #[error("listener: {0}")]
    Io(#[from] std::io::Error),
    #[error("reflection: {0}")]
    Reflection(#[from] tonic_reflection::server::Error),
    #[error("transport: {0}")]
    Transport(#[from] tonic::transport::Error),
}

/// Server reflection (v1 and v1alpha) of one listener's API, with health and the google.rpc
/// error details so that tools can decode them.
fn reflection(
    api: &'static [u8],
) -> Result<
    (
        tonic_reflection::server::v1::ServerReflectionServer<impl tonic_reflection::server::v1::ServerReflection>,
        tonic_reflection::server::v1alpha::ServerReflectionServer<
            impl tonic_reflection::server::v1alpha::ServerReflection,
        >,
    ),
    RunError,
> {
    let builder = || {
        tonic_reflection::server::Builder::configure()
            .register_encoded_file_descriptor_set(api)
            .register_encoded_file_descriptor_set(tonic_health::pb::FILE_DESCRIPTOR_SET)
            .register_encoded_file_descriptor_set(tonic_types::pb::FILE_DESCRIPTOR_SET)
    };
    Ok((builder().build_v1()?, builder().build_v1alpha()?))
}

/// The one rule both listeners share: plaintext only on a loopback address (fail closed).
fn refuse_plaintext_off_loopback(
    listener: &TcpListener,
    tls: Option<&Arc<rustls::ServerConfig>>,
) -> Result<(), RunError> {
    let addr = listener.local_addr()?;
    if tls.is_none() && !addr.ip().is_loopback() {
        return Err(RunError::PlaintextNotLoopback(addr));
    }
    Ok(())
}

/// Serves the facility API on `listener` until `shutdown` completes. With `tls` (the default
/// everywhere but local debugging) every connection must present a client certificate from the
/// configured CA; without, the listener must be on a loopback address.
pub async fn run(
    listener: TcpListener,
    app: App,
    tls: Option<Arc<rustls::ServerConfig>>,
    shutdown: impl Future<Output = ()> + Send,
) -> Result<(), RunError> {
    refuse_plaintext_off_loopback(&listener, tls.as_ref())?;
    let (health_reporter, health) = tonic_health::server::health_reporter();
    // Health follows readiness (seeding done) and outage faults.
    let mut changes = app.serving.subscribe();
    let watched = app.clone();
    let health_task = tokio::spawn(async move {
        loop {
            let status = if watched.healthy() { ServingStatus::Serving } else { ServingStatus::NotServing };
            for name in [
                "",
                "onshi.v1.QualificationService",
                "onshi.v1.MedicationService",
                "onshi.v1.CheckupService",
                "onshi.v1.AccessHistoryService",
                "onshi.v1.FeeService",
            ] {
                health_reporter.set_service_status(name, status).await;
            }
            if changes.changed().await.is_err() {
                return;
            }
        }
    });
    let (reflection_v1, reflection_v1alpha) = reflection(onshi_proto::FILE_DESCRIPTOR_SET)?;
    let limits = app.limits.clone();
    // Per-method message limits are enforced by `limits::RequestLimitsLayer` as prefixes arrive;
    // the codec's own limits are the backstop.
    let messages = MessageLimits { default_bytes: limits.max_message_bytes, bulk_bytes: limits.max_bulk_message_bytes };
    let qualification = QualificationServiceServer::new(Qualification(app.clone()))
        .max_decoding_message_size(messages.bulk_bytes.max(messages.default_bytes));
    let medication =
        MedicationServiceServer::new(Medication(app.clone())).max_decoding_message_size(messages.default_bytes);
    let checkup = CheckupServiceServer::new(Checkup(app.clone())).max_decoding_message_size(messages.default_bytes);
    let access_history =
        AccessHistoryServiceServer::new(AccessHistory(app.clone())).max_decoding_message_size(messages.default_bytes);
    // ComputeAdditions takes up to 100,000 visits: the bulk limit.
    let fees =
        FeeServiceServer::new(Fees(app)).max_decoding_message_size(messages.bulk_bytes.max(messages.default_bytes));
    let served = Server::builder()
        .max_concurrent_streams(limits.max_concurrent_streams)
        .http2_max_header_list_size(limits.max_header_list_bytes)
        .timeout(Duration::from_secs(limits.request_timeout_seconds.max(1)))
        .layer(RequestLimitsLayer(messages))
        .add_service(health)
        .add_service(reflection_v1)
        .add_service(reflection_v1alpha)
        .add_service(qualification)
        .add_service(medication)
        .add_service(checkup)
        .add_service(access_history)
        .add_service(fees)
        .serve_with_incoming_shutdown(transport::incoming(listener, tls, limits.max_connections_per_peer), shutdown)
        .await;
    // Abort is asynchronous: wait for the task to be dropped, so that when `run` returns it no
    // longer holds the app (and the store can be reopened in the same process).
    health_task.abort();
    let _ = health_task.await;
    served?;
    Ok(())
}

/// Serves the admin API (with health and reflection) on its own listener until `shutdown`. With
/// `tls`, only the "onshi-admin" client certificate is let in; without, the listener must be on
/// a loopback address.
pub async fn run_admin(
    listener: TcpListener,
    app: App,
    tls: Option<Arc<rustls::ServerConfig>>,
    shutdown: impl Future<Output = ()> + Send,
) -> Result<(), RunError> {
    refuse_plaintext_off_loopback(&listener, tls.as_ref())?;
    let (health_reporter, health) = tonic_health::server::health_reporter();
    health_reporter.set_serving::<AdminServiceServer<Admin>>().await;
    let (reflection_v1, reflection_v1alpha) = reflection(onshi_proto::ADMIN_FILE_DESCRIPTOR_SET)?;
    let admin = AdminServiceServer::new(Admin(app)).max_decoding_message_size(MAX_ADMIN_REQUEST_BYTES);
    Server::builder()
        .max_concurrent_streams(128)
        .add_service(health)
        .add_service(reflection_v1)
        .add_service(reflection_v1alpha)
        .add_service(admin)
        .serve_with_incoming_shutdown(transport::incoming(listener, tls, 0), shutdown)
        .await?;
    Ok(())
}
