//! Concurrent writers against a running onshi over real mutual TLS, a ledger of every write the
//! server acknowledged, and a check that each acknowledged write is in the store, unique and
//! intact.
//!
//! Every write path runs at once, several clients each: 一括照会 uploads from four facilities of
//! one prefecture, admin UpsertPerson (new people, some with a card), IssueCard on a few shared
//! people from several clients, SetConsent, ConfirmByCard with consents followed by medication
//! reads (each read appends an access record), and 照会番号 registrations. Each worker owns its
//! own slice of the population, so what the store must hold afterwards is known exactly.
//!
//! The same workload serves the CI test (`tests/integration/concurrency.rs`: every call must
//! succeed, every acknowledged write must be found) and the kill -9 command (`onshi-stress`):
//! there a call in flight when the server dies has no answer, so the ledger also keeps what was
//! asked without an answer, and the check accepts it either way.

use std::collections::{BTreeMap, HashMap, HashSet};
use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use serde::{Deserialize, Serialize};

use onshi_domain::date::Date;
use onshi_domain::population::Population;
use onshi_proto::v1::access_history_service_client::AccessHistoryServiceClient;
use onshi_proto::v1::admin_service_client::AdminServiceClient;
use onshi_proto::v1::medication_service_client::MedicationServiceClient;
use onshi_proto::v1::qualification_service_client::QualificationServiceClient;
use onshi_proto::v1::{
    BulkConfirmDownloadRequest, BulkConfirmUploadRequest, CardReaderInfo, ConfirmByCardRequest,
    ConfirmByInsuredNumberRequest, GetMedicationInfoRequest, GetPersonRequest, IssueCardRequest,
    ListAccessHistoryRequest, PatientSearchInfo, PersonRef, QualificationConfirmSearchInfo, QualificationSpec,
    ReferenceNumberRegistration, RegisterReferenceNumbersRequest, SetConsentRequest, UpsertPersonRequest, person_ref,
};
use tonic::transport::{Certificate, Channel, ClientTlsConfig, Identity};

/// The demo facilities the workload uses: all four active ones, all in prefecture 13, so their
/// bulk uploads compete for reception numbers.
pub const FACILITIES: [&str; 4] = ["1312345679", "1332345675", "1342345673", "1311000010"];

/// A running server to drive.
#[derive(Debug, Clone)]
pub struct Target {
    pub addr: SocketAddr,
    pub admin_addr: SocketAddr,
    /// The dev PKI: `ca.pem` and `<facility code>.pem` / `.key`.
    pub pki_dir: PathBuf,
    /// The seeded population (its seed, size and reference date).
    pub seed: u64,
    pub persons: u64,
    pub as_of: Date,
}

impl Target {
    fn read(&self, name: &str) -> Result<Vec<u8>, String> {
        let path = self.pki_dir.join(name);
        std::fs::read(&path).map_err(|e| format!("{}: {e}", path.display()))
    }

    /// A new connection presenting `facility`'s certificate.
    pub async fn facility(&self, facility: &str) -> Result<Channel, String> {
        let tls = ClientTlsConfig::new()
            .ca_certificate(Certificate::from_pem(self.read("ca.pem")?))
            .identity(Identity::from_pem(
                self.read(&format!("{facility}.pem"))?,
                self.read(&format!("{facility}.key"))?,
            ))
            .domain_name("localhost");
        Channel::from_shared(format!("https://{}", self.addr))
            .map_err(|e| e.to_string())?
            .tls_config(tls)
            .map_err(|e| e.to_string())?
            .connect()
            .await
            .map_err(|e| format!("connect as {facility}: {e}"))
    }

    /// A new connection to the admin listener (plaintext, loopback).
    pub async fn admin(&self) -> Result<AdminServiceClient<Channel>, String> {
        let channel = Channel::from_shared(format!("http://{}", self.admin_addr))
            .map_err(|e| e.to_string())?
            .connect()
            .await
            .map_err(|e| format!("connect to admin: {e}"))?;
        Ok(AdminServiceClient::new(channel))
    }

    fn population(&self) -> Population {
        Population::new(self.seed, self.as_of)
    }
}

/// How a run ends for its workers.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mode {
    /// Every call must be answered with success: a failure is a finding.
    Strict,
    /// The server may be killed at any moment: a failed call ends its worker, and what it asked
    /// counts as "maybe written".
    Crash,
}

/// Whether a value asked to be written was acknowledged, or asked without an answer.
#[derive(Debug, Clone, Default)]
pub struct Written {
    /// The last value the server acknowledged.
    pub acked: Option<String>,
    /// Values asked after it that got no answer (any of them may be in the store).
    pub unanswered: Vec<String>,
}

/// One acknowledged 一括照会 upload.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct BulkAck {
    pub facility: String,
    pub reception_number: String,
    pub arbitrary_identifiers: Vec<String>,
}

/// One acknowledged new person.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct PersonAck {
    pub person_id: u64,
    pub name: String,
    pub search: SearchKeys,
    pub serial: Option<String>,
}

/// Insured numbers and birthdate, as asked.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct SearchKeys {
    pub insurer: String,
    pub symbol: String,
    pub number: String,
    pub branch: String,
    pub birthdate: String,
}

impl SearchKeys {
    fn of(s: &QualificationConfirmSearchInfo) -> SearchKeys {
        SearchKeys {
            insurer: s.insurer_number.clone(),
            symbol: s.insured_card_symbol.clone(),
            number: s.insured_identification_number.clone(),
            branch: s.insured_branch_number.clone(),
            birthdate: s.birthdate.clone(),
        }
    }

