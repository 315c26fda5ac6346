//! Revoked client certificates, so a leaked facility certificate can be shut out without a new
//! CA: by SHA-256 fingerprint through the admin API, and by serial from a CRL file (PEM or DER)
//! loaded at start. Every call checks its connection's certificate (one atomic load when nothing
//! is revoked), so a revocation applies at once, to connections already open as well.
//!
//! Revocations by fingerprint live in `revoked-certificates.json` in the data directory, beside
//! the store generations and not in them: a Reset or a restored snapshot must not bring a revoked
//! certificate back. The file is replaced atomically (write, fsync, rename) before the change is
//! acknowledged or applied.

use std::collections::{BTreeMap, HashSet};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use arc_swap::ArcSwap;
use serde::{Deserialize, Serialize};
use thiserror::Error;

use super::CertificateIdentity;

/// The file of revocations by fingerprint, in the data directory.
pub const FILE_NAME: &str = "revoked-certificates.json";

#[derive(Debug, Error)]
pub enum RevocationError {
    #[error("{0}: {1}")]
    Io(PathBuf, std::io::Error),
    #[error("{0}: {1}")]
    Json(PathBuf, serde_json::Error),
    #[error("CRL {0}: {1}")]
    Crl(PathBuf, String),
}

/// One revocation by fingerprint.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Revoked {
    /// When, unix seconds (the server's clock).
    pub revoked_at: i64,
    pub reason: String,
}

#[derive(Debug, Default)]
struct Sets {
    /// Lowercase hex SHA-256 of the certificate's DER → the revocation.
    fingerprints: BTreeMap<String, Revoked>,
    /// Serials (DER content bytes) revoked by the CRL.
    serials: HashSet<Vec<u8>>,
}

/// The revoked certificates in force.
#[derive(Debug)]
pub struct Revocations {
    sets: ArcSwap<Sets>,
    /// Whether anything is revoked: the hot path reads only this while nothing is.
    any: AtomicBool,
    /// Where fingerprints are kept (`None`: in memory only, for tests).
    file: Option<PathBuf>,
    /// Serializes changes (read, write the file, swap).
    writer: std::sync::Mutex<()>,
}

fn io(path: &Path) -> impl FnOnce(std::io::Error) -> RevocationError + '_ {
    move |e| RevocationError::Io(path.to_owned(), e)
}

/// The serials a CRL file revokes (PEM "X509 CRL" blocks, or one DER CRL).
fn crl_serials(path: &Path) -> Result<HashSet<Vec<u8>>, RevocationError> {
    let bytes = std::fs::read(path).map_err(io(path))?;
    let bad = |e: String| RevocationError::Crl(path.to_owned(), e);
    let ders: Vec<Vec<u8>> = if bytes.starts_with(b"-----") {
        x509_parser::pem::Pem::iter_from_buffer(&bytes)
            .map(|p| p.map(|p| p.contents).map_err(|e| bad(e.to_string())))
            .collect::<Result<_, _>>()?
    } else {
        vec![bytes]
    };
    let mut serials = HashSet::new();
    for der in &ders {
        let (_, crl) = x509_parser::parse_x509_crl(der).map_err(|e| bad(e.to_string()))?;
        for revoked in crl.iter_revoked_certificates() {
            serials.insert(revoked.raw_serial().to_vec());
        }
    }
    Ok(serials)
}

impl Revocations {
    /// Nothing revoked, kept in memory only.
    pub fn in_memory() -> Revocations {
        Revocations::from_sets(Sets::default(), None)
    }

    fn from_sets(sets: Sets, file: Option<PathBuf>) -> Revocations {
        let any = !sets.fingerprints.is_empty() || !sets.serials.is_empty();
        Revocations { sets: ArcSwap::from_pointee(sets), any: AtomicBool::new(any), file, writer: Default::default() }
    }

