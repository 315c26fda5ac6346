//! Serving: the library's entry point, `run(listener, …, shutdown)`, so tests bind 127.0.0.1:0
//! first and never sleep waiting for a port.

use std::future::Future;
use std::sync::Arc;

use onshi_proto::served::access_history_service_server::AccessHistoryServiceServer;
use onshi_proto::served::admin_service_server::AdminServiceServer;
use onshi_proto::served::checkup_service_server::CheckupServiceServer;
use onshi_proto::served::medication_service_server::MedicationServiceServer;
use onshi_proto::served::qualification_service_server::QualificationServiceServer;
use thiserror::Error;
use tokio::net::TcpListener;
use tonic::transport::Server;
use tonic_health::ServingStatus;

use crate::service::App;
use crate::service::access_history::AccessHistory;
use crate::service::admin::Admin;
use crate::service::medical::{Checkup, Medication};
use crate::service::qualification::Qualification;
use crate::transport;

/// The largest request message accepted by the single-record services.
pub const MAX_REQUEST_BYTES: usize = 64 * 1024;
/// The largest QualificationService request: a 一括照会 upload of 10,000 search infos.
pub const MAX_BULK_REQUEST_BYTES: usize = 4 << 20;

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
            ] {
                health_reporter.set_service_status(name, status).await;
            }
            if changes.changed().await.is_err() {
                return;
            }
        }
    });
    let (reflection_v1, reflection_v1alpha) = reflection(onshi_proto::FILE_DESCRIPTOR_SET)?;
    let qualification =
        QualificationServiceServer::new(Qualification(app.clone())).max_decoding_message_size(MAX_BULK_REQUEST_BYTES);
    let medication = MedicationServiceServer::new(Medication(app.clone())).max_decoding_message_size(MAX_REQUEST_BYTES);
    let checkup = CheckupServiceServer::new(Checkup(app.clone())).max_decoding_message_size(MAX_REQUEST_BYTES);
    let access_history =
        AccessHistoryServiceServer::new(AccessHistory(app)).max_decoding_message_size(MAX_REQUEST_BYTES);
    let served = Server::builder()
        .layer(crate::admission::ArrivalLayer)
        .add_service(health)
        .add_service(reflection_v1)
        .add_service(reflection_v1alpha)
        .add_service(qualification)
        .add_service(medication)
        .add_service(checkup)
        .add_service(access_history)
        .serve_with_incoming_shutdown(transport::incoming(listener, tls), shutdown)
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
    let admin = AdminServiceServer::new(Admin(app)).max_decoding_message_size(MAX_REQUEST_BYTES);
    Server::builder()
        .add_service(health)
        .add_service(reflection_v1)
        .add_service(reflection_v1alpha)
        .add_service(admin)
        .serve_with_incoming_shutdown(transport::incoming(listener, tls), shutdown)
        .await?;
    Ok(())
}