    fn search(&self) -> QualificationConfirmSearchInfo {
        QualificationConfirmSearchInfo {
            insurer_number: self.insurer.clone(),
            insured_card_symbol: self.symbol.clone(),
            insured_identification_number: self.number.clone(),
            insured_branch_number: self.branch.clone(),
            birthdate: self.birthdate.clone(),
            ..Default::default()
        }
    }
}

/// One line of the expected-state file: a write asked, or acknowledged (as RocksDB's crash test
/// keeps its expected state). Replaying the file gives the ledger the check reads back.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(tag = "event", rename_all = "snake_case")]
pub enum Event {
    Bulk(BulkAck),
    Person(PersonAck),
    Card {
        person: u64,
        serial: String,
    },
    ConfirmedWithConsent,
    ReferenceAsked {
        facility: String,
        person: u64,
        number: String,
    },
    ReferenceAcked {
        facility: String,
        person: u64,
        number: String,
    },
    ReadAsked {
        facility: String,
        person: u64,
    },
    /// The read was answered: disclosed (an access record written) or refused (none).
    ReadAnswered {
        facility: String,
        person: u64,
        disclosed: bool,
    },
    Consent {
        facility: String,
        person: u64,
        kind: String,
    },
}

/// Every acknowledged write of a run (and of the runs before it, in the crash loop).
#[derive(Debug, Default)]
pub struct Ledger {
    pub bulk: Vec<BulkAck>,
    pub persons: Vec<PersonAck>,
    /// Person id → serials of cards issued to it and acknowledged.
    pub cards: BTreeMap<u64, Vec<String>>,
    /// (facility, population index) → the 照会番号 registered.
    pub references: BTreeMap<(String, u64), Written>,
    /// (facility, population index) → medication reads (acknowledged, unanswered). Each read
    /// appends one access record.
    pub reads: BTreeMap<(String, u64), (u64, u64)>,
    /// (facility, population index, consent kind) given through SetConsent and acknowledged.
    pub consents: HashSet<(String, u64, String)>,
    /// Calls that failed in strict mode.
    pub failures: Vec<String>,
    /// Acknowledged writes, all kinds.
    pub acknowledged: u64,
}

impl Ledger {
    /// Applies one event.
    pub fn apply(&mut self, event: Event) {
        match event {
            Event::Bulk(b) => {
                self.acknowledged += 1;
                self.bulk.push(b);
            }
            Event::Person(p) => {
                self.acknowledged += 1;
                self.persons.push(p);
            }
            Event::Card { person, serial } => {
                self.acknowledged += 1;
                self.cards.entry(person).or_default().push(serial);
            }
            Event::ConfirmedWithConsent => self.acknowledged += 1,
            Event::ReferenceAsked { facility, person, number } => {
                self.references.entry((facility, person)).or_default().unanswered.push(number);
            }
            Event::ReferenceAcked { facility, person, number } => {
                self.acknowledged += 1;
                *self.references.entry((facility, person)).or_default() =
                    Written { acked: Some(number), unanswered: Vec::new() };
            }
            Event::ReadAsked { facility, person } => self.reads.entry((facility, person)).or_default().1 += 1,
            Event::ReadAnswered { facility, person, disclosed } => {
                let e = self.reads.entry((facility, person)).or_default();
                e.1 = e.1.saturating_sub(1);
                if disclosed {
                    e.0 += 1;
                    self.acknowledged += 1;
                }
            }
            Event::Consent { facility, person, kind } => {
                self.acknowledged += 1;
                self.consents.insert((facility, person, kind));
            }
        }
    }

    /// The ledger an expected-state file describes.
    /// Numbers handed out twice: a reception number to two acknowledged uploads, a person id
    /// to two acknowledged new people (checked in memory, over everything).
    pub fn duplicates(&self) -> Vec<String> {
        let mut problems = Vec::new();
        let mut seen: HashMap<&str, usize> = HashMap::new();
        for ack in &self.bulk {
            *seen.entry(&ack.reception_number).or_default() += 1;
        }
        let mut dup: Vec<_> = seen.iter().filter(|(_, n)| **n > 1).collect();
        dup.sort();
        if !dup.is_empty() {
            problems.push(format!(
                "{} reception numbers were handed to more than one acknowledged upload (e.g. {:?})",
                dup.len(),
                dup.iter().take(3).collect::<Vec<_>>()
            ));
        }
        let mut ids: HashMap<u64, &str> = HashMap::new();
        for p in &self.persons {
            if let Some(other) = ids.insert(p.person_id, &p.name) {
                problems.push(format!("person id {} was handed to {other:?} and to {:?}", p.person_id, p.name));
            }
        }
        problems
    }

