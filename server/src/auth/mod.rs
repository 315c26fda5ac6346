//! Facility identity and authorization: the certificate (or, in plaintext mode, a metadata
//! header) names a facility; the allow-list says whether it may ask; a facility code inside a
//! request must equal the identity's.

pub mod allow_list;
pub mod identity;
pub mod revocation;

use onshi_domain::facility::{Facility, FacilityStatus};
use onshi_domain::ids::{CheckDigits, MedicalInstitutionCode};
use thiserror::Error;

pub use self::allow_list::AllowList;
pub use self::identity::{CertificateIdentity, ConnIdentity};
pub use self::revocation::Revocations;

/// The CommonName of the admin client certificate: the one certificate the admin API takes.
pub const ADMIN_COMMON_NAME: &str = "onshi-admin";

/// The metadata header that names the facility on a plaintext (loopback-only) connection.
pub const FACILITY_HEADER: &str = "x-onshi-facility";

/// Why a caller was refused. Every variant becomes PERMISSION_DENIED with a stable ErrorInfo
/// reason, except none: even a malformed header is a permission problem, not bad input.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum AuthError {
    #[error("no facility identity: {0}")]
    NoIdentity(String),
    #[error("facility {0} is not on the allow-list")]
    NotListed(MedicalInstitutionCode),
    #[error("facility {0} is suspended")]
    Suspended(MedicalInstitutionCode),
    #[error("facility {0} is bound to another certificate")]
    CertificateNotBound(MedicalInstitutionCode),
    #[error("the request names facility {requested}, but the caller is {caller}")]
    FacilityMismatch { requested: String, caller: MedicalInstitutionCode },
    #[error("the client certificate of {0} is revoked")]
    CertificateRevoked(String),
}

impl AuthError {
    /// The stable ErrorInfo reason.
    pub fn reason(&self) -> &'static str {
        match self {
            AuthError::NoIdentity(_) => "NO_FACILITY_IDENTITY",
            AuthError::NotListed(_) => "FACILITY_NOT_ALLOWED",
            AuthError::Suspended(_) => "FACILITY_SUSPENDED",
            AuthError::CertificateNotBound(_) => "CERTIFICATE_NOT_BOUND",
            AuthError::FacilityMismatch { .. } => "FACILITY_MISMATCH",
            AuthError::CertificateRevoked(_) => "CERTIFICATE_REVOKED",
        }
    }
}

/// A facility allowed to make this request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Caller {
    pub code: MedicalInstitutionCode,
    /// Check-digit validation for this caller's input.
    pub check_digits: CheckDigits,
}

/// Decides whether the peer may call: the facility its certificate (or header) names must be
/// listed, active, and (if the entry is bound to a certificate) presenting that certificate.
pub fn authorize(
    identity: Option<&ConnIdentity>,
    header: Option<&str>,
    allow_list: &AllowList,
    revocations: &Revocations,
    default_check_digits: CheckDigits,
) -> Result<Caller, AuthError> {
    let identity = identity.ok_or_else(|| AuthError::NoIdentity("connection carries no identity".into()))?;
    let (code, fingerprint) = match &identity.0.certificate {
        Some(cert) if revocations.is_revoked(cert) => {
            let who = cert.common_name.as_deref().unwrap_or("this connection");
            return Err(AuthError::CertificateRevoked(who.chars().take(24).collect()));
        }
        Some(cert) => (cert.facility.clone().map_err(AuthError::NoIdentity)?, Some(cert.sha256.as_str())),
        None => {
            let h = header.ok_or_else(|| {
                AuthError::NoIdentity(format!("plaintext mode needs the {FACILITY_HEADER} metadata header"))
            })?;
            let code = MedicalInstitutionCode::parse(h, CheckDigits::Lenient)
                .map_err(|e| AuthError::NoIdentity(format!("{FACILITY_HEADER}: {e}")))?;
            (code, None)
        }
    };
    allow_list.with(&code, |entry| check_entry(code, entry, fingerprint, default_check_digits))
}

