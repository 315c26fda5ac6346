//! The patients this terminal has confirmed: insured numbers → birthdate, name, kana and sex,
//! from every result it wrote (single checks, bulk units, face files).
//!
//! The real 薬剤情報 / 特定健診 and 照会番号 requests carry the insured numbers but no birthdate,
//! while onshi's gRPC API identifies a person by numbers *and* birthdate (the insured index is
//! keyed by both). The terminal fills the gap the way a facility's workflow does: the patient's
//! qualification was confirmed first (a tap at the reader, or a check), and the terminal remembers
//! what that answer said. The book is an append-only file in the terminal's state folder, shared
//! with `onshi-terminal tap` (each line is one `write` on an O_APPEND file), and reread on a miss.

use std::collections::HashMap;
use std::fs::OpenOptions;
use std::io::{Read, Seek, SeekFrom, Write};
use std::path::PathBuf;
use std::sync::Mutex;

use onshi_proto::v1::ResultOfQualificationConfirmation;

/// What the terminal knows of a confirmed patient.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Patient {
    pub birthdate: String,
    pub name: String,
    pub kana: String,
    /// Sex1: 1 男, 2 女, 3 未設定.
    pub sex: String,
}

#[derive(Default)]
struct Inner {
    by_numbers: HashMap<String, Patient>,
    /// How far into the file this process has read.
    read_to: u64,
}

pub struct PatientBook {
    path: PathBuf,
    inner: Mutex<Inner>,
}

fn key(insurer: &str, symbol: &str, number: &str, branch: &str) -> String {
    format!("{}\t{}\t{}\t{}", insurer.trim(), symbol.trim(), number.trim(), branch.trim())
}

fn clean(s: &str) -> String {
    s.replace(['\t', '\n', '\r'], " ")
}

impl PatientBook {
    /// The book kept in `path` (created on the first write).
    pub fn open(path: PathBuf) -> PatientBook {
        let book = PatientBook { path, inner: Mutex::new(Inner::default()) };
        book.reload();
        book
    }

    /// Reads lines other processes appended since the last read.
    fn reload(&self) {
        let Ok(mut file) = std::fs::File::open(&self.path) else { return };
        let Ok(mut inner) = self.inner.lock() else { return };
        if file.seek(SeekFrom::Start(inner.read_to)).is_err() {
            return;
        }
        let mut text = String::new();
        if file.read_to_string(&mut text).is_err() {
            return;
        }
        // Only whole lines: a line being appended right now is read next time.
        let whole = text.rfind('\n').map_or(0, |i| i + 1);
        for line in text[..whole].lines() {
            let f: Vec<&str> = line.split('\t').collect();
            if let [insurer, symbol, number, branch, birthdate, name, kana, sex] = f[..] {
                inner.by_numbers.insert(
                    key(insurer, symbol, number, branch),
                    Patient { birthdate: birthdate.into(), name: name.into(), kana: kana.into(), sex: sex.into() },
                );
            }
        }
        inner.read_to += whole as u64;
    }

    /// Remembers the person a result is about (written once per new or changed person).
    pub fn remember(&self, r: &ResultOfQualificationConfirmation) {
        if r.insured_identification_number.is_empty() || r.birthdate.is_empty() {
            return;
        }
        let k = key(
            &clean(&r.insurer_number),
            &clean(&r.insured_card_symbol),
            &clean(&r.insured_identification_number),
            &clean(&r.insured_branch_number),
        );
        let patient = Patient {
            birthdate: r.birthdate.clone(),
            name: r.name.clone(),
            kana: r.name_kana.clone(),
            sex: r.sex1.clone(),
        };
        let Ok(mut inner) = self.inner.lock() else { return };
        if inner.by_numbers.get(&k) == Some(&patient) {
            return;
        }
        let line = format!(
            "{}\t{}\t{}\t{}\t{}\n",
            k,
            clean(&patient.birthdate),
            clean(&patient.name),
            clean(&patient.kana),
            clean(&patient.sex)
        );
        inner.by_numbers.insert(k, patient);
        drop(inner);
        if let Ok(mut file) = OpenOptions::new().create(true).append(true).open(&self.path) {
            // One write call: lines from several processes never interleave.
            let _ = file.write_all(line.as_bytes());
        }
    }

    /// The patient with these numbers, if this terminal (or a tap) confirmed them. With no 枝番,
    /// the one person with these numbers, if only one is known.
    pub fn find(&self, insurer: &str, symbol: &str, number: &str, branch: &str) -> Option<Patient> {
        let look = |inner: &Inner| -> Option<Patient> {
            if !branch.trim().is_empty() {
                return inner.by_numbers.get(&key(insurer, symbol, number, branch)).cloned();
            }
            let prefix = key(insurer, symbol, number, "");
            let mut found = inner.by_numbers.iter().filter(|(k, _)| k.starts_with(&prefix));
            match (found.next(), found.next()) {
                (Some((_, p)), None) => Some(p.clone()),
                _ => None,
            }
        };
        if let Some(p) = self.inner.lock().ok().and_then(|i| look(&i)) {
            return Some(p);
        }
        self.reload();
        self.inner.lock().ok().and_then(|i| look(&i))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_remembered_patient_is_found_by_another_process_reading_the_file() {
        let dir = tempfile::tempdir().expect("dir");
        let path = dir.path().join("patients.tsv");
        let writer = PatientBook::open(path.clone());
        let reader = PatientBook::open(path);
        assert_eq!(reader.find("  131045", "A", "12", "00"), None);
        writer.remember(&ResultOfQualificationConfirmation {
            insurer_number: "  131045".into(),
            insured_card_symbol: "A".into(),
            insured_identification_number: "12".into(),
            insured_branch_number: "00".into(),
            birthdate: "19800115".into(),
            name: "山田\t太郎".into(),
            sex1: "1".into(),
            ..Default::default()
        });
        let p = reader.find("131045", "A", "12", "00").expect("found after a reload");
        assert_eq!(p.birthdate, "19800115");
        assert_eq!(p.name, "山田 太郎");
        assert_eq!(reader.find("131045", "A", "12", "").map(|p| p.birthdate), Some("19800115".into()));
        assert_eq!(reader.find("131045", "A", "12", "01"), None);
    }
}
