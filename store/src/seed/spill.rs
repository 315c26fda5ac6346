//! The insured-number index, spilled to disk while a seed runs, so that a seed's memory does not
//! grow with its population (about 70 bytes of index a person: 9 GB for the whole nation).
//!
//! The index key space is cut into partitions at keys taken from the first block. Each block's
//! sorted index entries are appended to the files of their partitions as one segment, with keys
//! stored as the length shared with the previous key and the rest (index keys are sorted, and
//! neighbours share the insurer number and usually the 記号). At the end each partition is read
//! back on its own — a few hundred MB at any population — and its segments are merged into the
//! index's SST files; partitions do not overlap, so neither do the files.

use std::fs::File;
use std::io::{BufReader, BufWriter, Read, Write};
use std::path::{Path, PathBuf};

use super::runs::Run;
use crate::StoreError;

/// Index entries a partition should hold at most, about: its run of full keys in memory is then
/// ~350 MB while it is merged, and two partitions are merged at a time.
const PARTITION_ENTRIES: u64 = 6_000_000;

/// Partitions for about `entries` index entries (at least two, so two threads can merge).
pub(super) fn partitions_for(entries: u64) -> usize {
    entries.div_ceil(PARTITION_ENTRIES).max(2) as usize
}

/// The spill files of one seed. Dropping it removes them.
#[derive(Debug)]
pub(super) struct Spill {
    /// Partition `p` holds keys from `splits[p - 1]` (inclusive) to `splits[p]` (exclusive).
    splits: Vec<Vec<u8>>,
    paths: Vec<PathBuf>,
    files: Vec<BufWriter<File>>,
    /// Entries of each segment of each partition, in the order they were written.
    segments: Vec<Vec<usize>>,
}

fn io(path: &Path) -> impl FnOnce(std::io::Error) -> StoreError + '_ {
    move |e| StoreError::Io(path.to_owned(), e)
}

impl Spill {
    /// Removes the spill files a seed killed part-way left behind (a dropped `Spill` removes its
    /// own; a killed process cannot).
    pub(super) fn remove_stale(dir: &Path) {
        let Ok(entries) = std::fs::read_dir(dir) else { return };
        for entry in entries.flatten() {
            if entry.file_name().to_string_lossy().starts_with("index-spill-") {
                let _ = std::fs::remove_file(entry.path());
            }
        }
    }

