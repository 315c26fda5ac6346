//! The admin API's medical records and consents, translated for `ops::records`.

use onshi_domain::codes::ConsentKind;
use onshi_domain::date::Date;
use onshi_domain::ids::{CheckDigits, MedicalInstitutionCode};
use onshi_proto::served as pb;
use onshi_store::MedicalKind;

use super::people::resolve;
use super::{bad, today};
use crate::app::App;
use crate::errors::ServiceError;
use crate::ops::records;

/// Adds an encoded medical record of `kind` dated `date` (the record's own date field, named
/// `field` in a refusal).
pub(super) fn add_medical_record(
    app: &App,
    kind: MedicalKind,
    person: Option<&pb::PersonRef>,
    date: &str,
    record: &[u8],
    field: &str,
) -> Result<pb::AddRecordResponse, ServiceError> {
    let id = resolve(app, person)?;
    let date = Date::parse_yyyymmdd(date).map_err(|e| bad(field, e.to_string()))?;
    // The operation reads the person (NOT_FOUND for nobody) before it writes.
    records::add_medical_record(&app.store.get(), kind, id, today(app), date, record)?;
    Ok(pb::AddRecordResponse { person_id: id.0 })
}

pub(super) fn set_consent(app: &App, req: &pb::SetConsentRequest) -> Result<pb::SetConsentResponse, ServiceError> {
    let id = resolve(app, req.person.as_ref())?;
    let facility = MedicalInstitutionCode::parse(&req.medical_institution_code, CheckDigits::Lenient)
        .map_err(|e| bad("medical_institution_code", e.to_string()))?;
    let kind = ConsentKind::from_api_name(&req.consent_kind).filter(|k| k.has_window()).ok_or_else(|| {
        bad("consent_kind", "must be pharmacists_info, specific_health_checkups_info, diagnosis_info or operation_info")
    })?;
    let window = records::set_consent(&app.store.get(), facility, id, kind, req.given, app.clock.now())?;
    Ok(window.map_or_else(pb::SetConsentResponse::default, |(at, until)| pb::SetConsentResponse {
        consent_time: at.compact(),
        consent_available_time: until.compact(),
    }))
}