    /// What a crash-loop cycle checks against the server: every entry `recent` (the cycle's own
    /// writes) touched, in the state the whole ledger says, and about `older` entries of each
    /// kind from earlier cycles, chosen by `salt` (a different sample every cycle). Uniqueness is
    /// checked over the whole ledger with [`Ledger::duplicates`].
    pub fn sample(&self, recent: &Ledger, older: usize, salt: u64) -> Ledger {
        let keep = |key: u64, len: usize| {
            let stride = (len / older.max(1)).max(1) as u64;
            (key ^ salt).wrapping_mul(0x9E37_79B9_7F4A_7C15).is_multiple_of(stride)
        };
        let hash = |text: &str, n: u64| text.bytes().fold(n, |h, b| h.wrapping_mul(31).wrapping_add(u64::from(b)));
        let split = |len: usize, recent: usize| len.saturating_sub(recent);
        let from = split(self.bulk.len(), recent.bulk.len());
        let bulk = self
            .bulk
            .iter()
            .enumerate()
            .filter(|(i, a)| *i >= from || keep(hash(&a.reception_number, 0), from))
            .map(|(_, a)| a.clone())
            .collect();
        let from = split(self.persons.len(), recent.persons.len());
        let persons = self
            .persons
            .iter()
            .enumerate()
            .filter(|(i, p)| *i >= from || keep(p.person_id, from))
            .map(|(_, p)| p.clone())
            .collect();
        let cards = self
            .cards
            .iter()
            .filter(|(k, _)| recent.cards.contains_key(k) || keep(**k, self.cards.len()))
            .map(|(k, v)| (*k, v.clone()))
            .collect();
        let references = self
            .references
            .iter()
            .filter(|(k, _)| recent.references.contains_key(k) || keep(hash(&k.0, k.1), self.references.len()))
            .map(|(k, v)| (k.clone(), v.clone()))
            .collect();
        let reads = self
            .reads
            .iter()
            .filter(|(k, _)| recent.reads.contains_key(k) || keep(hash(&k.0, k.1), self.reads.len()))
            .map(|(k, v)| (k.clone(), *v))
            .collect();
        let consents = self
            .consents
            .iter()
            .filter(|k| recent.consents.contains(k) || keep(hash(&k.2, hash(&k.0, k.1)), self.consents.len()))
            .cloned()
            .collect();
        Ledger {
            bulk,
            persons,
            cards,
            references,
            reads,
            consents,
            failures: self.failures.clone(),
            acknowledged: self.acknowledged,
        }
    }

    pub fn replay(path: &std::path::Path) -> Result<Ledger, String> {
        let text = std::fs::read_to_string(path).map_err(|e| format!("{}: {e}", path.display()))?;
        let mut ledger = Ledger::default();
        for (i, line) in text.lines().enumerate().filter(|(_, l)| !l.is_empty()) {
            let event = serde_json::from_str(line).map_err(|e| format!("{} line {}: {e}", path.display(), i + 1))?;
            ledger.apply(event);
        }
        Ok(ledger)
    }

    /// Adds another run's ledger to this one.
    pub fn absorb(&mut self, other: Ledger) {
        self.bulk.extend(other.bulk);
        self.persons.extend(other.persons);
        for (k, v) in other.cards {
            self.cards.entry(k).or_default().extend(v);
        }
        for (k, v) in other.references {
            let e = self.references.entry(k).or_default();
            match v.acked {
                Some(a) => *e = Written { acked: Some(a), unanswered: v.unanswered },
                None => e.unanswered.extend(v.unanswered),
            }
        }
        for (k, (a, u)) in other.reads {
            let e = self.reads.entry(k).or_default();
            e.0 += a;
            e.1 += u;
        }
        self.consents.extend(other.consents);
        self.failures.extend(other.failures);
        self.acknowledged += other.acknowledged;
    }
}

/// The run's ledger, and the expected-state file every event is also appended to.
#[derive(Debug, Default)]
struct Recorder {
    ledger: Mutex<Ledger>,
    file: Option<Mutex<std::fs::File>>,
}

type Shared = Arc<Recorder>;

fn lock(recorder: &Shared) -> std::sync::MutexGuard<'_, Ledger> {
    recorder.ledger.lock().unwrap_or_else(|p| p.into_inner())
}

/// Applies `event` and appends it to the expected-state file (before the next call is made).
fn record(recorder: &Shared, event: Event) {
    use std::io::Write;
    if let Some(file) = &recorder.file
        && let Ok(mut line) = serde_json::to_vec(&event)
    {
        line.push(b'\n');
        let _ = file.lock().unwrap_or_else(|p| p.into_inner()).write_all(&line);
    }
    lock(recorder).apply(event);
}

/// What a worker does with a failed call: in strict mode note it and go on; in crash mode stop.
fn failed(mode: Mode, ledger: &Shared, what: String) -> bool {
    if mode == Mode::Strict {
        let mut l = lock(ledger);
        if l.failures.len() < 50 {
            l.failures.push(what);
        }
        false
    } else {
        true
    }
}

fn search_of(pop: &Population, index: u64) -> QualificationConfirmSearchInfo {
    let k = pop.keys(index);
    QualificationConfirmSearchInfo {
        insurer_number: k.current.insurer_number.as_str().to_owned(),
        insured_card_symbol: k.current.symbol.as_str().to_owned(),
        insured_identification_number: k.current.number.as_str().to_owned(),
        insured_branch_number: k.current.branch.map(|b| b.as_str().to_owned()).unwrap_or_default(),
        birthdate: k.birthdate.yyyymmdd(),
        ..Default::default()
    }
}

fn patient_of(s: &QualificationConfirmSearchInfo) -> PatientSearchInfo {
    PatientSearchInfo {
        insurer_number: s.insurer_number.clone(),
        insured_card_symbol: s.insured_card_symbol.clone(),
        insured_identification_number: s.insured_identification_number.clone(),
        insured_branch_number: s.insured_branch_number.clone(),
        birthdate: s.birthdate.clone(),
    }
}

