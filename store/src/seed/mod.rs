//! Seeding a store with the synthetic population and the scenario people.
//!
//! Population people are generated block by block (65,536 people, in the order their card serials
//! sort): two generator threads each make one half of every block, encoded ready to serve into flat
//! buffers and sorted, and the calling thread merges each block's halves into that block's SST
//! files while the next block is generated. Each block's index entries are spilled to disk, cut
//! into partitions of the key space (`spill`); when every block is done, two threads merge the
//! partitions one at a time into index files, so memory stays bounded at any population.
//! Everything is ingested at the end; a grown store's index is then compacted, so that many grow
//! steps leave the same shape as one seed. Scenario people go in with ordinary writes. The
//! population record in the `meta` family is written only when everything else is in, so a store
//! is either seeded or says it is not; a seed interrupted part-way is simply run again (people
//! are deterministic, so the rerun writes the same records).

use std::path::PathBuf;
use std::time::{Duration, Instant};

use onshi_domain::date::Date;
use onshi_domain::population::{BLOCK_SIZE, MAX_PERSONS, Population, scenarios};
use onshi_domain::qualification::{Person, spans_of};
use thiserror::Error;

mod runs;
mod spill;

use self::runs::{Run, merged, merged2};
use self::spill::{Spill, partitions_for};
use crate::bulk::SstSet;
use crate::encoding::encode_result_into;
use crate::values::{CardValue, QualificationRecord, ResultParts, RevokedCard};
use crate::{PersonEntries, PopulationMeta, Store, StoreError, keys};

#[derive(Debug, Error)]
pub enum SeedError {
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error(
        "this store was seeded with seed {found_seed} and {found_persons} persons; use another data directory for seed {seed} and {persons} persons"
    )]
    DifferentPopulation { found_seed: u64, found_persons: u64, seed: u64, persons: u64 },
    #[error("at most {MAX_PERSONS} persons can be seeded")]
    TooMany,
}

/// What to seed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SeedSpec {
    pub seed: u64,
    pub persons: u64,
    /// The population's reference date (usually today in JST).
    pub as_of: Date,
}

/// What a seed did.
#[derive(Debug, Clone, PartialEq)]
pub struct SeedReport {
    /// False if the store already held this population and nothing was written.
    pub wrote: bool,
    pub persons: u64,
    pub scenario_persons: usize,
    pub sst_files: usize,
    /// Bytes of insured-number index spilled to disk while seeding (removed at the end).
    pub index_spill_bytes: u64,
    pub elapsed: Duration,
}

/// Receives a person's encoded entries. Keys and values borrow the encoder's scratch space, so a
/// bulk loader can copy them into flat buffers without an allocation per entry.
pub trait EntrySink {
    /// An active card: serial → card value.
    fn card(&mut self, serial: &[u8], value: &[u8]);
    /// A revoked card: serial → revoked-card value.
    fn revoked(&mut self, serial: &[u8], value: &[u8]);
    /// Qualification key → record.
    fn qualification(&mut self, key: [u8; 9], record: &[u8]);
    /// Insured-number index key → qualification key.
    fn index(&mut self, key: &[u8], qualification: [u8; 9]);
}

impl EntrySink for PersonEntries {
    fn card(&mut self, serial: &[u8], value: &[u8]) {
        self.cards.push((String::from_utf8_lossy(serial).into_owned(), value.to_vec()));
    }
    fn revoked(&mut self, serial: &[u8], value: &[u8]) {
        self.revoked.push((String::from_utf8_lossy(serial).into_owned(), value.to_vec()));
    }
    fn qualification(&mut self, key: [u8; 9], record: &[u8]) {
        self.qualifications.push((key, record.to_vec()));
    }
    fn index(&mut self, key: &[u8], qualification: [u8; 9]) {
        self.index.push((key.to_vec(), qualification));
    }
}

/// Encodes people's records, reusing its buffers from one person to the next.
#[derive(Debug, Default)]
pub struct PersonEncoder {
    /// The result parts of the qualification being encoded.
    parts: Vec<u8>,
    /// The person's qualification records, one after another; `ends` marks where each ends.
    records: Vec<u8>,
    ends: Vec<usize>,
    /// The value or key being built.
    value: Vec<u8>,
    key: Vec<u8>,
}

