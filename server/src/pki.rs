//! A development PKI (rcgen): a CA, a server certificate for loopback names, and one client
//! certificate per facility whose subject CommonName is the facility's 医療機関コード — the binding
//! the server reads to know who is calling. For local use and tests only.

use std::path::{Path, PathBuf};

use rcgen::{
    BasicConstraints, CertificateParams, DistinguishedName, DnType, ExtendedKeyUsagePurpose, IsCa, Issuer, KeyPair,
    KeyUsagePurpose, date_time_ymd,
};
use thiserror::Error;

#[derive(Debug, Error)]
pub enum PkiError {
    #[error("certificate generation: {0}")]
    Rcgen(#[from] rcgen::Error),
    #[error("{0}: {1}")]
    Io(PathBuf, std::io::Error),
    #[error("{0}")]
    Parse(String),
}

/// A certificate and its private key, PEM-encoded.
#[derive(Debug, Clone)]
pub struct CertifiedPem {
    pub cert_pem: String,
    pub key_pem: String,
}

/// A certificate authority able to issue server and facility certificates.
pub struct Ca {
    issuer: Issuer<'static, KeyPair>,
    pem: CertifiedPem,
}

impl std::fmt::Debug for Ca {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Ca").finish_non_exhaustive()
    }
}

fn dn(cn: &str, org: &str) -> DistinguishedName {
    let mut dn = DistinguishedName::new();
    dn.push(DnType::CountryName, "JP");
    dn.push(DnType::OrganizationName, org);
    dn.push(DnType::CommonName, cn);
    dn
}

fn base_params(names: Vec<String>) -> Result<CertificateParams, PkiError> {
    let mut p = CertificateParams::new(names)?;
    p.not_before = date_time_ymd(2024, 1, 1);
    p.not_after = date_time_ymd(2036, 1, 1);
    Ok(p)
}

impl Ca {
    /// A new CA named `name`.
    pub fn generate(name: &str) -> Result<Ca, PkiError> {
        let key = KeyPair::generate()?;
        let mut params = base_params(Vec::new())?;
        params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
        params.distinguished_name = dn(name, "onshi development PKI");
        params.key_usages =
            vec![KeyUsagePurpose::KeyCertSign, KeyUsagePurpose::CrlSign, KeyUsagePurpose::DigitalSignature];
        let cert = params.self_signed(&key)?;
        let pem = CertifiedPem { cert_pem: cert.pem(), key_pem: key.serialize_pem() };
        Ok(Ca { issuer: Issuer::new(params, key), pem })
    }

    /// A CA from its PEM files.
    pub fn load(cert_pem: &str, key_pem: &str) -> Result<Ca, PkiError> {
        let key = KeyPair::from_pem(key_pem)?;
        let issuer = Issuer::from_ca_cert_pem(cert_pem, key)?;
        Ok(Ca { issuer, pem: CertifiedPem { cert_pem: cert_pem.to_owned(), key_pem: key_pem.to_owned() } })
    }

    pub fn pem(&self) -> &CertifiedPem {
        &self.pem
    }

    /// A certificate revocation list of this CA revoking `certificates` (PEM), as PEM (for
    /// `[tls] crl`; tests and rehearsals of a leaked certificate).
    pub fn crl(&self, certificates: &[&str]) -> Result<String, PkiError> {
        let mut revoked_certs = Vec::new();
        for pem in certificates {
            let (_, pem) = x509_parser::pem::parse_x509_pem(pem.as_bytes())
                .map_err(|e| PkiError::Parse(format!("certificate PEM: {e}")))?;
            let cert = pem.parse_x509().map_err(|e| PkiError::Parse(format!("certificate: {e}")))?;
            revoked_certs.push(rcgen::RevokedCertParams {
                serial_number: rcgen::SerialNumber::from_slice(cert.tbs_certificate.raw_serial()),
                revocation_time: date_time_ymd(2024, 1, 2),
                reason_code: Some(rcgen::RevocationReason::KeyCompromise),
                invalidity_date: None,
            });
        }
        let params = rcgen::CertificateRevocationListParams {
            this_update: date_time_ymd(2024, 1, 2),
            next_update: date_time_ymd(2036, 1, 1),
            crl_number: rcgen::SerialNumber::from(1u64),
            issuing_distribution_point: None,
            revoked_certs,
            key_identifier_method: rcgen::KeyIdMethod::Sha256,
        };
        Ok(params.signed_by(&self.issuer)?.pem()?)
    }

    /// A server certificate for `names` (DNS names or IP addresses).
    pub fn issue_server(&self, names: &[&str]) -> Result<CertifiedPem, PkiError> {
        let key = KeyPair::generate()?;
        let mut params = base_params(names.iter().map(|s| (*s).to_owned()).collect())?;
        params.distinguished_name = dn(names.first().copied().unwrap_or("onshi"), "onshi");
        params.extended_key_usages = vec![ExtendedKeyUsagePurpose::ServerAuth];
        params.key_usages = vec![KeyUsagePurpose::DigitalSignature];
        let cert = params.signed_by(&key, &self.issuer)?;
        Ok(CertifiedPem { cert_pem: cert.pem(), key_pem: key.serialize_pem() })
    }

