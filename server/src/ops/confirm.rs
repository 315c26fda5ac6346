//! Who a set of insured numbers identifies: the stored qualification records matching an
//! insured-number query, and the one person they belong to (or none, or several). The single
//! confirmations, 照会番号, the medical services, FeeService's visits and the admin API's person
//! references all resolve people this way.

use onshi_domain::qualification::PersonId;
use onshi_store::values::QualificationRecord;
use onshi_store::{InsuredQuery, Store, StoreError};

use crate::errors::ServiceError;

/// The most qualification records one search returns, and so the most results a several-match
/// answer lists.
pub const MAX_MATCHES: usize = 16;

/// Who a search identifies.
pub enum PersonMatch {
    None,
    Several,
    /// One person, with the encoded base result of their newest matching qualification.
    One(PersonId, Vec<u8>),
}

/// The stored qualification records matching a query, encoded ready to serve.
pub fn lookup(store: &Store, q: &InsuredQuery) -> Result<Vec<Vec<u8>>, ServiceError> {
    Ok(store.insured(q, MAX_MATCHES)?)
}

/// The one person a search identifies (any qualification, valid or not: history follows the
/// person, not the insurer).
pub fn resolve_person(store: &Store, q: &InsuredQuery) -> Result<PersonMatch, ServiceError> {
    let stored = lookup(store, q)?;
    let mut found: Option<(PersonId, Vec<u8>)> = None;
    for bytes in &stored {
        let record = QualificationRecord::decode(bytes).map_err(StoreError::from)?;
        match &found {
            Some((p, _)) if *p != record.person => return Ok(PersonMatch::Several),
            _ => found = Some((record.person, record.parts.base.to_vec())),
        }
    }
    Ok(found.map_or(PersonMatch::None, |(p, base)| PersonMatch::One(p, base)))
}
