//! onshi-store: the RocksDB store. One column family per kind of record (see [`keys`]), hot-path
//! values ready to serve (see [`values`] and [`encoding`]), bulk loading through sorted SST files
//! (see [`bulk`]) and the seeding pipeline (see [`seed`]).
//!
//! The store speaks validated domain types and bytes: it depends on `onshi-domain` and RocksDB,
//! never on protobuf messages, tonic or the command line, and no caller names a column family or
//! builds a key. Every change
//! that touches several records is one `WriteBatch`, written with the WAL on, so an acknowledged
//! write survives the process being killed; `sync_writes` adds an fsync per write for power loss.

mod bulk;
pub mod encoding;
pub mod handle;
mod keys;
pub mod locks;
mod query;
pub mod seed;
pub mod sequence;
pub mod values;
pub mod wire;

pub use handle::StoreHandle;
pub use keys::ConfirmedBy;
pub use query::{InsuredQuery, PageToken};

use std::path::{Path, PathBuf};

use onshi_domain::codes::ConsentKind;
use onshi_domain::date::Date;
use onshi_domain::facility::Facility;
use onshi_domain::ids::{CertificateSerial, MedicalInstitutionCode};
use onshi_domain::qualification::{Person, PersonId};
use rocksdb::{
    BlockBasedOptions, Cache, ColumnFamily, ColumnFamilyDescriptor, DB, DBCompressionType, DBPinnableSlice,
    DataBlockIndexType, Direction, IteratorMode, Options, ReadOptions, WriteBatch, WriteOptions,
};
use serde::{Deserialize, Serialize};
use thiserror::Error;

use self::locks::{PersonGuard, RecordLocks};
use self::sequence::{Allocated, Sequence};
use self::values::{AccessRecord, CardValue, ChainHead, ConfirmationFact, ConsentValue, CorruptValue, RevokedCard};

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
    /// A read-modify-write without the locks it needs: a bug in the caller, refused rather than
    /// risked (see `locks`).
    #[error("write of person {0} without its lock")]
    NotLocked(u64),
}

/// Tuning that matters for speed and durability.
#[derive(Debug, Clone, Copy)]
pub struct StoreOptions {
    /// Shared block cache for every column family.
    pub block_cache_bytes: usize,
    /// fsync the WAL on every write (survives power loss, not only process death).
    pub sync_writes: bool,
    /// How new SST files are compressed (files already written keep theirs).
    pub compression: Compression,
    /// Keep RocksDB's statistics (cache hits and misses; see [`Store::cache_counts`]).
    /// Off by default: every read then counts into shared tickers.
    pub statistics: bool,
    /// Read table files with O_DIRECT: the block cache is then the only cache of the store's
    /// blocks, and a read that misses it costs one disk read and no page-cache upkeep (for stores
    /// much larger than memory; give the block cache the memory instead).
    pub direct_reads: bool,
    /// A cache of whole rows (key → value) in front of the table files, 0 for none: a point read
    /// it holds skips the filter, index and data-block searches (about 8,500 of a card lookup's
    /// 11,500 instructions; BENCHMARKS.md).
    pub row_cache_bytes: usize,
}

impl Default for StoreOptions {
    fn default() -> Self {
        StoreOptions {
            row_cache_bytes: 64 << 20,
            block_cache_bytes: 256 << 20,
            sync_writes: false,
            compression: Compression::None,
            statistics: false,
            direct_reads: false,
        }
    }
}

/// Cache lookups since the store opened: the block cache's by the kind of block looked up, and the
/// row cache's.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct CacheCounts {
    pub data_hits: u64,
    pub data_misses: u64,
    pub index_hits: u64,
    pub index_misses: u64,
    pub filter_hits: u64,
    pub filter_misses: u64,
    pub row_hits: u64,
    pub row_misses: u64,
}

/// Block compression of new SST files. Lookups cost the same either way (the block cache holds
/// blocks uncompressed); LZ4 saves about 37 % of the disk and makes seeding about 1.5 times slower
/// (LZ4 was a quarter of the seeder's CPU; see BENCHMARKS.md).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Compression {
    #[default]
    None,
    Lz4,
}

impl Compression {
    pub const ALL: [Compression; 2] = [Compression::None, Compression::Lz4];

