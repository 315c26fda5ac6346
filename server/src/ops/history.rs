//! A person's disclosures (what マイナポータル shows): a page of their access records, newest
//! first, for the holder of a card serial.

use onshi_domain::ids::CertificateSerial;
use onshi_store::values::AccessRecord;
use onshi_store::{PageToken, Store};

use super::people::card_owner;
use crate::errors::ServiceError;

/// Up to `size` access records of the card holder's, after `after`; with the token of the next
/// page if there may be more. A token of another person's listing is refused.
pub fn page(
    store: &Store,
    serial: &CertificateSerial,
    size: usize,
    after: Option<PageToken>,
) -> Result<(Vec<AccessRecord>, Option<PageToken>), ServiceError> {
    let person = card_owner(store, serial)?.person();
    if after.is_some_and(|t| t.person() != person) {
        return Err(ServiceError::bad("page_token", "belongs to another listing"));
    }
    Ok(store.access_history(person, size, after.as_ref())?)
}
