//! Seeding a store with the synthetic population and the scenario people.
//!
//! Population people are generated block by block (65,536 people, in the order their card serials
//! sort), two threads at a time, encoded ready to serve, and written to sorted SST files that are
//! ingested at the end; the insured-number index is sorted in memory and written last. Scenario
//! people go in with ordinary writes. The population record in the `meta` family is written only
//! when everything else is in, so a store is either seeded or says it is not; a seed interrupted
//! part-way is simply run again (people are deterministic, so the rerun writes the same records).

use std::path::PathBuf;
use std::time::{Duration, Instant};

use onshi_domain::date::Date;
use onshi_domain::population::{BLOCK_SIZE, MAX_PERSONS, Population, scenarios};
use onshi_domain::qualification::{Person, spans_of};
use thiserror::Error;

use crate::service::convert::encode_result;
use crate::store::bulk::SstSet;
use crate::store::values::{CardValue, QualificationRecord, ResultParts, RevokedCard};
use crate::store::{PersonEntries, PopulationMeta, Store, StoreError, keys};

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
    pub elapsed: Duration,
}

/// Encodes every record of a person.
pub fn person_entries(person: &Person) -> PersonEntries {
    let spans = spans_of(&person.qualifications);
    let mut out = PersonEntries::default();
    let mut records = Vec::with_capacity(person.qualifications.len());
    for (seq, (q, span)) in person.qualifications.iter().zip(&spans).enumerate() {
        let enc = encode_result(person, q);
        let record = QualificationRecord {
            person: person.id,
            span: *span,
            parts: ResultParts { base: &enc.base, limit: &enc.limit, diseases: &enc.diseases },
        }
        .encode();
        let qkey = keys::qualification(person.id, seq as u8);
        out.index.push((keys::insured(&q.insurer_number, &q.symbol, &q.number, person.birthdate, q.branch), qkey));
        out.qualifications.push((qkey, record.clone()));
        records.push(record);
    }
    for card in &person.cards {
        match card.revoked {
            None => {
                out.cards.push((card.serial.as_str().to_owned(), CardValue::encode(card.expires, person.id, &records)))
            }
            Some(on) => {
                let reissued_as =
                    person.cards.iter().find(|c| c.revoked.is_none()).map(|c| c.serial.as_str().to_owned());
                out.revoked.push((
                    card.serial.as_str().to_owned(),
                    RevokedCard { person: person.id, revoked_on: on, reissued_as }.encode(),
                ));
            }
        }
    }
    out
}

/// Writes a person's records and full record (for later changes) in one logged batch.
pub fn write_person(store: &Store, person: &Person) -> Result<(), StoreError> {
    store.replace_person(&PersonEntries::default(), &person_entries(person), person)
}

/// One block's worth of sorted entries.
struct BlockEntries {
    cards: Vec<(String, Vec<u8>)>,
    qualifications: Vec<([u8; 9], Vec<u8>)>,
    index: Vec<(Vec<u8>, [u8; 9])>,
}

fn generate(pop: &Population, range: std::ops::Range<u64>) -> BlockEntries {
    let n = (range.end - range.start) as usize;
    let mut b = BlockEntries {
        cards: Vec::with_capacity(n),
        qualifications: Vec::with_capacity(n + n / 4),
        index: Vec::with_capacity(n + n / 4),
    };
    for i in range {
        let e = person_entries(&pop.person(i));
        b.cards.extend(e.cards);
        b.qualifications.extend(e.qualifications);
        b.index.extend(e.index);
    }
    b
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
            return Ok(SeedReport { wrote: false, persons: found.persons, scenario_persons: 0, sst_files: 0, elapsed });
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
    let mut card_files = SstSet::new(store, keys::CF_CARD_RESULTS, &tmp)?;
    let mut qual_files = SstSet::new(store, keys::CF_QUALIFICATIONS, &tmp)?;
    let mut index_files = SstSet::new(store, keys::CF_INSURED_INDEX, &tmp)?;
    let count = spec.persons - from;
    let mut index: Vec<(Vec<u8>, [u8; 9])> = Vec::with_capacity((count + count / 5) as usize);

    let blocks = spec.persons.div_ceil(BLOCK_SIZE);
    // Generation (two threads per block) and SST writing (a third thread) overlap: while block
    // N is sorted and written, block N+1 is generated.
    let (to_writer, from_generator) = std::sync::mpsc::sync_channel::<(String, BlockEntries)>(1);
    let written = std::thread::scope(|s| {
        let writer = s.spawn(move || -> Result<_, StoreError> {
            for (name, mut block) in from_generator {
                block.cards.sort_unstable_by(|x, y| x.0.cmp(&y.0));
                card_files.write_sorted(&name, block.cards.iter().map(|(k, v)| (k.as_bytes(), v.as_slice())))?;
                qual_files.write_sorted(&name, block.qualifications.iter().map(|(k, v)| (&k[..], v.as_slice())))?;
            }
            Ok((card_files, qual_files))
        });
        let mut done = 0;
        for block in pop.block_order(blocks) {
            let start = (block * BLOCK_SIZE).max(from);
            let end = ((block + 1) * BLOCK_SIZE).min(spec.persons);
            if start >= end {
                continue;
            }
            let mid = start + (end - start) / 2;
            // Two halves on two threads; the first half's entries come first, so the
            // qualification keys (person id order) stay sorted.
            let (mut a, b) = std::thread::scope(|s| {
                let second = s.spawn(|| generate(&pop, mid..end));
                let first = generate(&pop, start..mid);
                (first, second.join().unwrap_or_else(|p| std::panic::resume_unwind(p)))
            });
            a.cards.extend(b.cards);
            a.qualifications.extend(b.qualifications);
            index.extend(std::mem::take(&mut a.index));
            index.extend(b.index);
            if to_writer.send((format!("{block:05}-{start}"), a)).is_err() {
                break; // the writer failed; its error is reported below
            }
            done += end - start;
            progress(done);
        }
        drop(to_writer);
        writer.join().unwrap_or_else(|p| std::panic::resume_unwind(p))
    });
    let (card_files, qual_files) = written?;
    index.sort_unstable_by(|x, y| x.0.cmp(&y.0));
    // Identical keys could only come from two people sharing every insured number and a
    // birthdate; keep the first so the file stays strictly sorted.
    index.dedup_by(|later, earlier| later.0 == earlier.0);
    const INDEX_FILE_ENTRIES: usize = 4_000_000;
    for (n, chunk) in index.chunks(INDEX_FILE_ENTRIES).enumerate() {
        index_files.write_sorted(&format!("{n:05}-{from}"), chunk.iter().map(|(k, v)| (k.as_slice(), &v[..])))?;
    }
    drop(index);
    let sst_files = card_files.ingest()? + qual_files.ingest()? + index_files.ingest()?;
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
    Ok(SeedReport { wrote: true, persons: count, scenario_persons, sst_files, elapsed: started.elapsed() })
}