/// Population people with a card, split into `slices` disjoint slices.
fn carded_slices(target: &Target, slices: usize, per_slice: usize) -> Vec<Vec<u64>> {
    let pop = target.population();
    let mut out = vec![Vec::new(); slices];
    let mut next = 0;
    for i in 0..target.persons {
        if pop.keys(i).card_serial.is_some() {
            out[next % slices].push(i);
            next += 1;
            if next >= slices * per_slice {
                break;
            }
        }
    }
    out
}

/// The shape of one run.
#[derive(Debug, Clone, Copy)]
pub struct Workload {
    pub duration: Duration,
    /// Makes names, numbers and identifiers of this run distinct from other runs'.
    pub salt: u64,
    pub mode: Mode,
}

/// Runs every writer at once for `w.duration` and returns what the server acknowledged; every
/// event is also appended to the expected-state file `expected` if given.
pub async fn run_recording(target: &Target, w: Workload, expected: Option<&std::path::Path>) -> Result<Ledger, String> {
    let file = match expected {
        Some(p) => Some(Mutex::new(
            std::fs::OpenOptions::new()
                .create(true)
                .append(true)
                .open(p)
                .map_err(|e| format!("{}: {e}", p.display()))?,
        )),
        None => None,
    };
    Ok(run_with(target, w, Arc::new(Recorder { ledger: Mutex::default(), file })).await)
}

/// People the IssueCard workers share, made before the concurrent part starts.
async fn shared_people(target: &Target, salt: u64, ledger: &Shared) -> Result<Vec<u64>, String> {
    let mut admin = target.admin().await?;
    let mut ids = Vec::new();
    for i in 0..3 {
        let name = format!("共有　{salt}-{i}");
        let search = admin_search(salt, 90, i);
        let reply = admin
            .upsert_person(upsert(&name, &search, None))
            .await
            .map_err(|e| format!("UpsertPerson (shared): {e}"))?
            .into_inner();
        record(
            ledger,
            Event::Person(PersonAck {
                person_id: reply.person_id,
                name,
                search: SearchKeys::of(&search),
                serial: None,
            }),
        );
        ids.push(reply.person_id);
    }
    Ok(ids)
}

/// Insured numbers no population person has: 記号 "9" + worker + salt digits, 番号 the count.
fn admin_search(salt: u64, worker: u64, i: u64) -> QualificationConfirmSearchInfo {
    QualificationConfirmSearchInfo {
        insurer_number: "01130012".into(),
        insured_card_symbol: format!("9{worker:02}{}", salt % 1_000_000),
        insured_identification_number: format!("{}", i + 1),
        insured_branch_number: "00".into(),
        birthdate: "19900704".into(),
        ..Default::default()
    }
}

fn upsert(name: &str, s: &QualificationConfirmSearchInfo, serial: Option<&str>) -> UpsertPersonRequest {
    UpsertPersonRequest {
        person_id: 0,
        name: name.to_owned(),
        name_kana: "ｼｹﾝ ﾀﾛｳ".into(),
        sex: "1".into(),
        birthdate: s.birthdate.clone(),
        address: "東京都千代田区千代田1番1号".into(),
        post_number: "100-0001".into(),
        certificate_serial_number: serial.unwrap_or_default().to_owned(),
        qualification: Some(QualificationSpec {
            insurer_number: s.insurer_number.clone(),
            insurer_name: "全国健康保険協会東京支部".into(),
            insured_card_symbol: s.insured_card_symbol.clone(),
            insured_identification_number: s.insured_identification_number.clone(),
            insured_branch_number: s.insured_branch_number.clone(),
            qualification_date: "20200401".into(),
            ..Default::default()
        }),
    }
}

/// Runs every writer at once for `w.duration` and returns what the server acknowledged.
pub async fn run(target: &Target, w: Workload) -> Ledger {
    run_with(target, w, Arc::default()).await
}

async fn run_with(target: &Target, w: Workload, ledger: Shared) -> Ledger {
    let shared = match shared_people(target, w.salt, &ledger).await {
        Ok(ids) => ids,
        Err(e) => {
            failed(w.mode, &ledger, e);
            Vec::new()
        }
    };
    let deadline = Instant::now() + w.duration;
    let slices = carded_slices(target, 12, 8);
    let mut tasks = Vec::new();
    // 一括照会 from four facilities of one prefecture, two clients each.
    for (f, facility) in FACILITIES.iter().enumerate() {
        for c in 0..2 {
            let (t, l) = (target.clone(), ledger.clone());
            let facility = (*facility).to_owned();
            tasks.push(tokio::spawn(async move { bulk_worker(t, l, w, deadline, facility, f * 2 + c).await }));
        }
    }
    // New people, some with cards.
    for worker in 0..3u64 {
        let (t, l) = (target.clone(), ledger.clone());
        tasks.push(tokio::spawn(async move { person_worker(t, l, w, deadline, worker).await }));
    }
    // Cards issued to the same people from three clients at once.
    for worker in 0..3u64 {
        let (t, l, people) = (target.clone(), ledger.clone(), shared.clone());
        tasks.push(tokio::spawn(async move { card_worker(t, l, w, deadline, worker, people).await }));
    }
    // Consents at the reader, then medication reads (access records), per facility.
    for (f, facility) in FACILITIES.iter().enumerate() {
        let (t, l, people) = (target.clone(), ledger.clone(), slices[f].clone());
        let facility = (*facility).to_owned();
        tasks.push(tokio::spawn(async move { reading_worker(t, l, w, deadline, facility, people).await }));
    }
    // 照会番号 registrations, per facility.
    for (f, facility) in FACILITIES.iter().enumerate() {
        let (t, l, people) = (target.clone(), ledger.clone(), slices[4 + f].clone());
        let facility = (*facility).to_owned();
        tasks.push(tokio::spawn(async move { reference_worker(t, l, w, deadline, facility, people).await }));
    }
    // Consents through the admin API.
    for (f, facility) in FACILITIES.iter().take(2).enumerate() {
        let (t, l, people) = (target.clone(), ledger.clone(), slices[8 + f].clone());
        let facility = (*facility).to_owned();
        tasks.push(tokio::spawn(async move { consent_worker(t, l, w, deadline, facility, people).await }));
    }
    for task in tasks {
        if let Err(e) = task.await {
            failed(w.mode, &ledger, format!("worker panicked: {e}"));
        }
    }
    std::mem::take(&mut *lock(&ledger))
}

