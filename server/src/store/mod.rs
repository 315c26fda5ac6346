//! The RocksDB store: one column family per kind of record (see [`keys`]), hot-path values ready
//! to serve (see [`values`]), and bulk loading through sorted SST files (see [`bulk`]).
//!
//! The store speaks validated domain types and bytes; it never sees protobuf types. Every change
//! that touches several records is one `WriteBatch`, written with the WAL on, so an acknowledged
//! write survives the process being killed; `sync_writes` adds an fsync per write for power loss.

pub mod bulk;
pub mod keys;
pub mod values;

use std::path::{Path, PathBuf};

use onshi_domain::codes::ConsentKind;
use onshi_domain::date::Date;
use onshi_domain::facility::Facility;
use onshi_domain::ids::{CertificateSerial, InsuredBranchNumber, MedicalInstitutionCode};
use onshi_domain::qualification::PersonId;
use rocksdb::{
    BlockBasedOptions, Cache, ColumnFamily, ColumnFamilyDescriptor, DB, DBCompressionType, DBPinnableSlice,
    DataBlockIndexType, Direction, IteratorMode, Options, ReadOptions, WriteBatch, WriteOptions,
};
use serde::{Deserialize, Serialize};
use thiserror::Error;

use self::values::{ConsentValue, CorruptValue, RevokedCard};

