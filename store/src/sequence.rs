//! Numbers handed out from memory and made durable by the write that uses them.
//!
//! A [`Sequence`] gives each caller a number no other caller gets (one atomic add, no lock, no
//! read of the store). The number's high-water mark goes into the same `WriteBatch` as the record
//! that uses it, as a RocksDB merge with the "largest wins" operator of `meta`, so batches may
//! land in any order and the mark still only grows; at open the sequence continues from the
//! mark. A number whose record was never written is skipped, never reused: an acknowledged
//! record's number is always below the recovered mark.

use std::sync::atomic::{AtomicU64, Ordering};

use rocksdb::{ColumnFamily, DB, MergeOperands, WriteBatch};

use crate::StoreError;

/// The merge operator's name (stored in the OPTIONS file; never change it).
pub(super) const MAX_MERGE_NAME: &str = "onshi.max_u64";

/// "Largest wins" over big-endian u64 values: the merge operator of the `meta` family. Only
/// sequence marks are ever merged; a value of another length counts as 0.
pub(super) fn max_merge(_key: &[u8], existing: Option<&[u8]>, operands: &MergeOperands) -> Option<Vec<u8>> {
    let read = |v: &[u8]| <[u8; 8]>::try_from(v).map_or(0, u64::from_be_bytes);
    let max = operands.iter().map(read).chain(existing.map(read)).max().unwrap_or(0);
    Some(max.to_be_bytes().to_vec())
}

/// A store-wide counter (see the module doc).
#[derive(Debug)]
pub struct Sequence {
    /// Its key in `meta`.
    key: &'static [u8],
    next: AtomicU64,
}

/// A number handed out by a [`Sequence`]; pass it to the write that stores its record.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[must_use = "a number must be persisted with the record that uses it"]
pub struct Allocated {
    key: &'static [u8],
    pub value: u64,
}

impl Sequence {
    /// The sequence stored under `key`, continuing after its high-water mark.
    pub(super) fn recover(db: &DB, meta: &ColumnFamily, key: &'static [u8]) -> Result<Sequence, StoreError> {
        let next =
            db.get_pinned_cf(meta, key)?.map_or(0, |v| <[u8; 8]>::try_from(v.as_ref()).map_or(0, u64::from_be_bytes));
        Ok(Sequence { key, next: AtomicU64::new(next) })
    }

    /// A number nobody else gets from this store.
    pub fn allocate(&self) -> Allocated {
        Allocated { key: self.key, value: self.next.fetch_add(1, Ordering::Relaxed) }
    }

    /// The next number it would hand out.
    pub fn peek(&self) -> u64 {
        self.next.load(Ordering::Relaxed)
    }

    /// Never hands out a number below `next` from now on (a restored generation continues where
    /// the replaced one was, so a number is not handed out twice across a reset).
    pub(super) fn raise_to(&self, next: u64) {
        self.next.fetch_max(next, Ordering::Relaxed);
    }
}

impl Allocated {
    /// Adds the high-water mark to the batch that writes the number's record.
    pub(super) fn persist(&self, batch: &mut WriteBatch, meta: &ColumnFamily) {
        batch.merge_cf(meta, self.key, (self.value + 1).to_be_bytes());
    }
}

#[cfg(test)]
mod tests {
    use crate::{ChangeSet, Store, StoreOptions};

    #[test]
    fn marks_written_out_of_order_still_recover_past_every_number() {
        let dir = tempfile::tempdir().expect("temp dir");
        {
            let store = Store::open(dir.path(), StoreOptions::default()).expect("open");
            let (a, b) = (store.reception_numbers().allocate(), store.reception_numbers().allocate());
            assert_eq!((a.value, b.value), (0, 1));
            // The later number's record lands first; the earlier one's mark must not lower it.
            for (n, name) in [(b, "b"), (a, "a")] {
                let mut changes = ChangeSet::default();
                changes.bulk_job(name.into(), b"job".to_vec(), n);
                store.commit(changes).expect("commit");
            }
            // Handed out but never written: skipped after a restart, not reused.
            let _lost = store.reception_numbers().allocate();
        }
        let store = Store::open(dir.path(), StoreOptions::default()).expect("reopen");
        assert_eq!(store.reception_numbers().allocate().value, 2);
        // The other sequence is its own.
        assert_eq!(store.admin_ids().allocate().value, 0);
    }

    #[test]
    fn a_restored_store_continues_after_the_replaced_one() {
        let (d1, d2) = (tempfile::tempdir().expect("dir"), tempfile::tempdir().expect("dir"));
        let old = Store::open(d1.path(), StoreOptions::default()).expect("open");
        for _ in 0..5 {
            let _ = old.admin_ids().allocate();
        }
        let new = Store::open(d2.path(), StoreOptions::default()).expect("open");
        new.continue_sequences_from(&old);
        assert_eq!(new.admin_ids().allocate().value, 5);
        assert_eq!(new.reception_numbers().allocate().value, 0);
    }
}