    /// A client certificate whose CommonName is the facility code.
    pub fn issue_facility(&self, code: &str, name: &str) -> Result<CertifiedPem, PkiError> {
        self.issue_client(code, name)
    }

    /// A client certificate with the given CommonName and organization.
    pub fn issue_client(&self, common_name: &str, organization: &str) -> Result<CertifiedPem, PkiError> {
        let key = KeyPair::generate()?;
        let mut params = base_params(Vec::new())?;
        params.distinguished_name = dn(common_name, organization);
        params.extended_key_usages = vec![ExtendedKeyUsagePurpose::ClientAuth];
        params.key_usages = vec![KeyUsagePurpose::DigitalSignature];
        let cert = params.signed_by(&key, &self.issuer)?;
        Ok(CertifiedPem { cert_pem: cert.pem(), key_pem: key.serialize_pem() })
    }
}

/// The loopback names the dev server certificate covers.
pub const SERVER_NAMES: &[&str] = &["localhost", "127.0.0.1", "::1"];

/// File paths of a dev PKI directory.
#[derive(Debug, Clone)]
pub struct PkiPaths {
    pub dir: PathBuf,
}

impl PkiPaths {
    pub fn ca(&self) -> PathBuf {
        self.dir.join("ca.pem")
    }
    pub fn ca_key(&self) -> PathBuf {
        self.dir.join("ca.key")
    }
    pub fn server_cert(&self) -> PathBuf {
        self.dir.join("server.pem")
    }
    pub fn server_key(&self) -> PathBuf {
        self.dir.join("server.key")
    }
    pub fn facility_cert(&self, code: &str) -> PathBuf {
        self.dir.join(format!("{code}.pem"))
    }
    pub fn facility_key(&self, code: &str) -> PathBuf {
        self.dir.join(format!("{code}.key"))
    }
    /// The admin client certificate (CommonName "onshi-admin").
    pub fn admin_cert(&self) -> PathBuf {
        self.dir.join("admin.pem")
    }
    pub fn admin_key(&self) -> PathBuf {
        self.dir.join("admin.key")
    }
}

fn read(path: &Path) -> Result<String, PkiError> {
    std::fs::read_to_string(path).map_err(|e| PkiError::Io(path.to_owned(), e))
}

fn write(path: &Path, contents: &str) -> Result<(), PkiError> {
    std::fs::write(path, contents).map_err(|e| PkiError::Io(path.to_owned(), e))
}

/// Makes sure `dir` holds a CA, a server certificate and a certificate for each facility
/// (code, name), reusing whatever is already there. Returns what it created, for the log.
pub fn ensure(dir: &Path, facilities: &[(&str, &str)]) -> Result<(PkiPaths, Vec<PathBuf>), PkiError> {
    std::fs::create_dir_all(dir).map_err(|e| PkiError::Io(dir.to_owned(), e))?;
    let paths = PkiPaths { dir: dir.to_owned() };
    let mut created = Vec::new();
    let ca = if paths.ca().exists() && paths.ca_key().exists() {
        Ca::load(&read(&paths.ca())?, &read(&paths.ca_key())?)?
    } else {
        let ca = Ca::generate("onshi development CA")?;
        write(&paths.ca(), &ca.pem().cert_pem)?;
        write(&paths.ca_key(), &ca.pem().key_pem)?;
        created.push(paths.ca());
        ca
    };
    if !(paths.server_cert().exists() && paths.server_key().exists()) {
        let s = ca.issue_server(SERVER_NAMES)?;
        write(&paths.server_cert(), &s.cert_pem)?;
        write(&paths.server_key(), &s.key_pem)?;
        created.push(paths.server_cert());
    }
    if !(paths.admin_cert().exists() && paths.admin_key().exists()) {
        let a = ca.issue_client(crate::auth::ADMIN_COMMON_NAME, "onshi administration")?;
        write(&paths.admin_cert(), &a.cert_pem)?;
        write(&paths.admin_key(), &a.key_pem)?;
        created.push(paths.admin_cert());
    }
    for (code, name) in facilities {
        if paths.facility_cert(code).exists() && paths.facility_key(code).exists() {
            continue;
        }
        let f = ca.issue_facility(code, name)?;
        write(&paths.facility_cert(code), &f.cert_pem)?;
        write(&paths.facility_key(code), &f.key_pem)?;
        created.push(paths.facility_cert(code));
    }
    Ok((paths, created))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::auth::identity::certificate_identity;

    #[test]
    fn facility_certificates_name_their_facility() {
        let ca = Ca::generate("test CA").expect("CA");
        let f = ca.issue_facility("1312345679", "テスト医院").expect("cert");
        let der = rustls::pki_types::pem::PemObject::from_pem_slice(f.cert_pem.as_bytes())
            .map(|c: rustls::pki_types::CertificateDer<'_>| c.to_vec())
            .expect("PEM");
        let id = certificate_identity(&der);
        assert_eq!(id.facility.map(|c| c.as_str().to_owned()), Ok("1312345679".to_owned()));
        assert_eq!(id.sha256.len(), 64);
        let reloaded = Ca::load(&ca.pem().cert_pem, &ca.pem().key_pem).expect("reload");
        assert!(reloaded.issue_server(SERVER_NAMES).is_ok());
    }
}