/// Store failures. None of them is the caller's fault; the service reports them as INTERNAL.
#[derive(Debug, Error)]
pub enum StoreError {
    #[error("rocksdb: {0}")]
    Rocks(#[from] rocksdb::Error),
    #[error(transparent)]
    Corrupt(#[from] CorruptValue),
    #[error("stored JSON: {0}")]
    Json(#[from] serde_json::Error),
    #[error("column family {0} is missing")]
    MissingColumnFamily(&'static str),
    #[error("store layout version {found} is not {expected}: seed a new data directory")]
    Schema { found: u32, expected: u32 },
    #[error("{0}: {1}")]
    Io(PathBuf, std::io::Error),
}

/// Tuning that matters for speed and durability.
#[derive(Debug, Clone, Copy)]
pub struct StoreOptions {
    /// Shared block cache for every column family.
    pub block_cache_bytes: usize,
    /// fsync the WAL on every write (survives power loss, not only process death).
    pub sync_writes: bool,
}

impl Default for StoreOptions {
    fn default() -> Self {
        StoreOptions { block_cache_bytes: 256 << 20, sync_writes: false }
    }
}

/// What the store was seeded with.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct PopulationMeta {
    pub seed: u64,
    pub persons: u64,
    /// The population's reference date, YYYYMMDD.
    pub as_of: u32,
}

impl PopulationMeta {
    pub fn as_of_date(&self) -> Option<Date> {
        Date::from_u32(self.as_of)
    }
}

/// The outcome of reading a card serial.
pub enum CardLookup<'a> {
    /// An active card: the pinned `values::CardValue` bytes.
    Active(DBPinnableSlice<'a>),
    Revoked(RevokedCard),
    Unknown,
}

/// An opened store.
pub struct Store {
    db: DB,
    path: PathBuf,
    write_opts: WriteOptions,
    /// Kept so SST files for bulk loads are written with each column family's own options.
    cf_options: Vec<(&'static str, Options)>,
    /// The shared block cache; kept alive and measurable.
    _cache: Cache,
}

impl std::fmt::Debug for Store {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Store").field("path", &self.path).finish_non_exhaustive()
    }
}

fn cf_options(name: &str, cache: &Cache) -> Options {
    let mut block = BlockBasedOptions::default();
    block.set_block_cache(cache);
    // About 1 % false positives: misses (unknown people) rarely touch data blocks.
    block.set_bloom_filter(10.0, false);
    block.set_cache_index_and_filter_blocks(true);
    block.set_pin_l0_filter_and_index_blocks_in_cache(true);
    block.set_format_version(5);
    if matches!(name, keys::CF_CARD_RESULTS | keys::CF_QUALIFICATIONS | keys::CF_CARDS) {
        // Point lookups only: a hash index inside data blocks saves the binary search.
        block.set_data_block_index_type(DataBlockIndexType::BinaryAndHash);
    }
    let mut opts = Options::default();
    opts.set_block_based_table_factory(&block);
    opts.set_compression_type(DBCompressionType::Lz4);
    opts
}

impl Store {
    /// Opens (creating if needed) the store at `path`, with every column family configured
    /// explicitly (a family opened by name alone would silently lose the cache and bloom filters).
    pub fn open(path: &Path, options: StoreOptions) -> Result<Store, StoreError> {
        std::fs::create_dir_all(path).map_err(|e| StoreError::Io(path.to_owned(), e))?;
        let cache = Cache::new_lru_cache(options.block_cache_bytes);
        let mut db_opts = Options::default();
        db_opts.create_if_missing(true);
        db_opts.create_missing_column_families(true);
        db_opts.increase_parallelism(2);
        db_opts.set_max_background_jobs(2);
        db_opts.set_keep_log_file_num(3);
        let cf_options: Vec<(&'static str, Options)> =
            keys::ALL_CFS.iter().map(|name| (*name, cf_options(name, &cache))).collect();
        let descriptors =
            cf_options.iter().map(|(name, opts)| ColumnFamilyDescriptor::new(*name, opts.clone())).collect::<Vec<_>>();
        let db = DB::open_cf_descriptors(&db_opts, path, descriptors)?;
        let mut write_opts = WriteOptions::default();
        write_opts.set_sync(options.sync_writes);
        let store = Store { db, path: path.to_owned(), write_opts, cf_options, _cache: cache };
        store.check_schema()?;
        Ok(store)
    }

    fn check_schema(&self) -> Result<(), StoreError> {
        let meta = self.cf(keys::CF_META)?;
        match self.db.get_pinned_cf(meta, keys::META_SCHEMA)? {
            Some(v) => {
                let found = v.as_ref().try_into().map(u32::from_be_bytes).unwrap_or(0);
                if found != keys::SCHEMA_VERSION {
                    return Err(StoreError::Schema { found, expected: keys::SCHEMA_VERSION });
                }
            }
            None => {
                self.db.put_cf_opt(meta, keys::META_SCHEMA, keys::SCHEMA_VERSION.to_be_bytes(), &self.write_opts)?
            }
        }
        Ok(())
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    fn cf(&self, name: &'static str) -> Result<&ColumnFamily, StoreError> {
        self.db.cf_handle(name).ok_or(StoreError::MissingColumnFamily(name))
    }

    /// The card confirmation's read: one point read of the serial; a miss looks for a revoked card.
    pub fn card(&self, serial: &CertificateSerial) -> Result<CardLookup<'_>, StoreError> {
        let key = keys::card(serial);
        if let Some(v) = self.db.get_pinned_cf(self.cf(keys::CF_CARD_RESULTS)?, key)? {
            return Ok(CardLookup::Active(v));
        }
        match self.db.get_pinned_cf(self.cf(keys::CF_CARDS)?, key)? {
            Some(v) => Ok(CardLookup::Revoked(RevokedCard::decode(&v)?)),
            None => Ok(CardLookup::Unknown),
        }
    }

    /// The qualification records matching an insured-number prefix (see [`keys::insured_prefix`]):
    /// with a 枝番, the one exact key; without, every branch under the prefix. At most `limit`.
    pub fn insured(
        &self,
        prefix: &[u8],
        branch: Option<InsuredBranchNumber>,
        limit: usize,
    ) -> Result<Vec<Vec<u8>>, StoreError> {
        let index = self.cf(keys::CF_INSURED_INDEX)?;
        let quals = self.cf(keys::CF_QUALIFICATIONS)?;
        let mut qual_keys: Vec<Vec<u8>> = Vec::new();
        match branch {
            Some(b) => {
                let mut key = Vec::with_capacity(prefix.len() + 2);
                key.extend_from_slice(prefix);
                key.extend_from_slice(b.as_bytes());
                if let Some(v) = self.db.get_pinned_cf(index, key)? {
                    qual_keys.push(v.to_vec());
                }
            }
            None => {
                let mut ro = ReadOptions::default();
                // Branches are at most 2 bytes after the prefix: bound the scan to the prefix.
                let mut upper = prefix.to_vec();
                upper.extend_from_slice(b"\xff\xff\xff");
                ro.set_iterate_upper_bound(upper);
                for item in self.db.iterator_cf_opt(index, ro, IteratorMode::From(prefix, Direction::Forward)) {
                    let (k, v) = item?;
                    if !k.starts_with(prefix) || k.len() > prefix.len() + 2 || qual_keys.len() >= limit {
                        break;
                    }
                    qual_keys.push(v.to_vec());
                }
            }
        }
        let mut out = Vec::with_capacity(qual_keys.len());
        for k in qual_keys {
            if let Some(v) = self.db.get_pinned_cf(quals, &k)? {
                out.push(v.to_vec());
            }
        }
        Ok(out)
    }

    /// Records consents given at the card reader, all in one atomic write.
    pub fn record_consents(
        &self,
        facility: &MedicalInstitutionCode,
        person: PersonId,
        consents: &[(ConsentKind, ConsentValue)],
    ) -> Result<(), StoreError> {
        if consents.is_empty() {
            return Ok(());
        }
        let cf = self.cf(keys::CF_CONSENTS)?;
        let mut batch = WriteBatch::default();
        for (kind, value) in consents {
            batch.put_cf(cf, keys::consent(facility, person, kind.tag()), value.encode());
        }
        self.db.write_opt(batch, &self.write_opts)?;
        Ok(())
    }

    /// The latest consent of `kind` that `facility` holds for `person`.
    pub fn consent(
        &self,
        facility: &MedicalInstitutionCode,
        person: PersonId,
        kind: ConsentKind,
    ) -> Result<Option<ConsentValue>, StoreError> {
        let cf = self.cf(keys::CF_CONSENTS)?;
        match self.db.get_pinned_cf(cf, keys::consent(facility, person, kind.tag()))? {
            Some(v) => Ok(Some(ConsentValue::decode(&v)?)),
            None => Ok(None),
        }
    }

    /// Every facility on the allow-list.
    pub fn facilities(&self) -> Result<Vec<Facility>, StoreError> {
        let cf = self.cf(keys::CF_FACILITIES)?;
        let mut out = Vec::new();
        for item in self.db.iterator_cf(cf, IteratorMode::Start) {
            let (_, v) = item?;
            out.push(serde_json::from_slice(&v)?);
        }
        Ok(out)
    }

    /// Adds or replaces allow-list entries in one write.
    pub fn put_facilities(&self, facilities: &[Facility]) -> Result<(), StoreError> {
        let cf = self.cf(keys::CF_FACILITIES)?;
        let mut batch = WriteBatch::default();
        for f in facilities {
            batch.put_cf(cf, keys::facility(&f.code), serde_json::to_vec(f)?);
        }
        self.db.write_opt(batch, &self.write_opts)?;
        Ok(())
    }

    /// The population the store was seeded with; `None` until a seed has finished.
    pub fn population(&self) -> Result<Option<PopulationMeta>, StoreError> {
        match self.db.get_pinned_cf(self.cf(keys::CF_META)?, keys::META_POPULATION)? {
            Some(v) => Ok(Some(serde_json::from_slice(&v)?)),
            None => Ok(None),
        }
    }

    /// Marks the seed as finished. Synced: a store that says it is seeded must be.
    pub(crate) fn put_population(&self, meta: &PopulationMeta) -> Result<(), StoreError> {
        let mut opts = WriteOptions::default();
        opts.set_sync(true);
        self.db.put_cf_opt(self.cf(keys::CF_META)?, keys::META_POPULATION, serde_json::to_vec(meta)?, &opts)?;
        Ok(())
    }

    /// Writes a batch built with [`Store::batch_put`], atomically.
    pub(crate) fn write(&self, batch: WriteBatch) -> Result<(), StoreError> {
        self.db.write_opt(batch, &self.write_opts)?;
        Ok(())
    }

    /// Adds a put of `key` in column family `cf` to `batch`.
    pub(crate) fn batch_put(
        &self,
        batch: &mut WriteBatch,
        cf: &'static str,
        key: &[u8],
        value: &[u8],
    ) -> Result<(), StoreError> {
        batch.put_cf(self.cf(cf)?, key, value);
        Ok(())
    }

    /// The options a column family was opened with (SST files must be written with them).
    pub(crate) fn options_of(&self, cf: &'static str) -> Result<&Options, StoreError> {
        self.cf_options.iter().find(|(n, _)| *n == cf).map(|(_, o)| o).ok_or(StoreError::MissingColumnFamily(cf))
    }

    /// Moves finished SST files into a column family (one atomic ingestion per call).
    pub(crate) fn ingest(&self, cf: &'static str, files: &[PathBuf]) -> Result<(), StoreError> {
        if files.is_empty() {
            return Ok(());
        }
        let mut opts = rocksdb::IngestExternalFileOptions::default();
        opts.set_move_files(true);
        self.db.ingest_external_file_cf_opts(self.cf(cf)?, &opts, files.to_vec())?;
        Ok(())
    }

    /// Bytes held by the block cache.
    pub fn block_cache_usage(&self) -> Option<u64> {
        self.db.property_int_value("rocksdb.block-cache-usage").ok().flatten()
    }
}