    /// The name used in configuration files and on the command line.
    pub fn name(self) -> &'static str {
        match self {
            Compression::None => "none",
            Compression::Lz4 => "lz4",
        }
    }
}

impl std::fmt::Display for Compression {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.name())
    }
}

impl std::str::FromStr for Compression {
    type Err = String;

    fn from_str(s: &str) -> Result<Compression, String> {
        Compression::ALL
            .into_iter()
            .find(|c| c.name().eq_ignore_ascii_case(s))
            .ok_or_else(|| format!("{s:?} is not a compression; use none or lz4"))
    }
}

/// The medical records added through the admin API, each kind in its own column family.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MedicalKind {
    /// 調剤情報: encoded onshi.v1.DispensingInfo.
    Medication,
    /// 特定健診情報: encoded onshi.v1.SpecificHealthCheckupInfo.
    Checkup,
}

impl MedicalKind {
    fn column_family(self) -> &'static str {
        match self {
            MedicalKind::Medication => keys::CF_MEDICATION_RECORDS,
            MedicalKind::Checkup => keys::CF_CHECKUP_RECORDS,
        }
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

/// The records of one person, encoded for the store (see `seed::person_entries`).
#[derive(Debug, Default, Clone)]
pub struct PersonEntries {
    /// Active cards: serial → card value.
    pub cards: Vec<(String, Vec<u8>)>,
    /// Revoked cards: serial → revoked-card value.
    pub revoked: Vec<(String, Vec<u8>)>,
    /// Qualification key → record.
    pub qualifications: Vec<([u8; 9], Vec<u8>)>,
    /// Index key → qualification key.
    pub index: Vec<(Vec<u8>, [u8; 9])>,
}

/// Everything one call changes, written as one atomic batch: confirmations and consents given,
/// disclosures to record, reference numbers set or removed, bulk jobs stored.
#[derive(Debug, Default)]
pub struct ChangeSet {
    confirmations: Vec<([u8; keys::CONFIRMATION_KEY_LEN], ConfirmationFact)>,
    consents: Vec<(MedicalInstitutionCode, PersonId, ConsentKind, ConsentValue)>,
    withdrawn: Vec<(MedicalInstitutionCode, PersonId, ConsentKind)>,
    access: Vec<(PersonId, AccessRecord)>,
    reference_numbers: Vec<(MedicalInstitutionCode, PersonId, Option<String>)>,
    bulk_jobs: Vec<(String, Vec<u8>, Allocated)>,
}

impl ChangeSet {
    /// Records that `facility` confirmed `person`'s qualification on `day` (JST), at unix second
    /// `at`: a blind put, the day's latest confirmation of that kind wins.
    pub fn confirmation(
        &mut self,
        facility: &MedicalInstitutionCode,
        day: Date,
        person: PersonId,
        by: ConfirmedBy,
        at: i64,
    ) {
        self.confirmations.push((keys::confirmation(facility, day, person, by), ConfirmationFact { at }));
    }

    pub fn consent(
        &mut self,
        facility: MedicalInstitutionCode,
        person: PersonId,
        kind: ConsentKind,
        value: ConsentValue,
    ) {
        self.consents.push((facility, person, kind, value));
    }

    /// Withdraws a consent.
    pub fn withdraw_consent(&mut self, facility: MedicalInstitutionCode, person: PersonId, kind: ConsentKind) {
        self.withdrawn.push((facility, person, kind));
    }

    /// Appends a disclosure to the person's access history.
    pub fn access(&mut self, person: PersonId, record: AccessRecord) {
        self.access.push((person, record));
    }

    /// Sets (or, with `None`, removes) a facility's reference number for a person.
    pub fn reference_number(&mut self, facility: MedicalInstitutionCode, person: PersonId, number: Option<String>) {
        self.reference_numbers.push((facility, person, number));
    }

    /// Stores a bulk job under the reception number made from `number` (from
    /// [`Store::reception_numbers`]), whose high-water mark goes into the same batch.
    pub fn bulk_job(&mut self, reception_number: String, job: Vec<u8>, number: Allocated) {
        self.bulk_jobs.push((reception_number, job, number));
    }

