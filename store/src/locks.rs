//! Per-record locks for the writes that read a record before replacing it (the admin API's
//! person changes): a fixed table of mutexes, a record hashed to one of them. A writer takes
//! every stripe it needs at once, in ascending order (so two writers never wait on each other in
//! a cycle), reads, builds one `WriteBatch`, writes and lets go. Nothing on the facility hot path
//! takes these locks, and none is held across an `.await` (the admin handlers are synchronous).

use std::hash::{Hash, Hasher};
use std::sync::{Mutex, MutexGuard};

use onshi_domain::ids::CertificateSerial;
use onshi_domain::qualification::PersonId;

const STRIPES: usize = 256;

/// The lock table of one store.
#[derive(Debug)]
pub struct RecordLocks {
    stripes: Vec<Mutex<()>>,
}

impl Default for RecordLocks {
    fn default() -> Self {
        RecordLocks { stripes: (0..STRIPES).map(|_| Mutex::new(())).collect() }
    }
}

fn stripe(key: impl Hash) -> usize {
    let mut h = std::collections::hash_map::DefaultHasher::new();
    key.hash(&mut h);
    (h.finish() % STRIPES as u64) as usize
}

fn person_stripe(person: PersonId) -> usize {
    stripe(("person", person.0))
}

fn serial_stripe(serial: &CertificateSerial) -> usize {
    stripe(("serial", serial.as_str()))
}

/// Held while a person's record is read and replaced: the person and the card serials the
/// change gives it (a serial belongs to one person only, so claiming one is a read of its owner
/// followed by a write).
#[derive(Debug)]
pub struct PersonGuard<'a> {
    person: PersonId,
    stripes: Vec<usize>,
    _held: Vec<MutexGuard<'a, ()>>,
}

impl RecordLocks {
    /// Waits for and takes the locks of `person` and `serials`.
    pub fn person<'a>(&'a self, person: PersonId, serials: &[&CertificateSerial]) -> PersonGuard<'a> {
        let mut stripes: Vec<usize> =
            std::iter::once(person_stripe(person)).chain(serials.iter().map(|s| serial_stripe(s))).collect();
        stripes.sort_unstable();
        stripes.dedup();
        let held = stripes.iter().map(|&i| self.stripes[i].lock().unwrap_or_else(|p| p.into_inner())).collect();
        PersonGuard { person, stripes, _held: held }
    }
}

/// Held while access records are appended to people's chains (read each head, write the batch).
#[derive(Debug)]
pub struct ChainGuard<'a> {
    _held: Vec<MutexGuard<'a, ()>>,
}

impl RecordLocks {
    /// Waits for and takes the access-chain locks of `people`.
    pub fn access_chains(&self, people: &[PersonId]) -> ChainGuard<'_> {
        let mut stripes: Vec<usize> = people.iter().map(|p| stripe(("access", p.0))).collect();
        stripes.sort_unstable();
        stripes.dedup();
        ChainGuard {
            _held: stripes.iter().map(|&i| self.stripes[i].lock().unwrap_or_else(|p| p.into_inner())).collect(),
        }
    }
}

impl PersonGuard<'_> {
    pub fn person(&self) -> PersonId {
        self.person
    }

    /// Whether the guard covers claiming `serial`.
    pub fn covers(&self, serial: &CertificateSerial) -> bool {
        self.stripes.binary_search(&serial_stripe(serial)).is_ok()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_guard_covers_its_person_and_serials_and_excludes_a_second_writer() {
        let locks = RecordLocks::default();
        let serial = CertificateSerial::parse("C0FFEE01").expect("serial");
        let guard = locks.person(PersonId(7), &[&serial, &serial]);
        assert!(guard.covers(&serial));
        assert_eq!(guard.person(), PersonId(7));
        // The same person's stripe is taken: another writer cannot get it until the guard goes.
        assert!(locks.stripes[person_stripe(PersonId(7))].try_lock().is_err());
        drop(guard);
        assert!(locks.stripes[person_stripe(PersonId(7))].try_lock().is_ok());
    }
}