    /// Spill files in `dir` for `partitions` partitions, cut at keys of `sample` (a sorted
    /// sequence of index keys spread over the key space): fewer when the sample has fewer keys.
    pub(super) fn create<'k>(
        dir: &Path,
        partitions: usize,
        sample: impl ExactSizeIterator<Item = &'k [u8]>,
    ) -> Result<Spill, StoreError> {
        let n = sample.len();
        let mut splits: Vec<Vec<u8>> = Vec::with_capacity(partitions.saturating_sub(1));
        let mut next = 1;
        for (i, key) in sample.enumerate() {
            if next < partitions && i >= next * n / partitions {
                if splits.last().is_none_or(|last| last.as_slice() < key) {
                    splits.push(key.to_vec());
                }
                next += 1;
            }
        }
        let mut spill = Spill { paths: Vec::new(), files: Vec::new(), segments: Vec::new(), splits };
        for p in 0..=spill.splits.len() {
            let path = dir.join(format!("index-spill-{p:03}"));
            let file = File::create(&path).map_err(io(&path))?;
            spill.files.push(BufWriter::with_capacity(1 << 16, file));
            spill.paths.push(path);
            spill.segments.push(Vec::new());
        }
        Ok(spill)
    }

    pub(super) fn partitions(&self) -> usize {
        self.files.len()
    }

    /// Appends one sorted sequence of entries (a block's) as a segment of each partition.
    pub(super) fn append<'e>(&mut self, entries: impl Iterator<Item = (&'e [u8], &'e [u8])>) -> Result<(), StoreError> {
        let mut partition = 0;
        let mut count = 0;
        let mut prev: &[u8] = &[];
        let mut scratch = Vec::with_capacity(128);
        for (key, value) in entries {
            // Entries come sorted, so partitions are reached in order.
            while partition < self.splits.len() && key >= self.splits[partition].as_slice() {
                self.segments[partition].push(count);
                (partition, count, prev) = (partition + 1, 0, &[]);
            }
            let shared = key.iter().zip(prev).take_while(|(a, b)| a == b).count().min(255);
            scratch.clear();
            scratch.push(shared as u8);
            put_varint(&mut scratch, (key.len() - shared) as u64);
            scratch.extend_from_slice(&key[shared..]);
            put_varint(&mut scratch, value.len() as u64);
            scratch.extend_from_slice(value);
            let path = &self.paths[partition];
            self.files[partition].write_all(&scratch).map_err(io(path))?;
            (count, prev) = (count + 1, key);
        }
        while partition < self.files.len() {
            self.segments[partition].push(count);
            (partition, count) = (partition + 1, 0);
        }
        Ok(())
    }

    /// Finishes writing; the partitions can then be read, each on any thread.
    pub(super) fn finish(&mut self) -> Result<(), StoreError> {
        for (file, path) in self.files.iter_mut().zip(&self.paths) {
            file.flush().map_err(io(path))?;
        }
        Ok(())
    }

    /// Partition `p` read back: its entries as one run, and the range of each segment in it.
    pub(super) fn read(&self, p: usize) -> Result<(Run, Vec<std::ops::Range<usize>>), StoreError> {
        let path = &self.paths[p];
        let file = File::open(path).map_err(io(path))?;
        let len = file.metadata().map_err(io(path))?.len() as usize;
        let mut reader = BufReader::with_capacity(1 << 16, file);
        let total: usize = self.segments[p].iter().sum();
        let mut run = Run::default();
        run.entries.reserve_exact(total);
        // Full keys take about twice the room of the spilled ones.
        run.bytes.reserve(len * 2);
        let mut ranges = Vec::with_capacity(self.segments[p].len());
        let (mut key, mut value) = (Vec::with_capacity(128), Vec::with_capacity(16));
        for &count in &self.segments[p] {
            let start = run.entries.len();
            key.clear();
            for _ in 0..count {
                let shared = read_u8(&mut reader).map_err(io(path))? as usize;
                let rest = read_varint(&mut reader).map_err(io(path))? as usize;
                // A spill file is ours and short-lived, but a damaged one must fail the seed,
                // not build wrong keys or ask for absurd amounts of memory.
                if shared > key.len() || rest > len || shared + rest == 0 {
                    return Err(StoreError::Io(path.clone(), corrupt("bad key lengths")));
                }
                key.truncate(shared);
                let at = key.len();
                key.resize(at + rest, 0);
                reader.read_exact(&mut key[at..]).map_err(io(path))?;
                let n = read_varint(&mut reader).map_err(io(path))? as usize;
                if n > len {
                    return Err(StoreError::Io(path.clone(), corrupt("bad value length")));
                }
                value.resize(n, 0);
                reader.read_exact(&mut value).map_err(io(path))?;
                run.push(&key, &value);
            }
            ranges.push(start..run.entries.len());
        }
        Ok((run, ranges))
    }

    /// Bytes spilled so far (flushed or not).
    pub(super) fn bytes(&self) -> u64 {
        self.files.iter().map(|f| f.get_ref().metadata().map_or(0, |m| m.len()) + f.buffer().len() as u64).sum()
    }
}

impl Drop for Spill {
    fn drop(&mut self) {
        for path in &self.paths {
            let _ = std::fs::remove_file(path);
        }
    }
}

fn corrupt(what: &str) -> std::io::Error {
    std::io::Error::new(std::io::ErrorKind::InvalidData, format!("index spill file: {what}"))
}

fn put_varint(out: &mut Vec<u8>, mut v: u64) {
    while v >= 0x80 {
        out.push(v as u8 | 0x80);
        v >>= 7;
    }
    out.push(v as u8);
}

fn read_u8(r: &mut impl Read) -> std::io::Result<u8> {
    let mut b = [0u8; 1];
    r.read_exact(&mut b)?;
    Ok(b[0])
}