async fn bulk_worker(t: Target, ledger: Shared, w: Workload, deadline: Instant, facility: String, worker: usize) {
    let channel = match t.facility(&facility).await {
        Ok(c) => c,
        Err(e) => {
            failed(w.mode, &ledger, e);
            return;
        }
    };
    let mut client = QualificationServiceClient::new(channel);
    let pop = t.population();
    let mut i = 0u64;
    while Instant::now() < deadline {
        let ids: Vec<String> = (0..3).map(|j| format!("{}-{facility}-{worker}-{i}-{j}", w.salt)).collect();
        let entries = (0..3u64)
            .map(|j| QualificationConfirmSearchInfo {
                arbitrary_identifier: ids[j as usize].clone(),
                ..search_of(&pop, (i * 3 + j + worker as u64 * 7) % t.persons)
            })
            .collect();
        let req = BulkConfirmUploadRequest { message_header: None, qualification_confirm_search_info: entries };
        match client.bulk_confirm_upload(req).await {
            Ok(r) => record(
                &ledger,
                Event::Bulk(BulkAck {
                    facility: facility.clone(),
                    reception_number: r.into_inner().reception_number,
                    arbitrary_identifiers: ids,
                }),
            ),
            Err(e) => {
                if failed(w.mode, &ledger, format!("BulkConfirmUpload ({facility}): {e}")) {
                    return;
                }
            }
        }
        i += 1;
    }
}

async fn person_worker(t: Target, ledger: Shared, w: Workload, deadline: Instant, worker: u64) {
    let mut admin = match t.admin().await {
        Ok(a) => a,
        Err(e) => {
            failed(w.mode, &ledger, e);
            return;
        }
    };
    let mut i = 0u64;
    while Instant::now() < deadline {
        let name = format!("試験　{}-{worker}-{i}", w.salt);
        let search = admin_search(w.salt, worker, i);
        // Every other person gets a card: serial "CC", the worker, the salt and the count.
        let serial = i.is_multiple_of(2).then(|| format!("CC{worker:02}{:08}{i:08}", w.salt % 100_000_000));
        match admin.upsert_person(upsert(&name, &search, serial.as_deref())).await {
            Ok(r) => record(
                &ledger,
                Event::Person(PersonAck {
                    person_id: r.into_inner().person_id,
                    name,
                    search: SearchKeys::of(&search),
                    serial,
                }),
            ),
            Err(e) => {
                if failed(w.mode, &ledger, format!("UpsertPerson: {e}")) {
                    return;
                }
            }
        }
        i += 1;
    }
}

async fn card_worker(t: Target, ledger: Shared, w: Workload, deadline: Instant, worker: u64, people: Vec<u64>) {
    if people.is_empty() {
        return;
    }
    let mut admin = match t.admin().await {
        Ok(a) => a,
        Err(e) => {
            failed(w.mode, &ledger, e);
            return;
        }
    };
    let mut i = 0usize;
    while Instant::now() < deadline {
        let person = people[(i + worker as usize) % people.len()];
        let req = IssueCardRequest {
            person: Some(PersonRef { by: Some(person_ref::By::PersonId(person)) }),
            ..Default::default()
        };
        match admin.issue_card(req).await {
            Ok(r) => {
                let json: serde_json::Value = serde_json::from_str(&r.into_inner().person_json).unwrap_or_default();
                // The card just issued is the person's only active one, the last in the list.
                let serial = json["cards"]
                    .as_array()
                    .and_then(|cards| cards.iter().rev().find(|c| c["revoked"].is_null()))
                    .and_then(|c| c["serial"].as_str())
                    .map(str::to_owned);
                match serial {
                    Some(serial) => record(&ledger, Event::Card { person, serial }),
                    None => lock(&ledger).failures.push(format!("IssueCard for {person} answered no active card")),
                }
            }
            Err(e) => {
                if failed(w.mode, &ledger, format!("IssueCard: {e}")) {
                    return;
                }
            }
        }
        i += 1;
    }
}

