//! What the screen shows of the day: every confirmation answer this terminal gave (single checks
//! from the folder exchange, taps at the reader) and every face file that
//! appeared in `face/` (also those written by `onshi-terminal tap` in another process), kept as
//! the answer's element tree so the screen shows exactly what the EHR received. New entries are
//! broadcast for the confirmations page's live updates.
//!
//! Each successful confirmation is also a visit: one line of `state/visits.tsv` (date, the insured
//! numbers, birthdate, how it was confirmed), from which the fees page asks for the additions.

use std::collections::{HashSet, VecDeque};
use std::fs::OpenOptions;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

use tokio::sync::broadcast;

use crate::ops::now_compact;
use crate::xml_in::{self, Element};

/// The most entries kept (older ones of the day scroll away).
pub const MAX_ENTRIES: usize = 2_000;

/// Where an answer came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Source {
    /// An `OQSsiquc01req` the EHR dropped into `req/`.
    Folder,
    /// A tap at this terminal's reader (the screen's).
    Tap,
    /// A face file found in `face/` (written by another reader process).
    Face,
}

impl Source {
    pub fn label(self) -> &'static str {
        match self {
            Source::Folder => "req/ フォルダ",
            Source::Tap => "カードリーダー",
            Source::Face => "face/ ファイル",
        }
    }
}

/// One answer.
#[derive(Debug)]
pub struct Entry {
    pub id: u64,
    /// yyyyMMddHHmmss, JST, when the terminal recorded it.
    pub recorded: String,
    pub source: Source,
    /// The request or face file's name.
    pub file: String,
    pub header: Element,
    pub body: Element,
}

impl Entry {
    /// The results in the answer's `ResultList` (several when QualificationValidity is 5).
    pub fn results(&self) -> Vec<&Element> {
        self.body
            .child("ResultList")
            .map(|l| l.children_named("ResultOfQualificationConfirmation").collect())
            .unwrap_or_default()
    }
}

struct Inner {
    entries: VecDeque<Arc<Entry>>,
    next_id: u64,
    /// Face files already recorded (by name).
    seen_faces: HashSet<String>,
}

pub struct Journal {
    inner: Mutex<Inner>,
    tx: broadcast::Sender<Arc<Entry>>,
    visits: PathBuf,
}

impl Journal {
    /// A journal keeping its visit log in `state_dir`.
    pub fn new(state_dir: &Path) -> Journal {
        let (tx, _) = broadcast::channel(256);
        Journal {
            inner: Mutex::new(Inner { entries: VecDeque::new(), next_id: 1, seen_faces: HashSet::new() }),
            tx,
            visits: state_dir.join("visits.tsv"),
        }
    }

    /// Records an answer's bytes (as written to the file). Unreadable bytes are skipped: they
    /// were written by this terminal, so that is a bug to see in the log, not a user error.
    pub fn record(&self, source: Source, file: &str, bytes: &[u8]) -> Option<Arc<Entry>> {
        let doc = match xml_in::read(bytes) {
            Ok(d) => d,
            Err(e) => {
                tracing::warn!(file, "the screen cannot read an answer: {e}");
                return None;
            }
        };
        let header = doc.root.child("MessageHeader").cloned().unwrap_or_default();
        let body = doc.root.child("MessageBody").cloned().unwrap_or_default();
        let entry = {
            let Ok(mut inner) = self.inner.lock() else { return None };
            // A face file is recorded once: the check and the mark are one step under the lock, so
            // the face/ scan and a tap (which reserved the name before writing) never both record it.
            if source == Source::Face && !inner.seen_faces.insert(file.to_owned()) {
                return None;
            }
            let entry = Arc::new(Entry {
                id: inner.next_id,
                recorded: now_compact(),
                source,
                file: file.to_owned(),
                header,
                body,
            });
            inner.next_id += 1;
            inner.entries.push_back(entry.clone());
            while inner.entries.len() > MAX_ENTRIES {
                inner.entries.pop_front();
            }
            entry
        };
        self.log_visits(&entry);
        let _ = self.tx.send(entry.clone());
        Some(entry)
    }

    /// Today's entries (JST), newest first.
    pub fn today(&self) -> Vec<Arc<Entry>> {
        let today = &now_compact()[..8];
        let Ok(inner) = self.inner.lock() else { return Vec::new() };
        inner.entries.iter().rev().filter(|e| e.recorded.starts_with(today)).cloned().collect()
    }

    pub fn get(&self, id: u64) -> Option<Arc<Entry>> {
        let inner = self.inner.lock().ok()?;
        inner.entries.iter().find(|e| e.id == id).cloned()
    }

    /// Marks a face file this process is about to write, so the face/ scan leaves it to the tap.
    pub fn reserve_face(&self, file: &str) {
        if let Ok(mut inner) = self.inner.lock() {
            inner.seen_faces.insert(file.to_owned());
        }
    }

