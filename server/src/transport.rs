//! Accepting connections: TCP, then (by default) a TLS 1.3 handshake that requires a client
//! certificate from the configured CA. Each accepted connection carries its [`ConnIdentity`] as
//! tonic connect info, so the certificate is parsed once per connection, not per request.
//!
//! Handshakes run in their own tasks with a time limit, so a slow or hostile client cannot stall
//! the accept loop. A client without a certificate, or with one from another CA, never gets a
//! connection.

use std::collections::HashMap;
use std::io;
use std::net::IpAddr;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::Duration;

use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer};
use rustls::server::WebPkiClientVerifier;
use thiserror::Error;
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::mpsc;
use tokio_rustls::TlsAcceptor;
use tokio_rustls::server::TlsStream;
use tokio_stream::wrappers::ReceiverStream;
use tonic::transport::server::Connected;

use crate::auth::ConnIdentity;

/// How long a TLS handshake may take.
const HANDSHAKE_TIMEOUT: Duration = Duration::from_secs(10);

#[derive(Debug, Error)]
pub enum TlsError {
    #[error("{what}: {source}")]
    Pem { what: &'static str, source: rustls::pki_types::pem::Error },
    #[error("{0} holds no certificate")]
    NoCertificate(&'static str),
    #[error("TLS configuration: {0}")]
    Rustls(#[from] rustls::Error),
    #[error("client verifier: {0}")]
    Verifier(#[from] rustls::server::VerifierBuilderError),
}

/// A server TLS configuration that requires client certificates issued by `ca_pem`.
pub fn server_config(ca_pem: &[u8], cert_pem: &[u8], key_pem: &[u8]) -> Result<Arc<rustls::ServerConfig>, TlsError> {
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let mut roots = rustls::RootCertStore::empty();
    let mut any = false;
    for cert in CertificateDer::pem_slice_iter(ca_pem) {
        roots.add(cert.map_err(|source| TlsError::Pem { what: "CA certificate", source })?)?;
        any = true;
    }
    if !any {
        return Err(TlsError::NoCertificate("the CA file"));
    }
    let chain = CertificateDer::pem_slice_iter(cert_pem)
        .collect::<Result<Vec<_>, _>>()
        .map_err(|source| TlsError::Pem { what: "server certificate", source })?;
    if chain.is_empty() {
        return Err(TlsError::NoCertificate("the server certificate file"));
    }
    let key = PrivateKeyDer::from_pem_slice(key_pem).map_err(|source| TlsError::Pem { what: "server key", source })?;
    let verifier = WebPkiClientVerifier::builder_with_provider(Arc::new(roots), provider.clone()).build()?;
    let mut config = rustls::ServerConfig::builder_with_provider(provider)
        .with_protocol_versions(&[&rustls::version::TLS13])?
        .with_client_cert_verifier(verifier)
        .with_single_cert(chain, key)?;
    config.alpn_protocols = vec![b"h2".to_vec()];
    Ok(Arc::new(config))
}

/// An accepted connection, TLS or (loopback-only) plaintext, holding its peer's slot.
pub struct Conn {
    io: Io,
    identity: ConnIdentity,
    _slot: Option<PeerSlot>,
}

enum Io {
    Tls(Box<TlsStream<TcpStream>>),
    Plain(TcpStream),
}

impl Connected for Conn {
    type ConnectInfo = ConnIdentity;

    fn connect_info(&self) -> ConnIdentity {
        self.identity.clone()
    }
}

impl AsyncRead for Conn {
    fn poll_read(self: Pin<&mut Self>, cx: &mut Context<'_>, buf: &mut ReadBuf<'_>) -> Poll<io::Result<()>> {
        match &mut self.get_mut().io {
            Io::Tls(s) => Pin::new(s.as_mut()).poll_read(cx, buf),
            Io::Plain(s) => Pin::new(s).poll_read(cx, buf),
        }
    }
}

impl AsyncWrite for Conn {
    fn poll_write(self: Pin<&mut Self>, cx: &mut Context<'_>, buf: &[u8]) -> Poll<io::Result<usize>> {
        match &mut self.get_mut().io {
            Io::Tls(s) => Pin::new(s.as_mut()).poll_write(cx, buf),
            Io::Plain(s) => Pin::new(s).poll_write(cx, buf),
        }
    }

    fn poll_write_vectored(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[io::IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        match &mut self.get_mut().io {
            Io::Tls(s) => Pin::new(s.as_mut()).poll_write_vectored(cx, bufs),
            Io::Plain(s) => Pin::new(s).poll_write_vectored(cx, bufs),
        }
    }

    fn is_write_vectored(&self) -> bool {
        match &self.io {
            Io::Tls(s) => s.is_write_vectored(),
            Io::Plain(s) => s.is_write_vectored(),
        }
    }

    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        match &mut self.get_mut().io {
            Io::Tls(s) => Pin::new(s.as_mut()).poll_flush(cx),
            Io::Plain(s) => Pin::new(s).poll_flush(cx),
        }
    }

    fn poll_shutdown(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        match &mut self.get_mut().io {
            Io::Tls(s) => Pin::new(s.as_mut()).poll_shutdown(cx),
            Io::Plain(s) => Pin::new(s).poll_shutdown(cx),
        }
    }
}

/// Connections held per peer address, counted from accept (before the handshake) to close.
#[derive(Debug, Default)]
struct PeerCounts(std::sync::Mutex<HashMap<IpAddr, usize>>);

/// One connection's place in its peer's count; gives it back when the connection is dropped.
pub struct PeerSlot {
    peer: IpAddr,
    counts: Arc<PeerCounts>,
}

impl PeerCounts {
    /// A slot for `peer`, unless it holds `max` already (0: unlimited).
    fn take(self: &Arc<Self>, peer: IpAddr, max: usize) -> Option<PeerSlot> {
        let mut counts = self.0.lock().unwrap_or_else(|p| p.into_inner());
        let n = counts.entry(peer).or_default();
        if max > 0 && *n >= max {
            return None;
        }
        *n += 1;
        Some(PeerSlot { peer, counts: self.clone() })
    }
}

impl Drop for PeerSlot {
    fn drop(&mut self) {
        let mut counts = self.counts.0.lock().unwrap_or_else(|p| p.into_inner());
        if let Some(n) = counts.get_mut(&self.peer) {
            *n -= 1;
            if *n == 0 {
                counts.remove(&self.peer);
            }
        }
    }
}

/// Accepts connections on `listener` until the returned stream is dropped. With `tls`, each
/// connection completes a mutual-TLS handshake first; without, connections are plaintext. A peer
/// address holding `max_per_peer` connections (handshaking or open; 0: unlimited) has further
/// ones closed at once.
pub fn incoming(
    listener: TcpListener,
    tls: Option<Arc<rustls::ServerConfig>>,
    max_per_peer: usize,
) -> ReceiverStream<io::Result<Conn>> {
    let (tx, rx) = mpsc::channel::<io::Result<Conn>>(256);
    let acceptor = tls.map(TlsAcceptor::from);
    let counts = Arc::new(PeerCounts::default());
    tokio::spawn(async move {
        loop {
            let accepted = tokio::select! {
                accepted = listener.accept() => accepted,
                () = tx.closed() => return,
            };
            let (tcp, peer) = match accepted {
                Ok(a) => a,
                Err(e) => {
                    // Out of file descriptors and the like: back off instead of spinning.
                    tracing::warn!(error = %e, "accept failed");
                    tokio::time::sleep(Duration::from_millis(50)).await;
                    continue;
                }
            };
            let Some(slot) = counts.take(peer.ip(), max_per_peer) else {
                tracing::debug!(%peer, "connection refused: the peer holds {max_per_peer} already");
                continue;
            };
            let _ = tcp.set_nodelay(true);
            let tx = tx.clone();
            match &acceptor {
                None => {
                    let conn =
                        Conn { io: Io::Plain(tcp), identity: ConnIdentity::plaintext(Some(peer)), _slot: Some(slot) };
                    let _ = tx.send(Ok(conn)).await;
                }
                Some(acceptor) => {
                    let acceptor = acceptor.clone();
                    tokio::spawn(async move {
                        match tokio::time::timeout(HANDSHAKE_TIMEOUT, acceptor.accept(tcp)).await {
                            Ok(Ok(tls)) => {
                                let identity = match tls.get_ref().1.peer_certificates().and_then(|c| c.first()) {
                                    Some(leaf) => ConnIdentity::from_certificate(Some(peer), leaf.as_ref()),
                                    // Unreachable with a verifier that requires certificates.
                                    None => return,
                                };
                                let conn = Conn { io: Io::Tls(Box::new(tls)), identity, _slot: Some(slot) };
                                let _ = tx.send(Ok(conn)).await;
                            }
                            Ok(Err(e)) => tracing::debug!(%peer, error = %e, "TLS handshake failed"),
                            Err(_) => tracing::debug!(%peer, "TLS handshake timed out"),
                        }
                    });
                }
            }
        }
    });
    ReceiverStream::new(rx)
}
