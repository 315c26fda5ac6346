//! Bulk loading: sorted entries are written to SST files with the column family's own options and
//! then ingested, which bypasses the memtable, the WAL and compaction's rewrite of fresh data.

use std::path::{Path, PathBuf};

use crate::{Store, StoreError};

/// SST files being prepared for one column family.
pub struct SstSet<'s> {
    store: &'s Store,
    cf: &'static str,
    dir: PathBuf,
    files: Vec<PathBuf>,
}

impl<'s> SstSet<'s> {
    /// Files go to `dir` (created if needed), which must be on the store's file system so that
    /// ingestion can move them.
    pub fn new(store: &'s Store, cf: &'static str, dir: &Path) -> Result<SstSet<'s>, StoreError> {
        std::fs::create_dir_all(dir).map_err(|e| StoreError::Io(dir.to_owned(), e))?;
        Ok(SstSet { store, cf, dir: dir.to_owned(), files: Vec::new() })
    }

    /// Writes one file from entries sorted by key (strictly increasing). Nothing is written for
    /// no entries.
    pub fn write_sorted<'e, I>(&mut self, name: &str, entries: I) -> Result<(), StoreError>
    where
        I: IntoIterator<Item = (&'e [u8], &'e [u8])>,
    {
        let mut entries = entries.into_iter().peekable();
        if entries.peek().is_none() {
            return Ok(());
        }
        let opts = self.store.options_of(self.cf)?;
        let writer = rocksdb::SstFileWriter::create(opts);
        let path = self.dir.join(format!("{}-{name}.sst", self.cf));
        writer.open(&path)?;
        let mut writer = writer;
        for (k, v) in entries {
            writer.put(k, v)?;
        }
        writer.finish()?;
        self.files.push(path);
        Ok(())
    }

    /// Takes over the files another set (of the same column family) has written.
    pub fn absorb(mut self, other: SstSet<'_>) -> Self {
        debug_assert_eq!(self.cf, other.cf);
        self.files.extend(other.files);
        self
    }

    /// Ingests every file written so far in one atomic step. Files must not overlap each other.
    pub fn ingest(self) -> Result<usize, StoreError> {
        let n = self.files.len();
        self.store.ingest(self.cf, &self.files)?;
        Ok(n)
    }
}
