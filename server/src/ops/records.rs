//! Records added to a person through the admin API — medication and checkup records (shown at once,
//! beside the generated history), and consents set as if given at a facility's card reader — and
//! the live-consent check the medical services make before they disclose anything.

use onshi_domain::codes::ConsentKind;
use onshi_domain::date::{Date, JstDateTime};
use onshi_domain::ids::MedicalInstitutionCode;
use onshi_domain::qualification::PersonId;
use onshi_store::values::ConsentValue;
use onshi_store::{ChangeSet, MedicalKind, Store};

use super::people;
use crate::errors::ServiceError;

/// How long a viewing consent given at the card reader lets the facility read (24 hours).
pub const CONSENT_WINDOW_SECS: i64 = 24 * 60 * 60;

/// Adds an encoded medical record of `kind`, dated `date`, to an existing person.
pub fn add_medical_record(
    store: &Store,
    kind: MedicalKind,
    person: PersonId,
    today: Date,
    date: Date,
    record: &[u8],
) -> Result<(), ServiceError> {
    people::load(store, person, today)?;
    store.add_medical_record(kind, person, date, record)?;
    Ok(())
}

/// The facility's live consent of `kind` from `person`, or why there is none: CONSENT_MISSING, or
/// CONSENT_EXPIRED once its window has passed.
pub fn live_consent(
    store: &Store,
    facility: &MedicalInstitutionCode,
    person: PersonId,
    kind: ConsentKind,
    now: JstDateTime,
) -> Result<ConsentValue, ServiceError> {
    match store.consent(facility, person, kind)? {
        None => Err(ServiceError::ConsentMissing(kind.api_name())),
        Some(c) if now.unix_seconds() >= c.available_until => Err(ServiceError::ConsentExpired {
            kind: kind.api_name(),
            available_time: JstDateTime::from_unix_seconds(c.available_until)
                .map(JstDateTime::compact)
                .unwrap_or_default(),
        }),
        Some(c) => Ok(c),
    }
}

/// Gives (at `now`, for [`CONSENT_WINDOW_SECS`]) or withdraws (`given` false) a facility's
/// consent of `kind`; returns when it was given and until when it allows viewing.
pub fn set_consent(
    store: &Store,
    facility: MedicalInstitutionCode,
    person: PersonId,
    kind: ConsentKind,
    given: bool,
    now: JstDateTime,
) -> Result<Option<(JstDateTime, JstDateTime)>, ServiceError> {
    let mut changes = ChangeSet::default();
    let window = if given {
        let until = now.add_seconds(CONSENT_WINDOW_SECS).unwrap_or(now);
        let value = ConsentValue { given_at: now.unix_seconds(), available_until: until.unix_seconds() };
        changes.consent(facility, person, kind, value);
        Some((now, until))
    } else {
        changes.withdraw_consent(facility, person, kind);
        None
    };
    store.commit(changes)?;
    Ok(window)
}
