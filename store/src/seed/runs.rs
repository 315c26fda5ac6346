//! Sorted runs: a seeder's entries of one column family kept in one flat buffer, sorted by key,
//! and merged (two at a time for a block's halves, many at a time for the index) into the strictly
//! increasing sequences SST files need.

/// Entries of one column family in one buffer: a few allocations per block instead of one or
/// two per entry.
#[derive(Debug, Default)]
pub(super) struct Run {
    pub(super) bytes: Vec<u8>,
    /// Where each entry's key starts in `bytes`, the key's length and the value's length (the
    /// value follows the key). A run holds at most half a block, far below 4 GiB.
    pub(super) entries: Vec<(u32, u32, u32)>,
}

impl Run {
    pub(super) fn push(&mut self, key: &[u8], value: &[u8]) {
        // Offsets are u32: a run (half a block, or one index partition of a few hundred MB) must
        // stay under 4 GiB; past that, stop rather than wrap.
        assert!(self.bytes.len() + key.len() + value.len() <= u32::MAX as usize, "a sorted run outgrew 4 GiB");
        self.entries.push((self.bytes.len() as u32, key.len() as u32, value.len() as u32));
        self.bytes.extend_from_slice(key);
        self.bytes.extend_from_slice(value);
    }

    pub(super) fn key(&self, (at, key, _): (u32, u32, u32)) -> &[u8] {
        &self.bytes[at as usize..(at + key) as usize]
    }

    pub(super) fn entry(&self, (at, key, value): (u32, u32, u32)) -> (&[u8], &[u8]) {
        let at = at as usize;
        let mid = at + key as usize;
        (&self.bytes[at..mid], &self.bytes[mid..mid + value as usize])
    }

    /// The first 16 bytes of a key as one big-endian integer (zero-padded): ordering by it and
    /// then by the whole key is memcmp order, and for card serials (16 digits) and index keys
    /// (insurer number and 記号 first) the first comparison almost always decides.
    pub(super) fn head(&self, e: (u32, u32, u32)) -> u128 {
        let k = self.key(e);
        match k.first_chunk::<16>() {
            Some(first) => u128::from_be_bytes(*first),
            None => {
                let mut b = [0u8; 16];
                b[..k.len()].copy_from_slice(k);
                u128::from_be_bytes(b)
            }
        }
    }

    pub(super) fn sort(&mut self) {
        let mut keyed: Vec<(u128, (u32, u32, u32))> = self.entries.iter().map(|e| (self.head(*e), *e)).collect();
        keyed.sort_unstable_by(|x, y| x.0.cmp(&y.0).then_with(|| self.key(x.1).cmp(self.key(y.1))));
        self.entries.clear();
        self.entries.extend(keyed.into_iter().map(|(_, e)| e));
    }
}

impl Run {
    pub(super) fn iter(&self) -> impl Iterator<Item = (&[u8], &[u8])> {
        self.entries.iter().map(|e| self.entry(*e))
    }
}

/// Two sorted runs merged (keys are unique: card serials of different people).
pub(super) fn merged2<'r>(a: &'r Run, b: &'r Run) -> impl Iterator<Item = (&'r [u8], &'r [u8])> {
    let (mut i, mut j) = (0, 0);
    std::iter::from_fn(move || {
        let take_a = match (a.entries.get(i), b.entries.get(j)) {
            (Some(x), Some(y)) => (a.head(*x), a.key(*x)) <= (b.head(*y), b.key(*y)),
            (Some(_), None) => true,
            (None, Some(_)) => false,
            (None, None) => return None,
        };
        if take_a {
            i += 1;
            Some(a.entry(a.entries[i - 1]))
        } else {
            j += 1;
            Some(b.entry(b.entries[j - 1]))
        }
    })
}

/// The sorted entries of several runs merged into one sequence, in key order; of equal keys only
/// the first (in run order) is kept, so the sequence is strictly increasing.
pub(super) fn merged<'r>(runs: Vec<(&'r Run, std::ops::Range<usize>)>) -> impl Iterator<Item = (&'r [u8], &'r [u8])> {
    use std::cmp::Reverse;
    use std::collections::BinaryHeap;
    let next = |runs: &[(&'r Run, std::ops::Range<usize>)], n: usize, i: usize| {
        let run = runs[n].0;
        let e = run.entries[i];
        Reverse((run.head(e), run.key(e), n, i))
    };
    let mut heap = BinaryHeap::with_capacity(runs.len());
    for (n, (_, range)) in runs.iter().enumerate() {
        if range.start < range.end {
            heap.push(next(&runs, n, range.start));
        }
    }
    let mut last: Option<&[u8]> = None;
    std::iter::from_fn(move || {
        loop {
            let Reverse((_, key, n, i)) = heap.pop()?;
            let (run, range) = &runs[n];
            if i + 1 < range.end {
                heap.push(next(&runs, n, i + 1));
            }
            if last == Some(key) {
                continue;
            }
            last = Some(key);
            return Some(run.entry(run.entries[i]));
        }
    })
}