fn read_varint(r: &mut impl Read) -> std::io::Result<u64> {
    let mut v = 0u64;
    for shift in (0..64).step_by(7) {
        let b = read_u8(r)?;
        v |= u64::from(b & 0x7f) << shift;
        if b < 0x80 {
            return Ok(v);
        }
    }
    Err(std::io::Error::new(std::io::ErrorKind::InvalidData, "varint longer than 64 bits"))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn run_of(keys: &[&str]) -> Run {
        let mut run = Run::default();
        for (i, k) in keys.iter().enumerate() {
            run.push(k.as_bytes(), &[i as u8; 9]);
        }
        run
    }

    /// Segments written to partitions come back whole, each in its partition, in order, with
    /// keys that share prefixes restored.
    #[test]
    fn segments_come_back_by_partition() {
        let dir = tempfile::tempdir().expect("tempdir");
        let first = run_of(&["a1", "a2", "b", "c10", "c11", "d"]);
        let sample: Vec<&[u8]> = first.iter().map(|(k, _)| k).collect();
        let mut spill = Spill::create(dir.path(), 3, sample.into_iter()).expect("creates");
        assert_eq!(spill.partitions(), 3);
        assert_eq!(spill.splits, vec![b"b".to_vec(), b"c11".to_vec()]);
        spill.append(first.iter()).expect("appends");
        let second = run_of(&["a0", "c111", "c2", "zz"]);
        spill.append(second.iter()).expect("appends");
        spill.finish().expect("flushes");
        assert!(spill.bytes() > 0);
        let keys = |p: usize| {
            let (run, ranges) = spill.read(p).expect("reads");
            ranges
                .into_iter()
                .map(|r| {
                    r.map(|i| {
                        let (k, v) = run.entry(run.entries[i]);
                        (String::from_utf8(k.to_vec()).expect("utf-8"), v[0])
                    })
                    .collect::<Vec<_>>()
                })
                .collect::<Vec<_>>()
        };
        let s = |k: &str, v: u8| (k.to_owned(), v);
        assert_eq!(keys(0), vec![vec![s("a1", 0), s("a2", 1)], vec![s("a0", 0)]]);
        assert_eq!(keys(1), vec![vec![s("b", 2), s("c10", 3)], vec![]]);
        assert_eq!(keys(2), vec![vec![s("c11", 4), s("d", 5)], vec![s("c111", 1), s("c2", 2), s("zz", 3)]]);
        let paths = spill.paths.clone();
        drop(spill);
        assert!(paths.iter().all(|p| !p.exists()), "spill files are removed");
    }

    /// A damaged spill file fails the read with an error; stale spill files are removed.
    #[test]
    fn a_damaged_spill_file_is_an_error() {
        let dir = tempfile::tempdir().expect("tempdir");
        let run = run_of(&["a", "b"]);
        let sample: Vec<&[u8]> = run.iter().map(|(k, _)| k).collect();
        let mut spill = Spill::create(dir.path(), 1, sample.into_iter()).expect("creates");
        spill.append(run.iter()).expect("appends");
        spill.finish().expect("flushes");
        // The second entry claims to share 9 bytes with a 1-byte key.
        let mut bytes = std::fs::read(&spill.paths[0]).expect("reads");
        let second = 1 + 1 + 1 + 1 + 9;
        bytes[second] = 9;
        std::fs::write(&spill.paths[0], &bytes).expect("writes");
        let Err(err) = spill.read(0) else { panic!("a damaged file is an error") };
        assert!(err.to_string().contains("index spill file"), "{err}");
        let stale = dir.path().join("index-spill-007");
        std::fs::write(&stale, b"left by a killed seed").expect("writes");
        Spill::remove_stale(dir.path());
        assert!(!stale.exists() && !spill.paths[0].exists());
    }

    /// A sample with fewer keys than partitions asked for makes fewer partitions.
    #[test]
    fn few_keys_make_few_partitions() {
        let dir = tempfile::tempdir().expect("tempdir");
        let one = run_of(&["k"]);
        let sample: Vec<&[u8]> = one.iter().map(|(k, _)| k).collect();
        let spill = Spill::create(dir.path(), 8, sample.into_iter()).expect("creates");
        // One split at the only key: below it, and from it on.
        assert_eq!(spill.partitions(), 2);
        assert_eq!(partitions_for(1), 2);
        assert_eq!(partitions_for(155_000_000), 26);
    }
}
