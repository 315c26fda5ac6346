//! The allow-list in memory: facility code → entry, behind an atomic pointer swap, so a change
//! applies to the next request without locks on the read path. It fails closed: a facility that
//! is not on it is refused, and an empty list refuses to be installed.

use std::collections::HashMap;
use std::sync::Arc;

use arc_swap::ArcSwap;
use onshi_domain::facility::Facility;
use onshi_domain::ids::MedicalInstitutionCode;
use thiserror::Error;

/// An empty allow-list would refuse every facility; it is a configuration mistake, never
/// "allow all".
#[derive(Debug, Error)]
#[error("the allow-list is empty: add facilities (onshi-server demo writes a demo list; see README)")]
pub struct EmptyAllowList;

/// The current allow-list.
#[derive(Debug)]
pub struct AllowList {
    entries: ArcSwap<HashMap<MedicalInstitutionCode, Facility>>,
    /// Serializes changes (write the store, read it back, swap); readers never take it.
    writer: std::sync::Mutex<()>,
}

impl AllowList {
    pub fn new(facilities: Vec<Facility>) -> Result<AllowList, EmptyAllowList> {
        Ok(AllowList { entries: ArcSwap::from_pointee(Self::index(facilities)?), writer: Default::default() })
    }

    fn index(facilities: Vec<Facility>) -> Result<HashMap<MedicalInstitutionCode, Facility>, EmptyAllowList> {
        if facilities.is_empty() {
            return Err(EmptyAllowList);
        }
        Ok(facilities.into_iter().map(|f| (f.code, f)).collect())
    }

    /// Held by whoever changes the list, from writing the store to swapping the new list in.
    pub fn writer(&self) -> std::sync::MutexGuard<'_, ()> {
        self.writer.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Replaces the whole list at once.
    pub fn replace(&self, facilities: Vec<Facility>) -> Result<(), EmptyAllowList> {
        self.entries.store(Arc::new(Self::index(facilities)?));
        Ok(())
    }

    /// The entry of `code`, if listed. Lock-free.
    pub fn get(&self, code: &MedicalInstitutionCode) -> Option<Facility> {
        self.entries.load().get(code).cloned()
    }

    /// Runs `f` on the entry of `code` without cloning it.
    pub fn with<R>(&self, code: &MedicalInstitutionCode, f: impl FnOnce(Option<&Facility>) -> R) -> R {
        f(self.entries.load().get(code))
    }

    pub fn len(&self) -> usize {
        self.entries.load().len()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}