impl PersonEncoder {
    /// Sends every entry of `person` to `sink`.
    pub fn encode(&mut self, person: &Person, sink: &mut impl EntrySink) {
        let spans = spans_of(&person.qualifications);
        self.records.clear();
        self.ends.clear();
        for (seq, (q, span)) in person.qualifications.iter().zip(&spans).enumerate() {
            self.parts.clear();
            let [base, limit, _] = encode_result_into(person, q, &mut self.parts);
            let (base, rest) = self.parts.split_at(base);
            let (limit, diseases) = rest.split_at(limit);
            let start = self.records.len();
            QualificationRecord { person: person.id, span: *span, parts: ResultParts { base, limit, diseases } }
                .encode_into(&mut self.records);
            self.ends.push(self.records.len());
            let qkey = keys::qualification(person.id, seq as u8);
            keys::insured_into(&mut self.key, &q.insurer_number, &q.symbol, &q.number, person.birthdate, q.branch);
            sink.index(&self.key, qkey);
            sink.qualification(qkey, &self.records[start..]);
        }
        for card in &person.cards {
            self.value.clear();
            match card.revoked {
                None => {
                    let records = &self.records;
                    let starts = std::iter::once(0).chain(self.ends.iter().copied());
                    let each = starts.zip(self.ends.iter().copied()).map(|(s, e)| &records[s..e]);
                    CardValue::encode_into(&mut self.value, card.expires, person.id, each);
                    sink.card(card.serial.as_str().as_bytes(), &self.value);
                }
                Some(on) => {
                    let reissued_as =
                        person.cards.iter().find(|c| c.revoked.is_none()).map(|c| c.serial.as_str().to_owned());
                    let value = RevokedCard { person: person.id, revoked_on: on, reissued_as }.encode();
                    sink.revoked(card.serial.as_str().as_bytes(), &value);
                }
            }
        }
    }
}

/// Encodes every record of a person.
pub fn person_entries(person: &Person) -> PersonEntries {
    let mut out = PersonEntries::default();
    PersonEncoder::default().encode(person, &mut out);
    out
}

/// Writes a person's records and full record (for later changes) in one logged batch.
pub fn write_person(store: &Store, person: &Person) -> Result<(), StoreError> {
    let serials: Vec<_> = person.cards.iter().map(|c| &c.serial).collect();
    let guard = store.locks().person(person.id, &serials);
    store.replace_person(&guard, &PersonEntries::default(), &person_entries(person), person, &[])
}

/// What one thread generated for part of a block, each family sorted by key.
#[derive(Debug, Default)]
struct BlockPart {
    cards: Run,
    qualifications: Run,
    index: Run,
}

impl EntrySink for BlockPart {
    fn card(&mut self, serial: &[u8], value: &[u8]) {
        self.cards.push(serial, value);
    }
    fn revoked(&mut self, _: &[u8], _: &[u8]) {
        // Population people hold only their active card.
    }
    fn qualification(&mut self, key: [u8; 9], record: &[u8]) {
        self.qualifications.push(&key, record);
    }
    fn index(&mut self, key: &[u8], qualification: [u8; 9]) {
        self.index.push(key, &qualification);
    }
}

fn generate(pop: &Population, range: std::ops::Range<u64>) -> BlockPart {
    let n = (range.end - range.start) as usize;
    let mut part = BlockPart::default();
    part.cards.entries.reserve(n);
    part.cards.bytes.reserve(n * 700);
    part.qualifications.entries.reserve(n + n / 4);
    part.qualifications.bytes.reserve(n * 700);
    part.index.entries.reserve(n + n / 4);
    part.index.bytes.reserve(n * 48);
    let mut encoder = PersonEncoder::default();
    for i in range {
        encoder.encode(&pop.person(i), &mut part);
    }
    // Qualification keys are person ids in order already.
    part.cards.sort();
    part.index.sort();
    part
}

/// The index keys of about `n` people spread evenly over `people`, sorted.
fn index_sample(pop: &Population, people: std::ops::Range<u64>, n: usize) -> Vec<Vec<u8>> {
    let step = ((people.end - people.start) / n.max(1) as u64).max(1);
    let mut part = BlockPart::default();
    let mut encoder = PersonEncoder::default();
    for i in (people.start..people.end).step_by(step as usize) {
        encoder.encode(&pop.person(i), &mut part);
    }
    part.index.sort();
    part.index.iter().map(|(k, _)| k.to_vec()).collect()
}

/// Writes the merged index runs as SST files of at most `per_file` entries each.
fn write_index(
    files: &mut SstSet<'_>,
    name: &str,
    runs: Vec<(&Run, std::ops::Range<usize>)>,
    per_file: usize,
) -> Result<(), StoreError> {
    let mut entries = merged(runs).peekable();
    let mut n = 0;
    while entries.peek().is_some() {
        files.write_sorted(&format!("{name}-{n:03}"), entries.by_ref().take(per_file))?;
        n += 1;
    }
    Ok(())
}