    /// The revocations kept in `data_dir`, and those of the CRL at `crl` if one is configured.
    pub fn load(data_dir: &Path, crl: Option<&Path>) -> Result<Revocations, RevocationError> {
        let file = data_dir.join(FILE_NAME);
        let fingerprints = match std::fs::read(&file) {
            Ok(bytes) => serde_json::from_slice(&bytes).map_err(|e| RevocationError::Json(file.clone(), e))?,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => BTreeMap::new(),
            Err(e) => return Err(RevocationError::Io(file, e)),
        };
        let serials = crl.map(crl_serials).transpose()?.unwrap_or_default();
        Ok(Revocations::from_sets(Sets { fingerprints, serials }, Some(file)))
    }

    /// Whether `certificate` is revoked (by fingerprint or by the CRL).
    pub fn is_revoked(&self, certificate: &CertificateIdentity) -> bool {
        if !self.any.load(Ordering::Acquire) {
            return false;
        }
        let sets = self.sets.load();
        sets.fingerprints.contains_key(&certificate.sha256) || sets.serials.contains(&certificate.serial)
    }

    /// Every revocation by fingerprint.
    pub fn list(&self) -> BTreeMap<String, Revoked> {
        self.sets.load().fingerprints.clone()
    }

    /// Revokes (`Some`) or reinstates (`None`) the certificate with fingerprint `sha256`
    /// (lowercase hex), durably, then applies it. Returns whether anything changed.
    pub fn set(&self, sha256: &str, revoked: Option<Revoked>) -> Result<bool, RevocationError> {
        let _writer = self.writer.lock().unwrap_or_else(|p| p.into_inner());
        let current = self.sets.load_full();
        let mut fingerprints = current.fingerprints.clone();
        let changed = match revoked {
            Some(r) => fingerprints.insert(sha256.to_owned(), r).is_none(),
            None => fingerprints.remove(sha256).is_some(),
        };
        if let Some(file) = &self.file {
            write_atomically(
                file,
                &serde_json::to_vec_pretty(&fingerprints).map_err(|e| RevocationError::Json(file.clone(), e))?,
            )?;
        }
        let sets = Sets { fingerprints, serials: current.serials.clone() };
        let any = !sets.fingerprints.is_empty() || !sets.serials.is_empty();
        self.sets.store(Arc::new(sets));
        self.any.store(any, Ordering::Release);
        Ok(changed)
    }
}

/// Replaces `path` with `bytes` so that a crash leaves the old file or the new one.
fn write_atomically(path: &Path, bytes: &[u8]) -> Result<(), RevocationError> {
    use std::io::Write;
    let tmp = path.with_extension("json.tmp");
    let mut f = std::fs::File::create(&tmp).map_err(io(&tmp))?;
    f.write_all(bytes).map_err(io(&tmp))?;
    f.sync_all().map_err(io(&tmp))?;
    std::fs::rename(&tmp, path).map_err(io(path))?;
    if let Some(dir) = path.parent() {
        std::fs::File::open(dir).and_then(|d| d.sync_all()).map_err(io(dir))?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cert(sha: &str, serial: &[u8]) -> CertificateIdentity {
        CertificateIdentity {
            facility: Err("test".into()),
            sha256: sha.into(),
            common_name: None,
            serial: serial.to_vec(),
        }
    }

    #[test]
    fn a_revocation_is_kept_across_a_reload_and_can_be_undone() {
        let dir = tempfile::tempdir().expect("dir");
        let r = Revocations::load(dir.path(), None).expect("load");
        assert!(!r.is_revoked(&cert("ab", b"\x01")));
        assert!(r.set("ab", Some(Revoked { revoked_at: 1, reason: "leaked".into() })).expect("revoke"));
        assert!(r.is_revoked(&cert("ab", b"\x01")));
        assert!(!r.is_revoked(&cert("cd", b"\x01")));
        let again = Revocations::load(dir.path(), None).expect("reload");
        assert!(again.is_revoked(&cert("ab", b"\x02")));
        assert!(again.set("ab", None).expect("reinstate"));
        assert!(!again.is_revoked(&cert("ab", b"\x02")));
        assert!(!Revocations::load(dir.path(), None).expect("reload").is_revoked(&cert("ab", b"\x02")));
    }
}
