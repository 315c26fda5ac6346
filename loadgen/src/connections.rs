//! The generator's connections to the server: bare HTTP/2 ones for unary calls
//! ([`crate::h2client`]), tonic channels for streams, and the route (URI and headers) of every
//! unary method.

use std::collections::BTreeMap;
use std::time::Duration;

use tonic::transport::{Certificate, Channel, ClientTlsConfig, Identity};

use crate::AnyError;
use crate::cli::Args;
use crate::h2client::{self, Connection, Route};
use crate::workload::{self, Workload};

/// What the workers send on: `h2` for unary calls, `channels` for streams (either may be empty
/// when the mix has none of its kind).
pub struct Connections {
    pub h2: Vec<Connection>,
    pub channels: Vec<Channel>,
}

/// Opens `--connections` of each kind the run needs.
pub async fn open(args: &Args, target: &h2client::Target, unary: bool, streams: bool) -> Result<Connections, AnyError> {
    let mut out = Connections { h2: Vec::new(), channels: Vec::new() };
    for _ in 0..args.connections.max(1) {
        if unary {
            out.h2.push(h2client::connect(target).await?);
        }
        if streams {
            out.channels.push(channel(args).await?);
        }
    }
    Ok(out)
}

/// The bare-HTTP/2 target (unary calls).
pub fn h2_target(args: &Args) -> Result<h2client::Target, AnyError> {
    let tls = if args.plaintext {
        None
    } else {
        let (Some(ca), Some(cert), Some(key)) = (&args.cacert, &args.cert, &args.key) else {
            return Err("mutual TLS needs --cacert, --cert and --key (or --plaintext --facility CODE)".into());
        };
        let config = h2client::tls_config(&std::fs::read(ca)?, &std::fs::read(cert)?, &std::fs::read(key)?)?;
        let name = rustls::pki_types::ServerName::try_from(args.server_name.clone())
            .map_err(|_| format!("--server-name {:?} is not a DNS name or address", args.server_name))?;
        Some((config, name))
    };
    Ok(h2client::Target { addr: args.target.clone(), tls })
}

/// The route of every unary workload, each call carrying `headers`.
pub fn routes(target: &h2client::Target, headers: &[(&str, &[u8])]) -> BTreeMap<Workload, Route> {
    workload::UNARY.into_iter().map(|w| (w, Route::new(target, w.path(), headers))).collect()
}

/// A tonic channel (streams).
async fn channel(args: &Args) -> Result<Channel, AnyError> {
    let endpoint = if args.plaintext {
        Channel::from_shared(format!("http://{}", args.target))?
    } else {
        let (Some(ca), Some(cert), Some(key)) = (&args.cacert, &args.cert, &args.key) else {
            return Err("mutual TLS needs --cacert, --cert and --key (or --plaintext --facility CODE)".into());
        };
        let tls = ClientTlsConfig::new()
            .ca_certificate(Certificate::from_pem(std::fs::read(ca)?))
            .identity(Identity::from_pem(std::fs::read(cert)?, std::fs::read(key)?))
            .domain_name(args.server_name.clone());
        Channel::from_shared(format!("https://{}", args.target))?.tls_config(tls)?
    };
    let channel = endpoint
        .connect_timeout(Duration::from_secs(5))
        .tcp_nodelay(true)
        .initial_stream_window_size(Some(1 << 20))
        .initial_connection_window_size(Some(4 << 20))
        .connect()
        .await
        .map_err(|e| format!("cannot connect to {}: {e}", args.target))?;
    Ok(channel)
}