async fn reading_worker(t: Target, ledger: Shared, w: Workload, deadline: Instant, facility: String, people: Vec<u64>) {
    let channel = match t.facility(&facility).await {
        Ok(c) => c,
        Err(e) => {
            failed(w.mode, &ledger, e);
            return;
        }
    };
    let mut qualification = QualificationServiceClient::new(channel.clone());
    let mut medication = MedicationServiceClient::new(channel);
    let pop = t.population();
    // The reader first: the patient consents to share medication information.
    for &p in &people {
        let Some(serial) = pop.keys(p).card_serial else { continue };
        let req = ConfirmByCardRequest {
            message_header: None,
            card_reader_info: Some(CardReaderInfo {
                certificate_serial_number: serial.as_str().to_owned(),
                verification_method: "1".into(),
                pharmacists_info_cons_flg: "1".into(),
                ..Default::default()
            }),
        };
        match qualification.confirm_by_card(req).await {
            Ok(_) => record(&ledger, Event::ConfirmedWithConsent),
            Err(e) => {
                if failed(w.mode, &ledger, format!("ConfirmByCard ({facility}): {e}")) {
                    return;
                }
            }
        }
    }
    let mut i = 0usize;
    while Instant::now() < deadline && !people.is_empty() {
        let p = people[i % people.len()];
        let req = GetMedicationInfoRequest {
            message_header: None,
            patient_search_info: Some(patient_of(&search_of(&pop, p))),
            start_date: format!("{}01", &t.as_of.yyyymmdd()[..4]),
            end_date: String::new(),
        };
        record(&ledger, Event::ReadAsked { facility: facility.clone(), person: p });
        match medication.get_medication_info(req).await {
            Ok(_) => record(&ledger, Event::ReadAnswered { facility: facility.clone(), person: p, disclosed: true }),
            Err(e) => {
                if refused(&e) {
                    // Refused: nothing was disclosed, so nothing may have been recorded.
                    record(&ledger, Event::ReadAnswered { facility: facility.clone(), person: p, disclosed: false });
                }
                if failed(w.mode, &ledger, format!("GetMedicationInfo ({facility}): {e}")) {
                    return;
                }
            }
        }
        i += 1;
    }
}

async fn reference_worker(
    t: Target,
    ledger: Shared,
    w: Workload,
    deadline: Instant,
    facility: String,
    people: Vec<u64>,
) {
    let channel = match t.facility(&facility).await {
        Ok(c) => c,
        Err(e) => {
            failed(w.mode, &ledger, e);
            return;
        }
    };
    let mut client = QualificationServiceClient::new(channel);
    let pop = t.population();
    let mut round = 0u64;
    while Instant::now() < deadline && !people.is_empty() {
        let numbers: Vec<String> = people.iter().map(|p| format!("K{}-{p}-{round}", w.salt % 100_000)).collect();
        let registrations = people
            .iter()
            .zip(&numbers)
            .map(|(&p, n)| ReferenceNumberRegistration {
                qualification_confirm_search_info: Some(search_of(&pop, p)),
                reference_number: n.clone(),
            })
            .collect();
        for (&p, n) in people.iter().zip(&numbers) {
            record(&ledger, Event::ReferenceAsked { facility: facility.clone(), person: p, number: n.clone() });
        }
        let req = RegisterReferenceNumbersRequest { message_header: None, registrations };
        match client.register_reference_numbers(req).await {
            Ok(r) => {
                let results = r.into_inner().results;
                for ((&p, n), result) in people.iter().zip(&numbers).zip(&results) {
                    if result.processing_result_status == "1" {
                        let event = Event::ReferenceAcked { facility: facility.clone(), person: p, number: n.clone() };
                        record(&ledger, event);
                    }
                }
            }
            Err(e) => {
                if failed(w.mode, &ledger, format!("RegisterReferenceNumbers ({facility}): {e}")) {
                    return;
                }
            }
        }
        round += 1;
    }
}

async fn consent_worker(t: Target, ledger: Shared, w: Workload, deadline: Instant, facility: String, people: Vec<u64>) {
    let mut admin = match t.admin().await {
        Ok(a) => a,
        Err(e) => {
            failed(w.mode, &ledger, e);
            return;
        }
    };
    let kinds = ["specific_health_checkups_info", "diagnosis_info", "operation_info"];
    let mut i = 0usize;
    while Instant::now() < deadline && !people.is_empty() {
        let p = people[i % people.len()];
        let kind = kinds[(i / people.len()) % kinds.len()];
        let req = SetConsentRequest {
            person: Some(PersonRef { by: Some(person_ref::By::PersonId(p)) }),
            medical_institution_code: facility.clone(),
            consent_kind: kind.into(),
            given: true,
        };
        match admin.set_consent(req).await {
            Ok(_) => record(&ledger, Event::Consent { facility: facility.clone(), person: p, kind: kind.to_owned() }),
            Err(e) => {
                if failed(w.mode, &ledger, format!("SetConsent: {e}")) {
                    return;
                }
            }
        }
        i += 1;
    }
}

/// Whether a failed call was answered with a refusal (so it wrote nothing), rather than cut off.
fn refused(status: &tonic::Status) -> bool {
    use tonic::Code::*;
    matches!(status.code(), InvalidArgument | NotFound | PermissionDenied | FailedPrecondition | ResourceExhausted)
}

/// Reads every acknowledged write back through the APIs and returns what is wrong (nothing
/// when every write is there, unique and intact).
pub async fn verify(target: &Target, ledger: &Ledger) -> Result<Vec<String>, String> {
    let mut problems = ledger.duplicates();
    verify_bulk(target, ledger, &mut problems).await?;
    verify_people(target, ledger, &mut problems).await?;
    verify_cards(target, ledger, &mut problems).await?;
    verify_references(target, ledger, &mut problems).await?;
    verify_reads(target, ledger, &mut problems).await?;
    verify_consents(target, ledger, &mut problems).await?;
    Ok(problems)
}