/// Seeds `store` unless it already holds this population; a store holding fewer people of the
/// same seed grows to `spec.persons`. `progress` is called with the people written so far.
pub fn seed(store: &Store, spec: SeedSpec, mut progress: impl FnMut(u64)) -> Result<SeedReport, SeedError> {
    let started = Instant::now();
    if spec.persons > MAX_PERSONS {
        return Err(SeedError::TooMany);
    }
    let mut from = 0;
    let mut as_of = spec.as_of;
    if let Some(found) = store.population()? {
        if found.seed == spec.seed && found.persons >= spec.persons {
            let elapsed = started.elapsed();
            return Ok(SeedReport {
                wrote: false,
                persons: found.persons,
                scenario_persons: 0,
                sst_files: 0,
                index_spill_bytes: 0,
                elapsed,
            });
        }
        if found.seed != spec.seed {
            return Err(SeedError::DifferentPopulation {
                found_seed: found.seed,
                found_persons: found.persons,
                seed: spec.seed,
                persons: spec.persons,
            });
        }
        from = found.persons;
        as_of = found.as_of_date().unwrap_or(spec.as_of);
    }
    let pop = Population::new(spec.seed, as_of);
    let tmp: PathBuf = store.path().join("ingest-tmp");
    Spill::remove_stale(&tmp);
    let mut card_files = SstSet::new(store, keys::CF_CARD_RESULTS, &tmp)?;
    let mut qual_files = SstSet::new(store, keys::CF_QUALIFICATIONS, &tmp)?;
    let mut index_files = SstSet::new(store, keys::CF_INSURED_INDEX, &tmp)?;
    let count = spec.persons - from;
    let blocks: Vec<(u64, std::ops::Range<u64>)> = pop
        .block_order(spec.persons.div_ceil(BLOCK_SIZE))
        .into_iter()
        .map(|block| (block, (block * BLOCK_SIZE).max(from)..((block + 1) * BLOCK_SIZE).min(spec.persons)))
        .filter(|(_, people)| !people.is_empty())
        .collect();
    // The index partitions are cut at the keys of people spread over everyone being written (a
    // block's keys spread over the whole key space, but the first block written can be a small
    // part of one).
    let partitions = partitions_for(count + count / 4);
    let sample = index_sample(&pop, from..spec.persons, partitions * 256);
    // Two generator threads each make one half of every block, in block order; this thread merges
    // the halves of each block into its SST files while the next block is generated.
    let (first_halves, from_first) = std::sync::mpsc::sync_channel::<BlockPart>(1);
    let (second_halves, from_second) = std::sync::mpsc::sync_channel::<BlockPart>(1);
    let (card_files, qual_files, spill, continued) = std::thread::scope(|s| {
        for (second, halves) in [(false, first_halves), (true, second_halves)] {
            let (blocks, pop) = (&blocks, &pop);
            s.spawn(move || {
                for (_, people) in blocks {
                    let mid = people.start + (people.end - people.start) / 2;
                    let half = if second { mid..people.end } else { people.start..mid };
                    if halves.send(generate(pop, half)).is_err() {
                        return; // the writer stopped; its error is reported
                    }
                }
            });
        }
        // Moved in, so that returning early drops the receivers and ends the generators.
        let (from_first, from_second) = (from_first, from_second);
        let mut spill: Option<Spill> = None;
        let mut continued: Option<(Vec<u8>, Vec<u8>)> = None;
        let mut done = 0;
        for (block, people) in &blocks {
            // A generator that panicked closes its channel; the scope then re-raises the panic.
            let (Ok(first), Ok(second)) = (from_first.recv(), from_second.recv()) else { break };
            let name = format!("{block:05}-{}", people.start);
            if people.start % BLOCK_SIZE != 0 {
                // The rest of a block the old store holds part of: its cards share that part's
                // key range.
                let mut keys = merged2(&first.cards, &second.cards).map(|(k, _)| k);
                continued = keys.next().map(|low| (low.to_vec(), keys.last().unwrap_or(low).to_vec()));
            }
            card_files.write_sorted(&name, merged2(&first.cards, &second.cards))?;
            // Qualification keys are person ids: the second half follows the first.
            qual_files.write_sorted(&name, first.qualifications.iter().chain(second.qualifications.iter()))?;
            let spill = match &mut spill {
                Some(spill) => spill,
                None => spill.insert(Spill::create(&tmp, partitions, sample.iter().map(|k| k.as_slice()))?),
            };
            spill.append(merged2(&first.index, &second.index))?;
            done += people.end - people.start;
            progress(done);
        }
        Ok::<_, StoreError>((card_files, qual_files, spill, continued))
    })?;

    // Two threads merge the index partitions, one partition at a time each, into files that do
    // not overlap (partitions do not).
    const INDEX_FILE_ENTRIES: usize = 4_000_000;
    let mut index_spill_bytes = 0;
    if let Some(mut spill) = spill {
        spill.finish()?;
        index_spill_bytes = spill.bytes();
        let next = std::sync::atomic::AtomicUsize::new(0);
        let merge = |files: &mut SstSet<'_>| -> Result<(), StoreError> {
            loop {
                let p = next.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                if p >= spill.partitions() {
                    return Ok(());
                }
                let merged = spill.read(p).and_then(|(run, segments)| {
                    let runs = segments.into_iter().map(|r| (&run, r)).collect();
                    write_index(files, &format!("{from}-{p:03}"), runs, INDEX_FILE_ENTRIES)
                });
                if merged.is_err() {
                    // The other thread takes no further partition.
                    next.store(usize::MAX / 2, std::sync::atomic::Ordering::Relaxed);
                    return merged;
                }
            }
        };
        let mut other_files = SstSet::new(store, keys::CF_INSURED_INDEX, &tmp)?;
        std::thread::scope(|s| -> Result<(), StoreError> {
            let other = s.spawn(|| merge(&mut other_files));
            merge(&mut index_files)?;
            other.join().unwrap_or_else(|p| std::panic::resume_unwind(p))
        })?;
        index_files = index_files.absorb(other_files);
    }
    let sst_files = card_files.ingest()? + qual_files.ingest()? + index_files.ingest()?;
    if from > 0 {
        // A grown store's new index files overlap the old ones (every block spans the key
        // space), so each grow step would add a level; compacted, the index is one sorted run
        // again, as after a single seed. New records follow the old ones (keys are person ids),
        // and new blocks' cards do not overlap old blocks' — except in the block the old store
        // ended part-way through, whose two halves are compacted together.
        store.compact(keys::CF_INSURED_INDEX, None, None)?;
        if let Some((low, high)) = &continued {
            store.compact(keys::CF_CARD_RESULTS, Some(low), Some(high))?;
        }
    }
    let _ = std::fs::remove_dir(&tmp);

    let mut scenario_persons = 0;
    if from == 0 {
        for scenario in scenarios::all(as_of) {
            for person in &scenario.persons {
                write_person(store, person)?;
                scenario_persons += 1;
            }
        }
    }
    store.put_population(&PopulationMeta { seed: spec.seed, persons: spec.persons, as_of: as_of.to_u32() })?;
    let elapsed = started.elapsed();
    Ok(SeedReport { wrote: true, persons: count, scenario_persons, sst_files, index_spill_bytes, elapsed })
}

