//! The admin API's allow-list and revoked client certificates, translated for `ops::facilities`
//! and the revocation list.

use onshi_domain::date::JstDateTime;
use onshi_domain::facility::{Facility, FacilityKind, FacilityStatus};
use onshi_domain::ids::{CheckDigits, MedicalInstitutionCode};
use onshi_proto::served as pb;
use onshi_store::StoreError;

use super::bad;
use crate::app::App;
use crate::errors::{ServiceError, Violations};
use crate::ops::facilities;

pub(super) fn put(app: &App, req: &pb::PutFacilityRequest) -> Result<pb::FacilityResponse, ServiceError> {
    let empty = pb::FacilityEntry::default();
    let f = req.facility.as_ref().unwrap_or(&empty);
    let mut v = Violations::default();
    let code = v.check(
        "facility.medical_institution_code",
        MedicalInstitutionCode::parse(&f.medical_institution_code, CheckDigits::Strict),
    );
    let kind = match f.kind.as_str() {
        "" | "clinic" => FacilityKind::Clinic,
        "hospital" => FacilityKind::Hospital,
        "dental" => FacilityKind::Dental,
        "pharmacy" => FacilityKind::Pharmacy,
        _ => {
            v.add("facility.kind", "must be clinic, hospital, dental or pharmacy");
            FacilityKind::Clinic
        }
    };
    let status = match f.status.as_str() {
        "" | "active" => FacilityStatus::Active,
        "suspended" => FacilityStatus::Suspended,
        _ => {
            v.add("facility.status", "must be active or suspended");
            FacilityStatus::Active
        }
    };
    let check_digits = match f.check_digits.as_str() {
        "" => None,
        "strict" => Some(CheckDigits::Strict),
        "lenient" => Some(CheckDigits::Lenient),
        _ => {
            v.add("facility.check_digits", "must be strict, lenient or empty");
            None
        }
    };
    let sha = f.certificate_sha256.to_ascii_lowercase();
    if !sha.is_empty() && (sha.len() != 64 || !sha.bytes().all(|b| b.is_ascii_hexdigit())) {
        v.add("facility.certificate_sha256", "must be 64 hex digits (SHA-256 of the certificate's DER)");
    }
    let code = v.finish_with(code)?;
    let entry = Facility {
        code,
        name: f.name.clone(),
        kind,
        status,
        certificate_sha256: (!sha.is_empty()).then_some(sha),
        check_digits,
    };
    facilities::put(app, &entry)?;
    Ok(pb::FacilityResponse { facility: Some(entry_pb(&entry)) })
}

pub(super) fn remove(app: &App, req: &pb::RemoveFacilityRequest) -> Result<pb::RemoveFacilityResponse, ServiceError> {
    let code = MedicalInstitutionCode::parse(&req.medical_institution_code, CheckDigits::Lenient)
        .map_err(|e| bad("medical_institution_code", e.to_string()))?;
    facilities::remove(app, &code)?;
    Ok(pb::RemoveFacilityResponse {})
}

pub(super) fn entry_pb(f: &Facility) -> pb::FacilityEntry {
    pb::FacilityEntry {
        medical_institution_code: f.code.as_str().to_owned(),
        name: f.name.clone(),
        kind: serde_json::to_value(f.kind).ok().and_then(|v| v.as_str().map(str::to_owned)).unwrap_or_default(),
        status: serde_json::to_value(f.status).ok().and_then(|v| v.as_str().map(str::to_owned)).unwrap_or_default(),
        certificate_sha256: f.certificate_sha256.clone().unwrap_or_default(),
        check_digits: f
            .check_digits
            .and_then(|c| serde_json::to_value(c).ok().and_then(|v| v.as_str().map(str::to_owned)))
            .unwrap_or_default(),
    }
}

/// A certificate fingerprint as given (hex, any case, colons allowed) → 64 lowercase hex digits.
pub(super) fn fingerprint(given: &str) -> Result<String, ServiceError> {
    let sha: String = given.chars().filter(|c| *c != ':').collect::<String>().to_ascii_lowercase();
    if sha.len() != 64 || !sha.bytes().all(|b| b.is_ascii_hexdigit()) {
        return Err(bad(
            "certificate_sha256",
            "must be the 64 hex digits of the certificate's SHA-256 (colons allowed)",
        ));
    }
    Ok(sha)
}

pub(super) fn revocation_failed(e: crate::auth::revocation::RevocationError) -> ServiceError {
    tracing::error!(error = %e, "writing the revoked certificates failed");
    ServiceError::Store(StoreError::Io(crate::auth::revocation::FILE_NAME.into(), std::io::Error::other(e.to_string())))
}

pub(super) fn revoked_list(app: &App) -> pb::RevokedCertificatesResponse {
    let revoked = app
        .revocations
        .list()
        .into_iter()
        .map(|(sha, r)| pb::RevokedCertificate {
            certificate_sha256: sha,
            revoked_time: JstDateTime::from_unix_seconds(r.revoked_at).map(JstDateTime::compact).unwrap_or_default(),
            reason: r.reason,
        })
        .collect();
    pb::RevokedCertificatesResponse { revoked }
}