async fn verify_bulk(target: &Target, ledger: &Ledger, problems: &mut Vec<String>) -> Result<(), String> {
    let mut clients = HashMap::new();
    for f in FACILITIES {
        clients.insert(f, QualificationServiceClient::new(target.facility(f).await?));
    }
    for ack in &ledger.bulk {
        let client = clients.get_mut(ack.facility.as_str()).ok_or("unknown facility")?;
        let req = BulkConfirmDownloadRequest { message_header: None, reception_number: ack.reception_number.clone() };
        let reply = match client.bulk_confirm_download(req.clone()).await {
            Ok(r) => r.into_inner(),
            Err(e) => {
                problems.push(format!("{} of {}: {e}", ack.reception_number, ack.facility));
                continue;
            }
        };
        let segment = reply.message_header.as_ref().map(|h| h.segment_of_result.as_str()).unwrap_or_default();
        if segment != "1" {
            problems.push(format!("{} of {}: segment of result {segment:?}", ack.reception_number, ack.facility));
            continue;
        }
        let ids: Vec<String> = reply.bulk_confirm_unit.iter().map(|u| u.arbitrary_identifier.clone()).collect();
        if ids != ack.arbitrary_identifiers {
            problems.push(format!(
                "{} of {} holds {ids:?}, not the upload's {:?}",
                ack.reception_number, ack.facility, ack.arbitrary_identifiers
            ));
        }
        // No other facility sees it.
        let other = FACILITIES.iter().find(|f| **f != ack.facility).copied().unwrap_or_default();
        if let Some(c) = clients.get_mut(other)
            && c.bulk_confirm_download(req).await.err().map(|e| e.code()) != Some(tonic::Code::NotFound)
        {
            problems.push(format!("{} of {} is visible to {other}", ack.reception_number, ack.facility));
        }
    }
    Ok(())
}

async fn get_person(
    admin: &mut AdminServiceClient<Channel>,
    by: person_ref::By,
) -> Result<(u64, serde_json::Value), tonic::Status> {
    let r = admin.get_person(GetPersonRequest { person: Some(PersonRef { by: Some(by) }) }).await?.into_inner();
    Ok((r.person_id, serde_json::from_str(&r.person_json).unwrap_or_default()))
}

async fn verify_people(target: &Target, ledger: &Ledger, problems: &mut Vec<String>) -> Result<(), String> {
    let mut admin = target.admin().await?;
    for p in &ledger.persons {
        match get_person(&mut admin, person_ref::By::PersonId(p.person_id)).await {
            Ok((_, json)) if json["name"] == p.name.as_str() => {}
            Ok((_, json)) => {
                problems.push(format!("person {} is {} instead of {:?}", p.person_id, json["name"], p.name))
            }
            Err(e) => problems.push(format!("person {} ({:?}): {e}", p.person_id, p.name)),
        }
        match get_person(&mut admin, person_ref::By::Insured(p.search.search())).await {
            Ok((id, _)) if id == p.person_id => {}
            Ok((id, _)) => {
                problems.push(format!("{:?}'s insured numbers find person {id}, not {}", p.name, p.person_id))
            }
            Err(e) => problems.push(format!("{:?}'s insured numbers: {e}", p.name)),
        }
        if let Some(serial) = &p.serial {
            match get_person(&mut admin, person_ref::By::CertificateSerialNumber(serial.clone())).await {
                Ok((id, _)) if id == p.person_id => {}
                Ok((id, _)) => problems.push(format!("card {serial} belongs to {id}, not {}", p.person_id)),
                Err(e) => problems.push(format!("card {serial}: {e}")),
            }
        }
    }
    Ok(())
}

async fn verify_cards(target: &Target, ledger: &Ledger, problems: &mut Vec<String>) -> Result<(), String> {
    let mut admin = target.admin().await?;
    let mut owners: HashMap<&str, u64> = HashMap::new();
    for (person, serials) in &ledger.cards {
        for s in serials {
            if let Some(other) = owners.insert(s, *person) {
                problems.push(format!("card {s} was issued to {other} and to {person}"));
            }
        }
        let (_, json) = match get_person(&mut admin, person_ref::By::PersonId(*person)).await {
            Ok(r) => r,
            Err(e) => {
                problems.push(format!("person {person}: {e}"));
                continue;
            }
        };
        let cards = json["cards"].as_array().cloned().unwrap_or_default();
        let held: HashSet<&str> = cards.iter().filter_map(|c| c["serial"].as_str()).collect();
        let missing: Vec<&String> = serials.iter().filter(|s| !held.contains(s.as_str())).collect();
        if !missing.is_empty() {
            problems.push(format!(
                "person {person} lost {} of the {} cards issued to it (e.g. {:?})",
                missing.len(),
                serials.len(),
                missing.first()
            ));
        }
        let active = cards.iter().filter(|c| c["revoked"].is_null()).count();
        if active != 1 {
            problems.push(format!("person {person} holds {active} active cards"));
        }
        for s in serials.iter().filter(|s| held.contains(s.as_str())) {
            match get_person(&mut admin, person_ref::By::CertificateSerialNumber(s.clone())).await {
                Ok((id, _)) if id == *person => {}
                Ok((id, _)) => problems.push(format!("card {s} of {person} resolves to {id}")),
                Err(e) => problems.push(format!("card {s} of {person}: {e}")),
            }
        }
    }
    Ok(())
}