#[cfg(test)]
mod tests {
    use onshi_domain::date::Date;
    use onshi_domain::ids::CertificateSerial;

    use super::*;
    use crate::{CacheCounts, CardLookup, Compression, StoreOptions};

    /// With statistics on, lookups count cache hits and misses; without, there are none.
    #[test]
    fn statistics_count_block_cache_lookups() {
        let dir = tempfile::tempdir().expect("tempdir");
        let as_of = Date::new(2026, 11, 24).expect("date");
        let pop = Population::new(9, as_of);
        let plain = Store::open(&dir.path().join("plain"), StoreOptions::default()).expect("opens");
        assert_eq!(plain.cache_counts(), None);
        // No row cache: every read then goes through the block cache.
        let options = StoreOptions { statistics: true, row_cache_bytes: 0, ..Default::default() };
        let store = Store::open(&dir.path().join("stats"), options).expect("opens");
        seed(&store, SeedSpec { seed: 9, persons: 20_000, as_of }, |_| {}).expect("seeds");
        let before = store.cache_counts().expect("statistics kept");
        let mut reads = 0;
        for i in (0..20_000).step_by(7) {
            // Not everyone has a My Number card.
            for card in pop.person(i).cards.iter().filter(|c| c.revoked.is_none()) {
                assert!(matches!(store.card(&card.serial), Ok(CardLookup::Active(_))), "person {i}");
                reads += 1;
            }
        }
        assert!(reads > 1_000, "{reads} cards read");
        let after = store.cache_counts().expect("statistics kept");
        let data = |c: CacheCounts| c.data_hits + c.data_misses;
        assert!(data(after) >= data(before) + reads, "{reads} reads: {before:?} → {after:?}");
        assert!(after.data_misses > before.data_misses, "the first reads miss: {after:?}");

        // With a row cache, a value read again comes from it.
        let options = StoreOptions { statistics: true, ..Default::default() };
        let store = Store::open(&dir.path().join("rows"), options).expect("opens");
        seed(&store, SeedSpec { seed: 9, persons: 20_000, as_of }, |_| {}).expect("seeds");
        let card = (0..100).flat_map(|i| pop.person(i).cards).find(|c| c.revoked.is_none()).expect("a card");
        let before = store.cache_counts().expect("statistics kept");
        for _ in 0..3 {
            assert!(matches!(store.card(&card.serial), Ok(CardLookup::Active(_))));
        }
        let after = store.cache_counts().expect("statistics kept");
        assert_eq!((after.row_misses - before.row_misses, after.row_hits - before.row_hits), (1, 2), "{after:?}");
    }