    pub fn subscribe(&self) -> broadcast::Receiver<Arc<Entry>> {
        self.tx.subscribe()
    }

    /// Records the face files in `dir` not seen yet that were written today.
    pub fn scan_faces(&self, dir: &Path) {
        let today = &now_compact()[..8];
        let mut names: Vec<String> = std::fs::read_dir(dir)
            .into_iter()
            .flatten()
            .filter_map(Result::ok)
            .map(|e| e.file_name().to_string_lossy().into_owned())
            .filter(|n| n.starts_with("OQSsiquc01res_face_") && n.ends_with(".xml"))
            // The name ends with the local time it was written: _yyyyMMddHHmmss.xml.
            .filter(|n| n.len() > 18 && n[n.len() - 18..].starts_with(&format!("_{today}")))
            .collect();
        names.sort();
        for name in names {
            // A cheap skip of what is known; `record` decides, atomically.
            let seen = self.inner.lock().map(|i| i.seen_faces.contains(&name)).unwrap_or(true);
            if seen {
                continue;
            }
            match std::fs::read(dir.join(&name)) {
                Ok(bytes) => {
                    if xml_in::read(&bytes).is_err() {
                        // Unreadable: do not try again every half second.
                        self.reserve_face(&name);
                        continue;
                    }
                    self.record(Source::Face, &name, &bytes);
                }
                Err(_) => continue,
            }
        }
    }

    /// Appends a visit line per successful result of the entry.
    fn log_visits(&self, entry: &Entry) {
        let how = if entry.header.text_of("ReferenceClassification") == "1" { "card" } else { "insured" };
        let day = entry.header.text_of("QualificationConfirmationDate");
        let day = if day.len() == 8 { day.to_owned() } else { entry.recorded[..8].to_owned() };
        let mut lines = String::new();
        for r in entry.results() {
            let fields = [
                r.text_of("InsurerNumber"),
                r.text_of("InsuredCardSymbol"),
                r.text_of("InsuredIdentificationNumber"),
                r.text_of("InsuredBranchNumber"),
                r.text_of("Birthdate"),
            ];
            if fields[0].is_empty() || fields[4].is_empty() {
                continue;
            }
            let clean: Vec<String> = fields.iter().map(|f| f.replace(['\t', '\n', '\r'], " ")).collect();
            lines.push_str(&format!("{day}\t{}\t{how}\n", clean.join("\t")));
        }
        if lines.is_empty() {
            return;
        }
        let written = OpenOptions::new()
            .create(true)
            .append(true)
            .open(&self.visits)
            .and_then(|mut f| f.write_all(lines.as_bytes()));
        if let Err(e) = written {
            tracing::warn!("cannot append to {}: {e}", self.visits.display());
        }
    }

    /// The visits logged, oldest first.
    pub fn visits(&self) -> Vec<Visit> {
        let text = std::fs::read_to_string(&self.visits).unwrap_or_default();
        text.lines()
            .filter_map(|l| {
                let f: Vec<&str> = l.split('\t').collect();
                (f.len() == 7).then(|| Visit {
                    date: f[0].to_owned(),
                    insurer: f[1].to_owned(),
                    symbol: f[2].to_owned(),
                    number: f[3].to_owned(),
                    branch: f[4].to_owned(),
                    birthdate: f[5].to_owned(),
                    by_card: f[6] == "card",
                })
            })
            .collect()
    }
}

/// A logged visit.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Visit {
    pub date: String,
    pub insurer: String,
    pub symbol: String,
    pub number: String,
    pub branch: String,
    pub birthdate: String,
    pub by_card: bool,
}

impl Visit {
    /// The patient, as one key.
    pub fn patient(&self) -> (&str, &str, &str, &str, &str) {
        (&self.insurer, &self.symbol, &self.number, &self.branch, &self.birthdate)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const FACE: &[u8] = "<?xml version=\"1.0\" encoding=\"UTF-8\"?><XmlMsg><MessageHeader><ReferenceClassification>1</ReferenceClassification></MessageHeader><MessageBody><ProcessingResultStatus>1</ProcessingResultStatus></MessageBody></XmlMsg>".as_bytes();

    /// A face file is one entry, whoever sees it first: the face/ scan twice, or a tap that
    /// reserved its name and the scan that found the file before the tap recorded it.
    #[test]
    fn a_face_file_is_recorded_once() {
        let dir = tempfile::tempdir().expect("dir");
        let j = Journal::new(dir.path());
        assert!(j.record(Source::Face, "f1.xml", FACE).is_some());
        assert!(j.record(Source::Face, "f1.xml", FACE).is_none());
        j.reserve_face("f2.xml");
        assert!(j.record(Source::Face, "f2.xml", FACE).is_none(), "the scan leaves a reserved file to the tap");
        assert!(j.record(Source::Tap, "f2.xml", FACE).is_some());
        assert_eq!(j.today().len(), 2);
        assert_eq!(j.today()[0].source, Source::Tap);
    }
}