fn check_entry(
    code: MedicalInstitutionCode,
    entry: Option<&Facility>,
    fingerprint: Option<&str>,
    default_check_digits: CheckDigits,
) -> Result<Caller, AuthError> {
    let entry = entry.ok_or(AuthError::NotListed(code))?;
    if entry.status == FacilityStatus::Suspended {
        return Err(AuthError::Suspended(code));
    }
    if let (Some(bound), Some(presented)) = (&entry.certificate_sha256, fingerprint)
        && !bound.eq_ignore_ascii_case(presented)
    {
        return Err(AuthError::CertificateNotBound(code));
    }
    Ok(Caller { code, check_digits: entry.check_digits.unwrap_or(default_check_digits) })
}

/// Checks a facility code written inside a request: empty means "the caller"; anything else must
/// be the caller's code.
pub fn check_request_facility(caller: &Caller, requested: &str) -> Result<(), AuthError> {
    if requested.is_empty() || requested == caller.code.as_str() {
        Ok(())
    } else {
        Err(AuthError::FacilityMismatch { requested: requested.chars().take(16).collect(), caller: caller.code })
    }
}

#[cfg(test)]
mod tests {
    use onshi_domain::facility::FacilityKind;

    use super::*;

    fn code(s: &str) -> MedicalInstitutionCode {
        MedicalInstitutionCode::parse(s, CheckDigits::Strict).expect("valid")
    }

    fn facility(c: &str, status: FacilityStatus) -> Facility {
        Facility {
            code: code(c),
            name: "x".into(),
            kind: FacilityKind::Clinic,
            status,
            certificate_sha256: None,
            check_digits: None,
        }
    }

    #[test]
    fn fails_closed() {
        assert!(AllowList::new(Vec::new()).is_err());
        let list = AllowList::new(vec![facility("0110113719", FacilityStatus::Active)]).expect("non-empty");
        assert!(list.replace(Vec::new()).is_err());
        assert_eq!(list.len(), 1, "a refused replacement keeps the old list");
        let plain = ConnIdentity::plaintext(None);
        assert!(matches!(
            authorize(None, Some("0110113719"), &list, &Revocations::in_memory(), CheckDigits::Strict),
            Err(AuthError::NoIdentity(_))
        ));
        assert!(matches!(
            authorize(Some(&plain), None, &list, &Revocations::in_memory(), CheckDigits::Strict),
            Err(AuthError::NoIdentity(_))
        ));
        assert!(
            authorize(Some(&plain), Some("0110113719"), &list, &Revocations::in_memory(), CheckDigits::Strict).is_ok()
        );
        assert_eq!(
            authorize(Some(&plain), Some("1310000005"), &list, &Revocations::in_memory(), CheckDigits::Strict)
                .map_err(|e| e.reason()),
            Err("FACILITY_NOT_ALLOWED")
        );
    }

    #[test]
    fn suspended_and_bound_entries() {
        let mut bound = facility("0110113719", FacilityStatus::Active);
        bound.certificate_sha256 = Some("ab".into());
        let list = AllowList::new(vec![bound]).expect("non-empty");
        let cert = |sha: &str| {
            ConnIdentity(std::sync::Arc::new(identity::ConnIdentityInner {
                peer: None,
                certificate: Some(CertificateIdentity {
                    facility: Ok(code("0110113719")),
                    sha256: sha.into(),
                    common_name: None,
                    serial: Vec::new(),
                }),
            }))
        };
        assert!(authorize(Some(&cert("AB")), None, &list, &Revocations::in_memory(), CheckDigits::Strict).is_ok());
        assert_eq!(
            authorize(Some(&cert("cd")), None, &list, &Revocations::in_memory(), CheckDigits::Strict)
                .map_err(|e| e.reason()),
            Err("CERTIFICATE_NOT_BOUND")
        );
        list.replace(vec![facility("0110113719", FacilityStatus::Suspended)]).expect("non-empty");
        assert_eq!(
            authorize(Some(&cert("ab")), None, &list, &Revocations::in_memory(), CheckDigits::Strict)
                .map_err(|e| e.reason()),
            Err("FACILITY_SUSPENDED")
        );
    }

    #[test]
    fn request_facility_must_match() {
        let caller = Caller { code: code("0110113719"), check_digits: CheckDigits::Strict };
        assert!(check_request_facility(&caller, "").is_ok());
        assert!(check_request_facility(&caller, "0110113719").is_ok());
        assert_eq!(check_request_facility(&caller, "1310000005").map_err(|e| e.reason()), Err("FACILITY_MISMATCH"));
    }
}