    pub fn is_empty(&self) -> bool {
        self.confirmations.is_empty()
            && self.consents.is_empty()
            && self.withdrawn.is_empty()
            && self.access.is_empty()
            && self.reference_numbers.is_empty()
            && self.bulk_jobs.is_empty()
    }
}

/// An opened store.
pub struct Store {
    db: DB,
    path: PathBuf,
    write_opts: WriteOptions,
    /// Makes access-log keys unique within a millisecond; starts from the clock so keys of
    /// another process run never collide.
    access_sequence: std::sync::atomic::AtomicU64,
    /// Ids of people made through the admin API, and generated card serials.
    admin_ids: Sequence,
    /// 一括照会 reception numbers.
    receptions: Sequence,
    /// Locks for the writes that read a record before replacing it.
    locks: RecordLocks,
    /// Whether any reference number was ever registered in this store: until one is, the card
    /// lookup skips the read for one (it sits on the hot path).
    any_reference_numbers: std::sync::atomic::AtomicBool,
    /// Kept so SST files for bulk loads are written with each column family's own options.
    cf_options: Vec<(&'static str, Options)>,
    /// The shared block cache; kept alive and measurable.
    _cache: Cache,
    /// The row cache, if any; kept alive with the database.
    _row_cache: Option<Cache>,
    /// The database's options when they hold statistics (the tickers are read through them).
    statistics: Option<Options>,
    /// Confirmation facts this store has written: a patient's repeat confirmations at a facility
    /// on one day are the same fact, so their write is skipped (lock-free; see `commit`).
    recorded_facts: papaya::HashSet<[u8; keys::CONFIRMATION_KEY_LEN]>,
}

/// Past this many remembered facts the set starts again (it only saves rewrites).
const MAX_REMEMBERED_FACTS: usize = 2_000_000;

impl std::fmt::Debug for Store {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Store").field("path", &self.path).finish_non_exhaustive()
    }
}

fn cf_options(name: &str, cache: &Cache, compression: Compression) -> Options {
    let mut block = BlockBasedOptions::default();
    block.set_block_cache(cache);
    // About 1 % false positives: misses (unknown people) rarely touch data blocks.
    block.set_bloom_filter(10.0, false);
    block.set_cache_index_and_filter_blocks(true);
    block.set_pin_l0_filter_and_index_blocks_in_cache(true);
    block.set_format_version(5);
    if matches!(name, keys::CF_CARD_RESULTS | keys::CF_QUALIFICATIONS | keys::CF_CARDS) {
        // Point lookups only: a hash index inside data blocks saves the binary search, and index
        // entries without delta encoding save decoding during the index search.
        block.set_data_block_index_type(DataBlockIndexType::BinaryAndHash);
        block.set_index_block_restart_interval(1);
    }
    let mut opts = Options::default();
    opts.set_block_based_table_factory(&block);
    if name == keys::CF_META {
        opts.set_merge_operator_associative(sequence::MAX_MERGE_NAME, sequence::max_merge);
    }
    opts.set_compression_type(match compression {
        Compression::None => DBCompressionType::None,
        Compression::Lz4 => DBCompressionType::Lz4,
    });
    opts
}

impl Store {
    /// Opens (creating if needed) the store at `path`, with every column family configured
    /// explicitly (a family opened by name alone would silently lose the cache and bloom filters).
    pub fn open(path: &Path, options: StoreOptions) -> Result<Store, StoreError> {
        std::fs::create_dir_all(path).map_err(|e| StoreError::Io(path.to_owned(), e))?;
        // HyperClockCache: lookups without the per-shard mutex of the LRU cache, which showed in
        // profiles of card lookups (see BENCHMARKS.md).
        let cache = Cache::new_hyper_clock_cache(options.block_cache_bytes, 0);
        let mut db_opts = Options::default();
        db_opts.create_if_missing(true);
        db_opts.create_missing_column_families(true);
        db_opts.increase_parallelism(2);
        db_opts.set_max_background_jobs(2);
        db_opts.set_keep_log_file_num(3);
        db_opts.set_use_direct_reads(options.direct_reads);
        let row_cache = (options.row_cache_bytes > 0).then(|| {
            // An LRU cache: row-cache keys vary in length, and a HyperClockCache (which takes
            // 16-byte keys) held none of them here, so every read missed.
            let cache = Cache::new_lru_cache(options.row_cache_bytes);
            db_opts.set_row_cache(&cache);
            cache
        });
        if options.statistics {
            db_opts.enable_statistics();
            db_opts.set_statistics_level(rocksdb::statistics::StatsLevel::ExceptTimers);
        }
        let cf_options: Vec<(&'static str, Options)> =
            keys::ALL_CFS.iter().map(|name| (*name, cf_options(name, &cache, options.compression))).collect();
        let descriptors =
            cf_options.iter().map(|(name, opts)| ColumnFamilyDescriptor::new(*name, opts.clone())).collect::<Vec<_>>();
        let db = DB::open_cf_descriptors(&db_opts, path, descriptors)?;
        let mut write_opts = WriteOptions::default();
        write_opts.set_sync(options.sync_writes);
        let start =
            std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map_or(0, |d| d.as_nanos() as u64);
        let meta = db.cf_handle(keys::CF_META).ok_or(StoreError::MissingColumnFamily(keys::CF_META))?;
        let admin_ids = Sequence::recover(&db, meta, keys::META_ADMIN_SEQUENCE)?;
        let receptions = Sequence::recover(&db, meta, keys::META_RECEPTION_SEQUENCE)?;
        let store = Store {
            db,
            path: path.to_owned(),
            write_opts,
            access_sequence: std::sync::atomic::AtomicU64::new(start),
            admin_ids,
            receptions,
            locks: RecordLocks::default(),
            any_reference_numbers: std::sync::atomic::AtomicBool::new(false),
            cf_options,
            _cache: cache,
            _row_cache: row_cache,
            statistics: options.statistics.then_some(db_opts),
            recorded_facts: papaya::HashSet::new(),
        };
        store.check_schema()?;
        let cf = store.cf(keys::CF_REFERENCE_NUMBERS)?;
        let mut it = store.db.raw_iterator_cf(cf);
        it.seek_to_first();
        store.any_reference_numbers.store(it.valid(), std::sync::atomic::Ordering::Release);
        drop(it);
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

    /// The qualification records matching an insured-number query: with a 枝番, the one exact
    /// key; without, every branch of the card number and birthdate. At most `limit`.
    pub fn insured(&self, query: &InsuredQuery, limit: usize) -> Result<Vec<Vec<u8>>, StoreError> {
        let prefix = query.index_prefix();
        let prefix = prefix.as_slice();
        let branch = query.branch;
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

    /// Writes everything a call changes in one atomic batch (nothing for an empty set).
    pub fn commit(&self, mut changes: ChangeSet) -> Result<(), StoreError> {
        // A confirmation fact this store already wrote (same facility, day, person and method) is
        // not written again: the fact is the day's, and the card path stays one read when a
        // patient is confirmed twice. Remembered only after its batch is written, so an answer
        // never goes out on a fact that is not durable.
        let facts = self.recorded_facts.pin();
        changes.confirmations.retain(|(key, _)| !facts.contains(key));
        if changes.is_empty() {
            return Ok(());
        }
        let mut batch = WriteBatch::default();
        if !changes.confirmations.is_empty() {
            let cf = self.cf(keys::CF_CONFIRMATIONS)?;
            for (key, fact) in &changes.confirmations {
                batch.put_cf(cf, key, fact.encode());
            }
        }
        if !changes.consents.is_empty() || !changes.withdrawn.is_empty() {
            let cf = self.cf(keys::CF_CONSENTS)?;
            for (facility, person, kind, value) in &changes.consents {
                batch.put_cf(cf, keys::consent(facility, *person, kind.tag()), value.encode());
            }
            for (facility, person, kind) in &changes.withdrawn {
                batch.delete_cf(cf, keys::consent(facility, *person, kind.tag()));
            }
        }
        // Appending to a person's access chain reads its head: held under the person's lock
        // until the batch is written, so two appends never link to the same record.
        let _chain_guard;
        if !changes.access.is_empty() {
            let mut people: Vec<PersonId> = changes.access.iter().map(|(p, _)| *p).collect();
            people.sort_unstable();
            people.dedup();
            _chain_guard = self.locks.access_chains(&people);
            let (cf, heads_cf) = (self.cf(keys::CF_ACCESS_LOG)?, self.cf(keys::CF_ACCESS_CHAIN)?);
            let mut heads: Vec<(PersonId, ChainHead)> = Vec::with_capacity(people.len());
            for p in &people {
                let head = match self.db.get_pinned_cf(heads_cf, keys::person(*p))? {
                    Some(v) => ChainHead::decode(&v)?,
                    None => ChainHead::default(),
                };
                heads.push((*p, head));
            }
            for (person, record) in &changes.access {
                let Some((_, head)) = heads.iter_mut().find(|(p, _)| p == person) else { continue };
                let mut record = record.clone();
                record.seq = head.seq + 1;
                let link = record.link(&head.link);
                record.chain = onshi_domain::hex::hex(&link);
                *head = ChainHead { seq: record.seq, link };
                let unique = self.access_sequence.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                batch.put_cf(cf, keys::access(*person, record.at * 1000, unique), serde_json::to_vec(&record)?);
            }
            for (p, head) in &heads {
                batch.put_cf(heads_cf, keys::person(*p), head.encode());
            }
        }
        if !changes.reference_numbers.is_empty() {
            self.any_reference_numbers.store(true, std::sync::atomic::Ordering::Release);
            let cf = self.cf(keys::CF_REFERENCE_NUMBERS)?;
            for (facility, person, number) in &changes.reference_numbers {
                let key = keys::reference_number(facility, *person);
                match number {
                    Some(n) => batch.put_cf(cf, key, n.as_bytes()),
                    None => batch.delete_cf(cf, key),
                }
            }
        }
        if !changes.bulk_jobs.is_empty() {
            let (cf, meta) = (self.cf(keys::CF_BULK_JOBS)?, self.cf(keys::CF_META)?);
            for (reception, job, number) in &changes.bulk_jobs {
                batch.put_cf(cf, reception.as_bytes(), job);
                number.persist(&mut batch, meta);
            }
        }
        self.db.write_opt(batch, &self.write_opts)?;
        if !changes.confirmations.is_empty() {
            if self.recorded_facts.len() > MAX_REMEMBERED_FACTS {
                facts.clear();
            }
            for (key, _) in &changes.confirmations {
                facts.insert(*key);
            }
        }
        metrics::counter!("onshi_consents_written_total").increment(changes.consents.len() as u64);
        metrics::counter!("onshi_access_records_written_total").increment(changes.access.len() as u64);
        Ok(())
    }

    /// The reference number `facility` registered for `person`.
    pub fn reference_number(
        &self,
        facility: &MedicalInstitutionCode,
        person: PersonId,
    ) -> Result<Option<String>, StoreError> {
        if !self.any_reference_numbers.load(std::sync::atomic::Ordering::Acquire) {
            return Ok(None);
        }
        let cf = self.cf(keys::CF_REFERENCE_NUMBERS)?;
        Ok(self
            .db
            .get_pinned_cf(cf, keys::reference_number(facility, person))?
            .map(|v| String::from_utf8_lossy(&v).into_owned()))
    }

    /// Up to `limit` of a person's access records, newest first, starting after the record
    /// `after` points at; with the token to continue from if there may be more. A token of another
    /// person's listing starts nowhere (check [`PageToken::person`] first).
    pub fn access_history(
        &self,
        person: PersonId,
        limit: usize,
        after: Option<&PageToken>,
    ) -> Result<(Vec<AccessRecord>, Option<PageToken>), StoreError> {
        let after = after.map(PageToken::key);
        let cf = self.cf(keys::CF_ACCESS_LOG)?;
        let prefix = keys::access_prefix(person);
        let mut ro = ReadOptions::default();
        ro.set_iterate_upper_bound((person.0 + 1).to_be_bytes().to_vec());
        let start: Vec<u8> = after.map_or_else(|| prefix.to_vec(), <[u8]>::to_vec);
        let mut out = Vec::new();
        let mut last_key = None;
        for item in self.db.iterator_cf_opt(cf, ro, IteratorMode::From(&start, Direction::Forward)) {
            let (k, v) = item?;
            if !k.starts_with(&prefix) {
                break;
            }
            if after.is_some_and(|a| &*k == a) {
                continue;
            }
            if out.len() == limit {
                return Ok((out, last_key));
            }
            out.push(serde_json::from_slice(&v)?);
            last_key = PageToken::from_key(&k);
        }
        Ok((out, None))
    }

    /// A person's access records from unix second `from` (inclusive) to `to` (exclusive), newest
    /// first.
    pub fn access_records_between(
        &self,
        person: PersonId,
        from: i64,
        to: i64,
    ) -> Result<Vec<AccessRecord>, StoreError> {
        let cf = self.cf(keys::CF_ACCESS_LOG)?;
        let (first, upper) = keys::access_range(person, from.max(0) * 1000, to.max(0) * 1000);
        let mut ro = ReadOptions::default();
        ro.set_iterate_upper_bound(upper.to_vec());
        let mut out = Vec::new();
        for item in self.db.iterator_cf_opt(cf, ro, IteratorMode::From(&first, Direction::Forward)) {
            out.push(serde_json::from_slice(&item?.1)?);
        }
        Ok(out)
    }

    /// When `facility` last confirmed `person` on `day` by card and by insured numbers (unix
    /// seconds): two point reads.
    pub fn confirmations_of(
        &self,
        facility: &MedicalInstitutionCode,
        day: Date,
        person: PersonId,
    ) -> Result<(Option<i64>, Option<i64>), StoreError> {
        let cf = self.cf(keys::CF_CONFIRMATIONS)?;
        let read = |by| -> Result<Option<i64>, StoreError> {
            match self.db.get_pinned_cf(cf, keys::confirmation(facility, day, person, by))? {
                Some(v) => Ok(Some(ConfirmationFact::decode(&v)?.at)),
                None => Ok(None),
            }
        };
        Ok((read(ConfirmedBy::Card)?, read(ConfirmedBy::InsuredNumbers)?))
    }

    /// Every confirmation `facility` recorded from `from` to `to` (days, inclusive), in key
    /// order: day by day, person by person.
    pub fn confirmations_between(
        &self,
        facility: &MedicalInstitutionCode,
        from: Date,
        to: Date,
        mut visit: impl FnMut(Date, PersonId, ConfirmedBy),
    ) -> Result<(), StoreError> {
        let cf = self.cf(keys::CF_CONFIRMATIONS)?;
        let first = keys::confirmations_from(facility, from);
        let mut ro = ReadOptions::default();
        let after = to.add_days(1).unwrap_or(to);
        ro.set_iterate_upper_bound(keys::confirmations_from(facility, after).to_vec());
        for item in self.db.iterator_cf_opt(cf, ro, IteratorMode::From(&first, Direction::Forward)) {
            let (k, _) = item?;
            let (day, person, by) = keys::parse_confirmation(&k).ok_or(CorruptValue { what: "confirmation key" })?;
            visit(day, person, by);
        }
        Ok(())
    }

    /// Every access record with its key, person by person (in key order), and each person's
    /// chain head: what `verify` walks.
    pub fn access_log_for_verification(
        &self,
        mut visit: impl FnMut(PersonId, &[u8], Result<AccessRecord, serde_json::Error>),
    ) -> Result<Vec<(PersonId, ChainHead)>, StoreError> {
        for item in self.db.iterator_cf(self.cf(keys::CF_ACCESS_LOG)?, IteratorMode::Start) {
            let (k, v) = item?;
            if let Some(person) = keys::person_of_qualification(&k) {
                visit(person, &k, serde_json::from_slice(&v));
            }
        }
        let mut heads = Vec::new();
        for item in self.db.iterator_cf(self.cf(keys::CF_ACCESS_CHAIN)?, IteratorMode::Start) {
            let (k, v) = item?;
            if let Some(person) = keys::person_of_qualification(&k) {
                heads.push((person, ChainHead::decode(&v)?));
            }
        }
        Ok(heads)
    }

    /// A stored bulk job.
    pub fn bulk_job(&self, reception_number: &str) -> Result<Option<DBPinnableSlice<'_>>, StoreError> {
        Ok(self.db.get_pinned_cf(self.cf(keys::CF_BULK_JOBS)?, reception_number.as_bytes())?)
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

    /// Compacts the files of a column family holding keys from `from` to `to` (inclusive; `None`:
    /// unbounded) into its last level: one sorted run of files that do not overlap there, as a
    /// bulk load leaves it.
    pub(crate) fn compact(&self, cf: &'static str, from: Option<&[u8]>, to: Option<&[u8]>) -> Result<(), StoreError> {
        self.db.compact_range_cf(self.cf(cf)?, from, to);
        Ok(())
    }

    /// Each column family's files by level, as (family, files per level from L0), for reports
    /// of the store's shape.
    pub fn levels(&self) -> Vec<(&'static str, Vec<u64>)> {
        keys::ALL_CFS
            .iter()
            .filter_map(|name| self.db.cf_handle(name).map(|cf| (*name, cf)))
            .map(|(name, cf)| {
                let files = (0..7)
                    .map(|l| {
                        let property = format!("rocksdb.num-files-at-level{l}");
                        self.db.property_int_value_cf(cf, property.as_str()).ok().flatten().unwrap_or(0)
                    })
                    .collect();
                (name, files)
            })
            .collect()
    }

    /// The full record of a person kept in the `persons` family (scenario and admin-made people).
    pub fn person_record(&self, person: PersonId) -> Result<Option<Person>, StoreError> {
        match self.db.get_pinned_cf(self.cf(keys::CF_PERSONS)?, keys::person(person))? {
            Some(v) => Ok(Some(serde_json::from_slice(&v)?)),
            None => Ok(None),
        }
    }

    /// The person holding the card `serial` (active or revoked).
    pub fn card_owner(&self, serial: &CertificateSerial) -> Result<Option<PersonId>, StoreError> {
        Ok(match self.card(serial)? {
            CardLookup::Active(v) => Some(CardValue::decode(&v)?.person),
            CardLookup::Revoked(r) => Some(r.person),
            CardLookup::Unknown => None,
        })
    }

    /// The locks of records that are read before they are replaced.
    pub fn locks(&self) -> &RecordLocks {
        &self.locks
    }

    /// Ids of people made through the admin API (and generated card serials).
    pub fn admin_ids(&self) -> &Sequence {
        &self.admin_ids
    }

    /// 一括照会 reception numbers.
    pub fn reception_numbers(&self) -> &Sequence {
        &self.receptions
    }

    /// Makes this store's sequences continue at least where `previous`'s are, so a reset or a
    /// restore never hands out a number a client may still hold.
    pub fn continue_sequences_from(&self, previous: &Store) {
        self.admin_ids.raise_to(previous.admin_ids.peek());
        self.receptions.raise_to(previous.receptions.peek());
    }

    /// Replaces a person's records in one atomic write: the old entries go, the new ones, the
    /// full record and the high-water marks of the numbers it `used` come in. `guard` must be the
    /// person's, covering every card serial `record` holds that `old` did not (read the old
    /// record only after taking it).
    pub fn replace_person(
        &self,
        guard: &PersonGuard<'_>,
        old: &PersonEntries,
        new: &PersonEntries,
        record: &Person,
        used: &[Allocated],
    ) -> Result<(), StoreError> {
        let claimed =
            record.cards.iter().filter(|c| !old.cards.iter().chain(&old.revoked).any(|(k, _)| *k == c.serial.as_str()));
        if guard.person() != record.id || claimed.clone().any(|c| !guard.covers(&c.serial)) {
            return Err(StoreError::NotLocked(record.id.0));
        }
        let mut batch = WriteBatch::default();
        let meta = self.cf(keys::CF_META)?;
        for number in used {
            number.persist(&mut batch, meta);
        }
        let (cards, revoked, quals, index) = (
            self.cf(keys::CF_CARD_RESULTS)?,
            self.cf(keys::CF_CARDS)?,
            self.cf(keys::CF_QUALIFICATIONS)?,
            self.cf(keys::CF_INSURED_INDEX)?,
        );
        for (k, _) in &old.cards {
            batch.delete_cf(cards, k.as_bytes());
        }
        for (k, _) in &old.revoked {
            batch.delete_cf(revoked, k.as_bytes());
        }
        for (k, _) in &old.qualifications {
            batch.delete_cf(quals, k);
        }
        for (k, _) in &old.index {
            batch.delete_cf(index, k);
        }
        for (k, v) in &new.cards {
            batch.put_cf(cards, k.as_bytes(), v);
        }
        for (k, v) in &new.revoked {
            batch.put_cf(revoked, k.as_bytes(), v);
        }
        for (k, v) in &new.qualifications {
            batch.put_cf(quals, k, v);
        }
        for (k, v) in &new.index {
            batch.put_cf(index, k, v);
        }
        batch.put_cf(self.cf(keys::CF_PERSONS)?, keys::person(record.id), serde_json::to_vec(record)?);
        self.db.write_opt(batch, &self.write_opts)?;
        Ok(())
    }

    /// Adds a medical record (encoded protobuf) of `kind`.
    pub fn add_medical_record(
        &self,
        kind: MedicalKind,
        person: PersonId,
        date: Date,
        record: &[u8],
    ) -> Result<(), StoreError> {
        let sequence = self.access_sequence.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        let cf = self.cf(kind.column_family())?;
        self.db.put_cf_opt(cf, keys::medical_record(person, date, sequence), record, &self.write_opts)?;
        Ok(())
    }

    /// Added medical records of `kind` of a person dated `from..=to`, oldest first.
    pub fn medical_records(
        &self,
        kind: MedicalKind,
        person: PersonId,
        from: Date,
        to: Date,
    ) -> Result<Vec<Vec<u8>>, StoreError> {
        let start = keys::medical_record(person, from, 0);
        let mut ro = ReadOptions::default();
        ro.set_iterate_upper_bound(keys::medical_record(person, to.add_days(1).unwrap_or(to), 0));
        let mut out = Vec::new();
        for item in
            self.db.iterator_cf_opt(self.cf(kind.column_family())?, ro, IteratorMode::From(&start, Direction::Forward))
        {
            out.push(item?.1.to_vec());
        }
        Ok(out)
    }

    /// Removes a facility from the allow-list in the store.
    pub fn delete_facility(&self, code: &MedicalInstitutionCode) -> Result<(), StoreError> {
        self.db.delete_cf_opt(self.cf(keys::CF_FACILITIES)?, keys::facility(code), &self.write_opts)?;
        Ok(())
    }

    /// A consistent on-disk copy of the store at `path` (hard links for table files).
    pub fn checkpoint(&self, path: &Path) -> Result<(), StoreError> {
        rocksdb::checkpoint::Checkpoint::new(&self.db)?.create_checkpoint(path)?;
        Ok(())
    }

    /// The sequence number of the latest write: unchanged means nothing was written.
    pub fn latest_sequence_number(&self) -> u64 {
        self.db.latest_sequence_number()
    }

    /// A RocksDB integer property summed over every column family.
    pub fn property_total(&self, property: &str) -> u64 {
        keys::ALL_CFS
            .iter()
            .filter_map(|name| self.db.cf_handle(name))
            .filter_map(|cf| self.db.property_int_value_cf(cf, property).ok().flatten())
            .sum()
    }

    /// Block- and row-cache hits and misses, when the store keeps statistics.
    pub fn cache_counts(&self) -> Option<CacheCounts> {
        use rocksdb::statistics::Ticker;
        let o = self.statistics.as_ref()?;
        Some(CacheCounts {
            data_hits: o.get_ticker_count(Ticker::BlockCacheDataHit),
            data_misses: o.get_ticker_count(Ticker::BlockCacheDataMiss),
            index_hits: o.get_ticker_count(Ticker::BlockCacheIndexHit),
            index_misses: o.get_ticker_count(Ticker::BlockCacheIndexMiss),
            filter_hits: o.get_ticker_count(Ticker::BlockCacheFilterHit),
            filter_misses: o.get_ticker_count(Ticker::BlockCacheFilterMiss),
            row_hits: o.get_ticker_count(Ticker::RowCacheHit),
            row_misses: o.get_ticker_count(Ticker::RowCacheMiss),
        })
    }

    /// Bytes held by the block cache.
    pub fn block_cache_usage(&self) -> Option<u64> {
        self.db.property_int_value("rocksdb.block-cache-usage").ok().flatten()
    }
}
