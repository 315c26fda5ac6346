//! Who is on the other end of a connection, worked out once per connection (after the TLS
//! handshake) and attached to every request on it as tonic connect info.

use std::net::SocketAddr;
use std::sync::Arc;

use onshi_domain::hex::hex;
use onshi_domain::ids::{CheckDigits, MedicalInstitutionCode};
use sha2::{Digest, Sha256};

/// The identity a verified client certificate carries.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CertificateIdentity {
    /// The facility code from the certificate's subject CommonName, or why there is none.
    pub facility: Result<MedicalInstitutionCode, String>,
    /// SHA-256 of the certificate (DER), lowercase hex, for allow-list entries bound to one
    /// certificate.
    pub sha256: String,
    /// The subject CommonName as written (the admin certificate's is "onshi-admin").
    pub common_name: Option<String>,
    /// The certificate's serial (the DER INTEGER's content bytes), as a CRL lists it.
    pub serial: Vec<u8>,
}

/// What a connection tells about its peer; cheap to clone (one `Arc`).
#[derive(Debug, Clone)]
pub struct ConnIdentity(pub Arc<ConnIdentityInner>);

#[derive(Debug)]
pub struct ConnIdentityInner {
    pub peer: Option<SocketAddr>,
    /// `None` on a plaintext connection (the facility then comes from a metadata header).
    pub certificate: Option<CertificateIdentity>,
}

impl ConnIdentity {
    pub fn plaintext(peer: Option<SocketAddr>) -> ConnIdentity {
        ConnIdentity(Arc::new(ConnIdentityInner { peer, certificate: None }))
    }

    pub fn from_certificate(peer: Option<SocketAddr>, der: &[u8]) -> ConnIdentity {
        ConnIdentity(Arc::new(ConnIdentityInner { peer, certificate: Some(certificate_identity(der)) }))
    }
}

/// Reads the facility code from a client certificate's subject CommonName, and its serial.
pub fn certificate_identity(der: &[u8]) -> CertificateIdentity {
    let sha256 = hex(&Sha256::digest(der));
    let cert = match x509_parser::parse_x509_certificate(der) {
        Ok((_, cert)) => cert,
        Err(e) => {
            let facility = Err(format!("the certificate does not parse: {e}"));
            return CertificateIdentity { facility, sha256, common_name: None, serial: Vec::new() };
        }
    };
    let serial = cert.tbs_certificate.raw_serial().to_vec();
    let mut common_name = None;
    let facility = match cert.subject().iter_common_name().next().map(|cn| cn.as_str()) {
        Some(Ok(cn)) => {
            common_name = Some(cn.to_owned());
            MedicalInstitutionCode::parse(cn, CheckDigits::Lenient)
                .map_err(|e| format!("the certificate's CommonName {cn:?} is not a 医療機関コード: {e}"))
        }
        _ => Err("the certificate has no CommonName naming a 医療機関コード".to_owned()),
    };
    CertificateIdentity { facility, sha256, common_name, serial }
}