async fn verify_references(target: &Target, ledger: &Ledger, problems: &mut Vec<String>) -> Result<(), String> {
    let pop = target.population();
    let mut clients = HashMap::new();
    for f in FACILITIES {
        clients.insert(f, QualificationServiceClient::new(target.facility(f).await?));
    }
    for ((facility, p), written) in &ledger.references {
        let client = clients.get_mut(facility.as_str()).ok_or("unknown facility")?;
        let req = ConfirmByInsuredNumberRequest {
            message_header: None,
            qualification_confirm_search_info: Some(search_of(&pop, *p)),
        };
        let got = match client.confirm_by_insured_number(req).await {
            Ok(r) => r
                .into_inner()
                .message_body
                .and_then(|b| b.result_list.into_iter().next())
                .map(|r| r.reference_number)
                .unwrap_or_default(),
            Err(e) => {
                problems.push(format!("person {p} at {facility}: {e}"));
                continue;
            }
        };
        let expected = written.acked.iter().chain(&written.unanswered).any(|n| *n == got);
        if !expected && (written.acked.is_some() || !got.is_empty()) {
            problems
                .push(format!("person {p} at {facility} carries 照会番号 {got:?}; acknowledged {:?}", written.acked));
        }
    }
    Ok(())
}

async fn verify_reads(target: &Target, ledger: &Ledger, problems: &mut Vec<String>) -> Result<(), String> {
    let pop = target.population();
    // Access history lists every facility's disclosures of a person: add them up per person.
    let mut per_person: BTreeMap<u64, (u64, u64)> = BTreeMap::new();
    for ((_, p), (acked, unanswered)) in &ledger.reads {
        let e = per_person.entry(*p).or_default();
        e.0 += acked;
        e.1 += unanswered;
    }
    let mut history = AccessHistoryServiceClient::new(target.facility(FACILITIES[0]).await?);
    for (p, (acked, unanswered)) in per_person {
        let Some(serial) = pop.keys(p).card_serial else { continue };
        let mut count = 0u64;
        let mut token = String::new();
        loop {
            let req = ListAccessHistoryRequest {
                certificate_serial_number: serial.as_str().to_owned(),
                page_size: 100,
                page_token: token,
            };
            let page = history.list_access_history(req).await.map_err(|e| format!("ListAccessHistory: {e}"))?;
            let page = page.into_inner();
            count += page.access_record.len() as u64;
            token = page.next_page_token;
            if token.is_empty() {
                break;
            }
        }
        if count < acked || count > acked + unanswered {
            problems.push(format!(
                "person {p} has {count} access records for {acked} acknowledged reads ({unanswered} unanswered)"
            ));
        }
    }
    Ok(())
}

async fn verify_consents(target: &Target, ledger: &Ledger, problems: &mut Vec<String>) -> Result<(), String> {
    // The facility API shows a consent only by what it allows: a checkup consent lets the
    // facility read checkups (the other kinds gate nothing yet). The reads add access records
    // for these people, who are no reading worker's.
    let pop = target.population();
    let mut clients = HashMap::new();
    for f in FACILITIES {
        clients
            .insert(f, onshi_proto::v1::checkup_service_client::CheckupServiceClient::new(target.facility(f).await?));
    }
    for (facility, p, kind) in &ledger.consents {
        if kind != "specific_health_checkups_info" {
            continue;
        }
        let client = clients.get_mut(facility.as_str()).ok_or("unknown facility")?;
        let req = onshi_proto::v1::GetSpecificHealthCheckupInfoRequest {
            message_header: None,
            patient_search_info: Some(patient_of(&search_of(&pop, *p))),
        };
        if let Err(e) = client.get_specific_health_checkup_info(req).await {
            problems.push(format!("checkup consent of person {p} at {facility}: {e}"));
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn bulk(n: usize) -> BulkAck {
        BulkAck {
            facility: "1312345679".into(),
            reception_number: format!("R{n:08}"),
            arbitrary_identifiers: Vec::new(),
        }
    }

    /// A cycle's sample holds every entry the cycle wrote and only a part of the older ones, a
    /// different part for another salt; duplicates are found over the whole ledger.
    #[test]
    fn a_sample_keeps_the_cycle_and_some_of_the_past() {
        let mut full = Ledger::default();
        let mut recent = Ledger::default();
        for n in 0..10_000 {
            full.bulk.push(bulk(n));
            full.references.insert(("1312345679".into(), n as u64), Written::default());
        }
        for n in 10_000..10_050 {
            full.bulk.push(bulk(n));
            recent.bulk.push(bulk(n));
            full.references.insert(("1312345679".into(), n as u64), Written::default());
            recent.references.insert(("1312345679".into(), n as u64), Written::default());
        }
        let a = full.sample(&recent, 300, 1);
        let b = full.sample(&recent, 300, 2);
        for n in 10_000..10_050 {
            assert!(a.bulk.iter().any(|x| x.reception_number == format!("R{n:08}")), "recent upload {n} is checked");
            assert!(a.references.contains_key(&("1312345679".to_owned(), n as u64)));
        }
        for s in [&a, &b] {
            assert!((50 + 100..50 + 1_000).contains(&s.bulk.len()), "{} uploads", s.bulk.len());
            assert!((50 + 100..50 + 1_000).contains(&s.references.len()), "{} references", s.references.len());
        }
        let names = |l: &Ledger| l.bulk.iter().map(|x| x.reception_number.clone()).collect::<HashSet<_>>();
        assert_ne!(names(&a), names(&b), "another cycle checks other old entries");
        assert!(full.duplicates().is_empty());
        full.bulk.push(bulk(3));
        assert_eq!(full.duplicates().len(), 1);
    }
}
