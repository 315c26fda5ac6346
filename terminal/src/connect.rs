//! The terminal's connection to the national system: one mutual-TLS gRPC channel presenting the
//! facility's certificate, as the real terminal holds one certificate per facility. The facility
//! code is read from the certificate's subject CN, the same rule the server applies.

use std::path::{Path, PathBuf};
use std::time::Duration;

use thiserror::Error;
use tonic::transport::{Certificate, Channel, ClientTlsConfig, Identity};

#[derive(Debug, Error)]
pub enum ConnectError {
    #[error("cannot read {path}: {source}")]
    Read { path: PathBuf, source: std::io::Error },
    #[error("{0}: not a PEM certificate")]
    NotACertificate(PathBuf),
    #[error("{0}: the certificate's subject CN is not a 10-digit 医療機関コード")]
    NoFacility(PathBuf),
    #[error("cannot connect to {target}: {detail}")]
    Connect { target: String, detail: String },
}

/// Where the connection's certificates are.
#[derive(Debug, Clone)]
pub struct TlsFiles {
    pub cacert: PathBuf,
    pub cert: PathBuf,
    pub key: PathBuf,
}

fn read(path: &Path) -> Result<Vec<u8>, ConnectError> {
    std::fs::read(path).map_err(|source| ConnectError::Read { path: path.to_owned(), source })
}

/// The 医療機関コード a facility certificate names (its subject CN).
pub fn facility_of(cert_path: &Path) -> Result<String, ConnectError> {
    let pem = read(cert_path)?;
    let (_, pem) =
        x509_parser::pem::parse_x509_pem(&pem).map_err(|_| ConnectError::NotACertificate(cert_path.to_owned()))?;
    let cert = pem.parse_x509().map_err(|_| ConnectError::NotACertificate(cert_path.to_owned()))?;
    let cn = cert.subject().iter_common_name().next().and_then(|cn| cn.as_str().ok()).unwrap_or("");
    if cn.len() == 10 && cn.bytes().all(|b| b.is_ascii_digit()) {
        Ok(cn.to_owned())
    } else {
        Err(ConnectError::NoFacility(cert_path.to_owned()))
    }
}

/// A channel to `target` (HOST:PORT) over mutual TLS. The server certificate is checked for
/// `server_name` (the dev PKI's server certificate names localhost, 127.0.0.1 and ::1).
/// The channel connects lazily and reconnects by itself, so a terminal started before its
/// server, or outliving a server restart, keeps working.
pub fn channel(target: &str, files: &TlsFiles, server_name: &str) -> Result<Channel, ConnectError> {
    let tls = ClientTlsConfig::new()
        .ca_certificate(Certificate::from_pem(read(&files.cacert)?))
        .identity(Identity::from_pem(read(&files.cert)?, read(&files.key)?))
        .domain_name(server_name.to_owned());
    let bad = |detail: String| ConnectError::Connect { target: target.to_owned(), detail };
    let endpoint = Channel::from_shared(format!("https://{target}"))
        .map_err(|e| bad(e.to_string()))?
        .tls_config(tls)
        .map_err(|e| bad(e.to_string()))?
        .connect_timeout(Duration::from_secs(5))
        .timeout(Duration::from_secs(60))
        .tcp_nodelay(true)
        .initial_stream_window_size(Some(1 << 20))
        .initial_connection_window_size(Some(4 << 20));
    Ok(endpoint.connect_lazy())
}