    /// A store grown in many steps ends in the shape of one seeded at once: its index in one
    /// level, not one level (or one L0 file) per step.
    #[test]
    fn a_grown_store_has_the_shape_of_a_fresh_one() {
        let dir = tempfile::tempdir().expect("tempdir");
        let as_of = Date::new(2026, 11, 24).expect("date");
        let fresh = Store::open(&dir.path().join("fresh"), StoreOptions::default()).expect("opens");
        seed(&fresh, SeedSpec { seed: 5, persons: 150_000, as_of }, |_| {}).expect("seeds");
        let grown = Store::open(&dir.path().join("grown"), StoreOptions::default()).expect("opens");
        for persons in (25_000..=150_000).step_by(25_000) {
            seed(&grown, SeedSpec { seed: 5, persons, as_of }, |_| {}).expect("grows");
        }
        // The levels below L0 holding files, for the families a seed bulk-loads (L0 holds the
        // scenario people's writes).
        let levels = |store: &Store, family: &str| {
            let (_, files) = store.levels().into_iter().find(|(cf, _)| *cf == family).expect("family");
            files.iter().enumerate().skip(1).filter(|(_, n)| **n > 0).map(|(level, _)| level).collect::<Vec<_>>()
        };
        for family in [keys::CF_CARD_RESULTS, keys::CF_QUALIFICATIONS, keys::CF_INSURED_INDEX] {
            assert_eq!(levels(&fresh, family).len(), 1, "{family}: fresh {:?}", fresh.levels());
            assert_eq!(levels(&grown, family), levels(&fresh, family), "{family}: grown {:?}", grown.levels());
        }
        let pop = Population::new(5, as_of);
        let last = (140_000..150_000).flat_map(|i| pop.person(i).cards).find(|c| c.revoked.is_none()).expect("a card");
        assert!(matches!(grown.card(&last.serial), Ok(CardLookup::Active(_))), "the grown store's last people");
    }

    /// Seeding over several blocks, a partial last block and a grown store (whose first new block
    /// starts part-way) stores exactly what `person_entries` encodes for each person, under
    /// either compression.
    #[test]
    fn seeded_entries_are_each_persons_entries() {
        let dir = tempfile::tempdir().expect("tempdir");
        let as_of = Date::new(2026, 11, 24).expect("date");
        let pop = Population::new(3, as_of);
        for compression in [Compression::None, Compression::Lz4] {
            let options = StoreOptions { compression, ..Default::default() };
            let store = Store::open(&dir.path().join(format!("{compression:?}")), options).expect("opens");
            for persons in [70_000, 140_000] {
                let report = seed(&store, SeedSpec { seed: 3, persons, as_of }, |_| {}).expect("seeds");
                assert!(report.wrote);
            }
            let (mut cards, mut records) = (0, 0);
            for i in (0..140_000).step_by(89) {
                let person = pop.person(i);
                let entries = person_entries(&person);
                for (serial, value) in &entries.cards {
                    let serial = CertificateSerial::parse(serial).expect("serial");
                    match store.card(&serial).expect("reads") {
                        CardLookup::Active(v) => assert_eq!(&*v, value.as_slice(), "person {i}"),
                        _ => panic!("person {i}: card not found"),
                    }
                    cards += 1;
                }
                for (q, (_, record)) in person.qualifications.iter().zip(&entries.qualifications) {
                    let query = crate::InsuredQuery {
                        insurer: q.insurer_number,
                        symbol: q.symbol.clone(),
                        number: q.number.clone(),
                        birthdate: person.birthdate,
                        branch: q.branch,
                    };
                    let found = store.insured(&query, 10).expect("reads");
                    assert_eq!(found, vec![record.clone()], "person {i}");
                    records += 1;
                }
            }
            assert!(cards > 1_000 && records > 1_500, "{cards} cards, {records} records checked");
            let beyond = pop.card_serial(140_000);
            assert!(matches!(store.card(&beyond).expect("reads"), CardLookup::Unknown));
        }
    }
}
