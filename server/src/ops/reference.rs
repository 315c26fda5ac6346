//! 照会番号 registration: a facility's own patient ID recorded for the person a set of insured
//! numbers identifies, all of one call in one write. Never a lookup key; no facility sees another's.

use onshi_domain::ids::MedicalInstitutionCode;
use onshi_store::{ChangeSet, InsuredQuery, Store};

use super::confirm::{PersonMatch, resolve_person};
use crate::errors::ServiceError;

/// What became of one registration.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Registered {
    /// Recorded (an empty number removes the facility's registration).
    Done,
    NoMatch,
    SeveralMatch,
}

/// Registers each (query, number) for `facility`, in order; every recorded one lands in one batch.
pub fn register<'a>(
    store: &Store,
    facility: MedicalInstitutionCode,
    registrations: impl IntoIterator<Item = (InsuredQuery, &'a str)>,
) -> Result<Vec<Registered>, ServiceError> {
    let mut changes = ChangeSet::default();
    let mut results = Vec::new();
    for (query, number) in registrations {
        results.push(match resolve_person(store, &query)? {
            PersonMatch::None => Registered::NoMatch,
            PersonMatch::Several => Registered::SeveralMatch,
            PersonMatch::One(person, _) => {
                changes.reference_number(facility, person, (!number.is_empty()).then(|| number.to_owned()));
                Registered::Done
            }
        });
    }
    store.commit(changes)?;
    Ok(results)
}
