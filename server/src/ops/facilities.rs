//! The allow-list: adding or replacing an entry and removing one. Both change the store and reload
//! the in-memory list under the allow-list's write lock (see `App::change_facilities`).

use onshi_domain::facility::Facility;
use onshi_domain::ids::MedicalInstitutionCode;

use crate::app::App;
use crate::errors::ServiceError;

/// Adds `entry` to the allow-list, or replaces the entry of its code.
pub fn put(app: &App, entry: &Facility) -> Result<(), ServiceError> {
    app.change_facilities(|store| Ok(store.put_facilities(std::slice::from_ref(entry))?))
}

/// Removes a facility. The last one cannot go: an empty allow-list never means "allow all".
pub fn remove(app: &App, code: &MedicalInstitutionCode) -> Result<(), ServiceError> {
    let mut refusal = None;
    app.change_facilities(|store| {
        // Checked and deleted under the allow-list's write lock: two removals at once cannot
        // both see a second facility and leave the list empty.
        let facilities = store.facilities()?;
        if !facilities.iter().any(|f| f.code == *code) {
            refusal = Some(ServiceError::not_found("facility", "FACILITY_NOT_FOUND"));
        } else if facilities.len() == 1 {
            refusal = Some(ServiceError::FailedPrecondition {
                reason: "ALLOW_LIST_WOULD_BE_EMPTY",
                message: "the allow-list would be empty; it never means \"allow all\"".to_owned(),
            });
        } else {
            store.delete_facility(code)?;
        }
        Ok(())
    })?;
    refusal.map_or(Ok(()), Err)
}
