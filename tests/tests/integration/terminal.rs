//! The facility terminal's folder exchange against a real server over mutual TLS: requests are
//! real files written into a temp folder (Shift_JIS and UTF-8, written whole, in pieces, or
//! renamed in), answers are read back from `res/` and `face/` and decoded with encoding_rs and
//! roxmltree — not with the terminal's own reader.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, Instant};

use onshi_domain::population::scenarios::{self, Ask};
use onshi_terminal::stats::Stats;
use onshi_terminal::tap::{self, Verify};
use onshi_terminal::{Config, Folders, TextEncoding, TlsFiles};
use tempfile::TempDir;
use tokio::sync::oneshot;

use crate::common::{CLINIC, DENTAL, TestServer, VALID_SERIAL};

/// A terminal served in process on a temp folder.
struct Terminal {
    dir: TempDir,
    folders: Folders,
    config: Config,
    stop: Option<oneshot::Sender<()>>,
    task: Option<tokio::task::JoinHandle<()>>,
}

fn config(server: &TestServer, facility: &str, dir: &Path, encoding: TextEncoding) -> Config {
    let tls = TlsFiles {
        cacert: server.pki.ca(),
        cert: server.pki.facility_cert(facility),
        key: server.pki.facility_key(facility),
    };
    let mut c = Config::new(dir.to_owned(), server.addr.to_string(), tls);
    c.encoding = encoding;
    c.rescan = Duration::from_millis(100);
    c
}

impl Terminal {
    async fn start(server: &TestServer, facility: &str, encoding: TextEncoding) -> Terminal {
        Self::start_in(tempfile::tempdir().expect("dir"), server, facility, encoding).await
    }

    async fn start_in(dir: TempDir, server: &TestServer, facility: &str, encoding: TextEncoding) -> Terminal {
        let config = config(server, facility, dir.path(), encoding);
        let folders = Folders::under(dir.path());
        let (tx, rx) = oneshot::channel::<()>();
        let run = config.clone();
        let task = tokio::spawn(async move {
            onshi_terminal::run(run, Arc::new(Stats::default()), async {
                let _ = rx.await;
            })
            .await
            .expect("terminal runs");
        });
        // The folders exist once the terminal is up.
        wait_for(&folders.req.join("."), Duration::from_secs(10)).await;
        Terminal { dir, folders, config, stop: Some(tx), task: Some(task) }
    }

    async fn stop(mut self) -> TempDir {
        if let Some(tx) = self.stop.take() {
            let _ = tx.send(());
        }
        if let Some(task) = self.task.take() {
            task.await.expect("terminal task");
        }
        self.dir
    }

    /// Drops a request the way most EHRs do: a temp file renamed into req/.
    fn put(&self, name: &str, bytes: &[u8]) {
        let temp = self.folders.req.join(format!("{name}.tmp"));
        std::fs::write(&temp, bytes).expect("write temp");
        std::fs::rename(&temp, self.folders.req.join(name)).expect("rename into req/");
    }

    /// Drops a request written straight into req/ (write, close).
    fn write(&self, name: &str, bytes: &[u8]) {
        std::fs::write(self.folders.req.join(name), bytes).expect("write");
    }

    async fn answer(&self, name: &str) -> Vec<u8> {
        let path = self.folders.res.join(name);
        wait_for(&path, Duration::from_secs(20)).await;
        std::fs::read(&path).expect("answer")
    }

    async fn answer_xml(&self, name: &str) -> String {
        decode(&self.answer(name).await)
    }

    /// Taps a card at this terminal's reader (the `tap` command's code, in process).
    async fn tap(&self, serial: &str, consents: &[&str]) -> PathBuf {
        let (folders, ctx) = onshi_terminal::context(&self.config).expect("context");
        let consents: Vec<String> = consents.iter().map(|s| s.to_string()).collect();
        let request = tap::request(serial, Verify::Face, &consents).expect("request");
        tap::tap(&ctx, &folders, request).await.expect("tapped").face_file
    }
}

/// Waits (bounded) until a file exists: the terminal works in the background.
async fn wait_for(path: &Path, limit: Duration) {
    let start = Instant::now();
    while !path.exists() {
        assert!(start.elapsed() < limit, "{} did not appear within {limit:?}", path.display());
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
}

/// Decodes an answer by its XML declaration, with encoding_rs.
fn decode(bytes: &[u8]) -> String {
    let head = String::from_utf8_lossy(&bytes[..bytes.len().min(100)]).into_owned();
    if head.contains("encoding=\"Shift_JIS\"") {
        let (text, had_errors) = encoding_rs::SHIFT_JIS.decode_without_bom_handling(bytes);
        assert!(!had_errors, "the answer is valid Shift_JIS");
        text.into_owned()
    } else {
        assert!(head.contains("encoding=\"UTF-8\""), "declaration: {head}");
        String::from_utf8(bytes.to_vec()).expect("valid UTF-8")
    }
}

/// The text at a path of element names under the root, with roxmltree.
fn text_at(xml: &str, path: &[&str]) -> Option<String> {
    let doc = roxmltree::Document::parse(xml).expect("the answer is well-formed XML");
    let mut node = doc.root_element();
    assert_eq!(node.tag_name().name(), "XmlMsg");
    for name in path {
        node = node.children().find(|c| c.tag_name().name() == *name)?;
    }
    Some(node.text().unwrap_or("").to_owned())
}

/// How many elements with this name the answer has, anywhere.
fn count(xml: &str, name: &str) -> usize {
    let doc = roxmltree::Document::parse(xml).expect("well-formed");
    doc.descendants().filter(|n| n.tag_name().name() == name).count()
}

/// Every text of elements named `name`, in document order.
fn texts(xml: &str, name: &str) -> Vec<String> {
    let doc = roxmltree::Document::parse(xml).expect("well-formed");
    doc.descendants().filter(|n| n.tag_name().name() == name).map(|n| n.text().unwrap_or("").to_owned()).collect()
}

/// A request document in an encoding, as an EHR writes it.
fn document(encoding: &str, header: &str, body: &str) -> Vec<u8> {
    let text = format!(
        "<?xml version=\"1.0\" encoding=\"{encoding}\" standalone=\"no\"?>\r\n<XmlMsg>\r\n<MessageHeader>{header}</MessageHeader>\r\n<MessageBody>{body}</MessageBody>\r\n</XmlMsg>\r\n"
    );
    if encoding == "Shift_JIS" {
        let (bytes, _, unmappable) = encoding_rs::SHIFT_JIS.encode(&text);
        assert!(!unmappable);
        bytes.into_owned()
    } else {
        text.into_bytes()
    }
}

fn search_xml(insurer: &str, symbol: &str, number: &str, branch: &str, birthdate: &str, id: &str) -> String {
    format!(
        "<QualificationConfirmSearchInfo><InsurerNumber>{insurer}</InsurerNumber><InsuredCardSymbol>{symbol}</InsuredCardSymbol><InsuredIdentificationNumber>{number}</InsuredIdentificationNumber><InsuredBranchNumber>{branch}</InsuredBranchNumber><Birthdate>{birthdate}</Birthdate><LimitApplicationCertificateRelatedConsFlg>0</LimitApplicationCertificateRelatedConsFlg><ArbitraryIdentifier>{id}</ArbitraryIdentifier></QualificationConfirmSearchInfo>"
    )
}

fn single_request(encoding: &str, facility: &str, search: &str) -> Vec<u8> {
    let header = format!(
        "<QualificationConfirmationDate></QualificationConfirmationDate><MedicalInstitutionCode>{facility}</MedicalInstitutionCode><ArbitraryFileIdentifier>受付テスト</ArbitraryFileIdentifier>"
    );
    document(encoding, &header, search)
}

const VALID: (&str, &str, &str, &str, &str) = ("01130012", "90000001", "1", "00", "19800115");

fn valid_search() -> String {
    search_xml(VALID.0, VALID.1, VALID.2, VALID.3, VALID.4, "p1")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_scenario_person_in_shift_jis_and_utf8() {
    let server = TestServer::start().await;
    let terminal = Terminal::start(&server, CLINIC, TextEncoding::ShiftJis).await;
    let mut asked = Vec::new();
    for s in scenarios::all(server.as_of()) {
        for (i, e) in s.expectations.iter().enumerate() {
            let Ask::Insured(k, birthdate) = &e.ask else { continue };
            let search = search_xml(
                k.insurer_number.as_str(),
                k.symbol.as_str(),
                k.number.as_str(),
                k.branch.map(|b| b.as_str().to_owned()).unwrap_or_default().as_str(),
                &birthdate.yyyymmdd(),
                &format!("{}-{i}", s.key),
            );
            for encoding in ["Shift_JIS", "UTF-8"] {
                let name = format!("OQSsiquc01req_{}{i}{}.xml", s.key, if encoding == "UTF-8" { "u" } else { "s" });
                terminal.put(&name, &single_request(encoding, CLINIC, &search));
                asked.push((
                    name,
                    s.key.to_owned(),
                    e.clone(),
                    k.insurer_number.as_str().to_owned(),
                    birthdate.yyyymmdd(),
                ));
            }
        }
    }
    assert!(asked.len() >= 20, "the scenarios ask by numbers: {}", asked.len());
    for (name, key, e, insurer, birthdate) in asked {
        let what = format!("{name} (scenario {key})");
        let xml = terminal.answer_xml(&name.replace("req_", "res_")).await;
        assert!(xml.starts_with("<?xml version=\"1.0\" encoding=\"Shift_JIS\" standalone=\"no\"?>"), "{what}");
        assert_eq!(text_at(&xml, &["MessageHeader", "CharacterCodeIdentifier"]).as_deref(), Some("1"), "{what}");
        assert_eq!(text_at(&xml, &["MessageHeader", "SegmentOfResult"]).as_deref(), Some("1"), "{what}");
        assert_eq!(text_at(&xml, &["MessageHeader", "ReferenceClassification"]).as_deref(), Some("2"), "{what}");
        assert_eq!(text_at(&xml, &["MessageHeader", "MedicalInstitutionCode"]).as_deref(), Some(CLINIC), "{what}");
        assert_eq!(
            text_at(&xml, &["MessageHeader", "ArbitraryFileIdentifier"]).as_deref(),
            Some("受付テスト"),
            "{what}"
        );
        assert_eq!(
            text_at(&xml, &["MessageBody", "QualificationValidity"]).as_deref(),
            Some(e.validity.code()),
            "{what}"
        );
        assert_eq!(count(&xml, "ResultOfQualificationConfirmation"), e.results, "{what}");
        let code = e.result_code.map(|k| onshi_domain::result_codes::ResultCodes::default().get(k).code.clone());
        assert_eq!(text_at(&xml, &["MessageBody", "ProcessingResultCode"]), code, "{what}");
        assert_eq!(
            text_at(&xml, &["MessageBody", "QualificationConfirmSearchInfo", "ArbitraryIdentifier"])
                .map(|s| !s.is_empty()),
            Some(true),
            "{what}: the search info is echoed"
        );
        if e.results > 0 {
            let names = texts(&xml, "Name");
            assert!(names.iter().all(|n| !n.is_empty()), "{what}");
            let births = texts(&xml, "Birthdate");
            assert!(births.iter().all(|b| *b == birthdate), "{what}: {births:?}");
            for number in texts(&xml, "InsurerNumber") {
                assert_eq!(number.len(), 8, "{what}: InsurerNumber {number:?} is 8 characters");
                if insurer.len() == 6 {
                    assert_eq!(number, format!("  {insurer}"), "{what}: a 国保 number is space-padded");
                }
            }
        }
    }
    assert!(std::fs::read_dir(&terminal.folders.work).expect("work").next().is_none(), "work/ is empty again");
    assert!(std::fs::read_dir(&terminal.folders.req).expect("req").next().is_none(), "req/ is empty");
    terminal.stop().await;
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_request_written_in_pieces_waits_and_a_renamed_one_is_taken() {
    let server = TestServer::start().await;
    let terminal = Terminal::start(&server, CLINIC, TextEncoding::Utf8).await;
    let bytes = single_request("Shift_JIS", CLINIC, &valid_search());
    let name = "OQSsiquc01req_slow.xml";
    let path = terminal.folders.req.join(name);
    let mut file = std::fs::File::create(&path).expect("create");
    let (first, rest) = bytes.split_at(bytes.len() / 2);
    file.write_all(first).expect("first half");
    file.flush().expect("flush");
    // Several rescans (every 100 ms here) and the create/modify events pass meanwhile.
    tokio::time::sleep(Duration::from_millis(700)).await;
    assert!(path.exists(), "a half-written request stays in req/");
    assert!(!terminal.folders.res.join("OQSsiquc01res_slow.xml").exists(), "and is not answered");
    file.write_all(rest).expect("second half");
    drop(file);
    let xml = terminal.answer_xml("OQSsiquc01res_slow.xml").await;
    assert_eq!(text_at(&xml, &["MessageBody", "QualificationValidity"]).as_deref(), Some("1"));
    assert!(xml.starts_with("<?xml version=\"1.0\" encoding=\"UTF-8\""), "this terminal answers in UTF-8");
    assert_eq!(text_at(&xml, &["MessageHeader", "CharacterCodeIdentifier"]).as_deref(), Some("0"));
    assert!(!path.exists(), "taken out of req/");

    // Written elsewhere and renamed in.
    let outside = terminal.dir.path().join("outside.xml");
    std::fs::write(&outside, single_request("UTF-8", CLINIC, &valid_search())).expect("write");
    std::fs::rename(&outside, terminal.folders.req.join("OQSsiquc01req_moved.xml")).expect("rename");
    let xml = terminal.answer_xml("OQSsiquc01res_moved.xml").await;
    assert_eq!(text_at(&xml, &["MessageBody", "QualificationValidity"]).as_deref(), Some("1"));

    // Written directly (write, close), and a temp file that is never renamed is left alone.
    terminal.write("OQSsiquc01req_direct.xml", &single_request("UTF-8", CLINIC, &valid_search()));
    std::fs::write(terminal.folders.req.join("OQSsiquc01req_later.xml.tmp"), b"<XmlMsg>").expect("tmp");
    std::fs::write(terminal.folders.req.join(".OQSsiquc01req_hidden.xml"), b"<XmlMsg/>").expect("dot");
    terminal.answer_xml("OQSsiquc01res_direct.xml").await;
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert!(terminal.folders.req.join("OQSsiquc01req_later.xml.tmp").exists());
    assert!(terminal.folders.req.join(".OQSsiquc01req_hidden.xml").exists());
    terminal.stop().await;
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bulk_upload_answers_processing_then_the_results() {
    let server = TestServer::start().await;
    let terminal = Terminal::start(&server, CLINIC, TextEncoding::ShiftJis).await;
    let body = [
        search_xml(VALID.0, VALID.1, VALID.2, VALID.3, VALID.4, "row-1"),
        search_xml(VALID.0, VALID.1, "9999999", "00", "19900101", "row-2"),
        search_xml(VALID.0, VALID.1, "1", "0", "19800115", "row-3"),
    ]
    .concat();
    let header = format!(
        "<MedicalInstitutionCode>{CLINIC}</MedicalInstitutionCode><ArbitraryFileIdentifier>前日一括</ArbitraryFileIdentifier>"
    );
    terminal.put("OQSmuquc01req_20261201.xml", &document("Shift_JIS", &header, &body));
    let up = terminal.answer_xml("OQSmuquc01res_20261201.xml").await;
    let reception = text_at(&up, &["MessageBody", "ReceptionNumber"]).expect("ReceptionNumber");
    assert!(!reception.is_empty());
    assert_eq!(text_at(&up, &["MessageHeader", "ArbitraryFileIdentifier"]).as_deref(), Some("前日一括"));

    let download = |n: &str| {
        let header = format!("<MedicalInstitutionCode>{CLINIC}</MedicalInstitutionCode>");
        (
            format!("OQSmuquc02req_{n}.xml"),
            document("UTF-8", &header, &format!("<ReceptionNumber>{reception}</ReceptionNumber>")),
        )
    };
    let (name, bytes) = download("1");
    terminal.put(&name, &bytes);
    let pending = terminal.answer_xml("OQSmuquc02res_1.xml").await;
    assert_eq!(text_at(&pending, &["MessageHeader", "SegmentOfResult"]).as_deref(), Some("2"), "処理中");
    assert_eq!(count(&pending, "BulkConfirmUnit"), 0);

    server.advance_clock(60);
    let (name, bytes) = download("2");
    terminal.put(&name, &bytes);
    let done = terminal.answer_xml("OQSmuquc02res_2.xml").await;
    assert_eq!(text_at(&done, &["MessageHeader", "SegmentOfResult"]).as_deref(), Some("1"));
    assert_eq!(text_at(&done, &["MessageHeader", "ReceptionNumber"]), Some(reception.clone()));
    assert_eq!(text_at(&done, &["MessageHeader", "ArbitraryFileIdentifier"]).as_deref(), Some("前日一括"));
    assert_eq!(text_at(&done, &["MessageHeader", "NumberOfProcessingResult"]).as_deref(), Some("3"));
    assert_eq!(text_at(&done, &["MessageHeader", "NumberOfNormalProcessing"]).as_deref(), Some("2"));
    assert_eq!(text_at(&done, &["MessageHeader", "NumberOfError"]).as_deref(), Some("1"));
    assert_eq!(texts(&done, "ArbitraryIdentifier"), ["row-1", "row-2", "row-3"]);
    assert_eq!(texts(&done, "QualificationValidity"), ["1", "4"]);
    assert_eq!(texts(&done, "ProcessingResultStatus"), ["1", "1", "2"]);
    assert_eq!(count(&done, "ResultOfQualificationConfirmation"), 1);
    assert_eq!(texts(&done, "Name"), ["山田　太郎"]);
    terminal.stop().await;
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_registered_reference_number_comes_back_in_later_checks() {
    let server = TestServer::start().await;
    let terminal = Terminal::start(&server, CLINIC, TextEncoding::Utf8).await;
    // The patient is checked first (as at reception), so the terminal knows the birthdate that
    // the registration file does not carry.
    terminal.put("OQSsiquc01req_1.xml", &single_request("UTF-8", CLINIC, &valid_search()));
    let first = terminal.answer_xml("OQSsiquc01res_1.xml").await;
    assert_eq!(texts(&first, "ReferenceNumber"), Vec::<String>::new());

    let header = format!(
        "<MedicalInstitutionCode>{CLINIC}</MedicalInstitutionCode><ArbitraryFileIdentifier>imm-1</ArbitraryFileIdentifier>"
    );
    let info = |number: &str, id: &str| {
        format!(
            "<ReferenceNumberRegistrationInfo><ReferenceNumber>{id}</ReferenceNumber><InsurerNumber>{}</InsurerNumber><InsuredCardSymbol>{}</InsuredCardSymbol><InsuredIdentificationNumber>{number}</InsuredIdentificationNumber><InsuredBranchNumber>00</InsuredBranchNumber></ReferenceNumberRegistrationInfo>",
            VALID.0, VALID.1
        )
    };
    terminal.put("OQSsiimm01req_1.xml", &document("Shift_JIS", &header, &info("1", "KARTE-0042")));
    let registered = terminal.answer_xml("OQSsiimm01res_1.xml").await;
    assert_eq!(text_at(&registered, &["MessageHeader", "SegmentOfResult"]).as_deref(), Some("1"));
    assert_eq!(text_at(&registered, &["MessageBody", "ProcessingResultStatus"]).as_deref(), Some("1"));
    assert_eq!(text_at(&registered, &["MessageBody", "ReferenceNumber"]).as_deref(), Some("KARTE-0042"));

    terminal.put("OQSsiquc01req_2.xml", &single_request("UTF-8", CLINIC, &valid_search()));
    let later = terminal.answer_xml("OQSsiquc01res_2.xml").await;
    assert_eq!(texts(&later, "ReferenceNumber"), ["KARTE-0042"]);

    // In bulk: one the terminal can send, one whose birthdate nobody told it.
    let body = [info("1", "KARTE-0043"), info("777", "KARTE-0044")].concat();
    terminal.put("OQSmuimm01req_1.xml", &document("UTF-8", &header, &body));
    let up = terminal.answer_xml("OQSmuimm01res_1.xml").await;
    let reception = text_at(&up, &["MessageBody", "ReceptionNumber"]).expect("ReceptionNumber");
    let get = document(
        "UTF-8",
        &format!("<MedicalInstitutionCode>{CLINIC}</MedicalInstitutionCode>"),
        &format!("<ReceptionNumber>{reception}</ReceptionNumber>"),
    );
    terminal.put("OQSmuimm02req_1.xml", &get);
    let results = terminal.answer_xml("OQSmuimm02res_1.xml").await;
    assert_eq!(text_at(&results, &["MessageHeader", "NumberOfProcessingResult"]).as_deref(), Some("2"));
    assert_eq!(text_at(&results, &["MessageHeader", "NumberOfNormalProcessing"]).as_deref(), Some("1"));
    assert_eq!(texts(&results, "ProcessingResultStatus"), ["1", "2"]);
    assert_eq!(texts(&results, "ProcessingResultCode"), ["EQ0009"]);
    terminal.put("OQSsiquc01req_3.xml", &single_request("UTF-8", CLINIC, &valid_search()));
    assert_eq!(texts(&terminal.answer_xml("OQSsiquc01res_3.xml").await, "ReferenceNumber"), ["KARTE-0043"]);
    terminal.stop().await;
    server.stop().await;
}

fn medical_request(prefix: &str, number: &str, category: &str, birthdate: Option<&str>) -> Vec<u8> {
    let birth = birthdate.map(|b| format!("<Birthdate>{b}</Birthdate>")).unwrap_or_default();
    let header = format!(
        "<MedicalInstitutionCode>{CLINIC}</MedicalInstitutionCode><InsurerNumber>{}</InsurerNumber><InsuranceCardSymbol>{}</InsuranceCardSymbol><InsuredPersonIdentificationNumber>{number}</InsuredPersonIdentificationNumber><BranchNumber>00</BranchNumber><ArbitraryFileIdentifier>{prefix}-{category}</ArbitraryFileIdentifier>{birth}",
        VALID.0, VALID.1
    );
    let body = format!(
        "<StartDate>202301</StartDate><EndDate></EndDate><FileCategory>{category}</FileCategory><PrDiInfClassification>1</PrDiInfClassification><MedicalTreatmentFlag>1</MedicalTreatmentFlag>"
    );
    document("Shift_JIS", &header, &body)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn medication_and_checkups_after_a_tap_with_consent_and_refused_without() {
    let server = TestServer::start().await;
    let terminal = Terminal::start(&server, CLINIC, TextEncoding::ShiftJis).await;

    // Without a consent (the patient was only checked by numbers): refused.
    terminal.put("OQSsiquc01req_1.xml", &single_request("UTF-8", CLINIC, &valid_search()));
    terminal.answer_xml("OQSsiquc01res_1.xml").await;
    terminal.put("YZKsiquc01req_0.xml", &medical_request("YZK", "1", "2", None));
    let refused = terminal.answer_xml("YZKsiquc01res_0.xml").await;
    assert_eq!(text_at(&refused, &["MessageHeader", "SegmentOfResult"]).as_deref(), Some("9"));
    assert_eq!(text_at(&refused, &["MessageHeader", "ErrorCode"]).as_deref(), Some("EQ0005"));
    assert_eq!(text_at(&refused, &["MessageHeader", "ResultCode"]).as_deref(), Some("2"));
    assert!(
        text_at(&refused, &["MessageHeader", "MessageContents"])
            .is_some_and(|m| m.contains("CONSENT") || m.contains("consent"))
    );

    // The card on the reader, with consent to medication and checkups: the face file.
    let face = terminal.tap(VALID_SERIAL, &["medication", "checkup"]).await;
    let name = face.file_name().and_then(|n| n.to_str()).expect("name").to_owned();
    assert!(name.starts_with(&format!("OQSsiquc01res_face_{CLINIC}")), "{name}");
    assert_eq!(face.parent(), Some(terminal.folders.face.as_path()));
    let face_xml = decode(&std::fs::read(&face).expect("face file"));
    assert_eq!(text_at(&face_xml, &["MessageHeader", "ReferenceClassification"]).as_deref(), Some("1"));
    assert_eq!(texts(&face_xml, "PharmacistsInfoConsFlg"), ["1"]);
    assert_eq!(texts(&face_xml, "SpecificHealthCheckupsInfoConsFlg"), ["1"]);
    assert_eq!(texts(&face_xml, "Name"), ["山田　太郎"]);

    terminal.put("YZKsiquc01req_1.xml", &medical_request("YZK", "1", "2", None));
    let medication = terminal.answer_xml("YZKsiquc01res_1.xml").await;
    assert_eq!(text_at(&medication, &["MessageHeader", "ResultCode"]).as_deref(), Some("1"));
    assert_eq!(text_at(&medication, &["MessageHeader", "QuaInf", "Name"]).as_deref(), Some("山田　太郎"));
    assert_eq!(text_at(&medication, &["MessageHeader", "QuaInf", "Birth"]).as_deref(), Some(VALID.4));
    assert!(count(&medication, "MeTrMonthInf") > 0, "months of dispensing");
    assert_eq!(count(&medication, "DrugInf"), texts(&medication, "DrugN").len());
    assert!(count(&medication, "DrugInf") > 0);

    terminal.put("TKKsiquc01req_1.xml", &medical_request("TKK", "1", "2", None));
    let checkups = terminal.answer_xml("TKKsiquc01res_1.xml").await;
    assert_eq!(text_at(&checkups, &["MessageHeader", "QualificationsInfo", "Birthday"]).as_deref(), Some(VALID.4));
    assert!(count(&checkups, "SpecificHealthCheckupInfo") > 0);
    assert!(texts(&checkups, "ItemName").len() > 3);

    // PDF: a real PDF holding the patient's name as text.
    terminal.put("YZKsiquc01req_2.xml", &medical_request("YZK", "1", "1", None));
    terminal.put("TKKsiquc01req_2.xml", &medical_request("TKK", "1", "1", None));
    for name in ["YZKsiquc01res_2.pdf", "TKKsiquc01res_2.pdf"] {
        let pdf = terminal.answer(name).await;
        assert!(pdf.starts_with(b"%PDF-"), "{name}");
        let path = terminal.folders.res.join(name);
        let out = std::process::Command::new("pdftotext")
            .arg(&path)
            .arg("-")
            .output()
            .expect("pdftotext (poppler-utils, installed by ./dev) runs");
        assert!(out.status.success(), "{name}: pdftotext reads it");
        let text = String::from_utf8_lossy(&out.stdout);
        assert!(text.contains("山田"), "{name}: {text}");
        assert!(text.contains("1980-01-15"), "{name}");
    }

    // Someone the system does not know (birthdate given): ProcessingResultStatus 2.
    terminal.put("YZKsiquc01req_3.xml", &medical_request("YZK", "9999999", "2", Some("19900101")));
    let nobody = terminal.answer_xml("YZKsiquc01res_3.xml").await;
    assert_eq!(text_at(&nobody, &["MessageBody", "ProcessingResultStatus"]).as_deref(), Some("2"));
    // Someone the terminal never confirmed and no birthdate: the terminal says what is missing.
    terminal.put("YZKsiquc01req_4.xml", &medical_request("YZK", "8888888", "2", None));
    let unknown = terminal.answer_xml("YZKsiquc01res_4.xml").await;
    assert_eq!(text_at(&unknown, &["MessageHeader", "ErrorCode"]).as_deref(), Some("EQ0009"));
    // A FileCategory that does not exist.
    terminal.put("YZKsiquc01req_5.xml", &medical_request("YZK", "1", "7", None));
    let bad = terminal.answer_xml("YZKsiquc01res_5.xml").await;
    assert_eq!(text_at(&bad, &["MessageHeader", "SegmentOfResult"]).as_deref(), Some("9"));
    assert!(text_at(&bad, &["MessageHeader", "ErrorMessage"]).is_some_and(|m| m.contains("FileCategory")));
    terminal.stop().await;
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn what_the_system_refuses_is_answered_with_segment_9() {
    let server = TestServer::start().await;
    let terminal = Terminal::start(&server, CLINIC, TextEncoding::ShiftJis).await;
    // Another facility's code in the header.
    terminal.put("OQSsiquc01req_other.xml", &single_request("Shift_JIS", DENTAL, &valid_search()));
    let other = terminal.answer_xml("OQSsiquc01res_other.xml").await;
    assert_eq!(text_at(&other, &["MessageHeader", "SegmentOfResult"]).as_deref(), Some("9"));
    assert_eq!(text_at(&other, &["MessageHeader", "ErrorCode"]).as_deref(), Some("EQ0002"));
    // A field the server finds invalid: the message names it.
    let bad = search_xml(VALID.0, VALID.1, VALID.2, VALID.3, "19801340", "x");
    terminal.put("OQSsiquc01req_bad.xml", &single_request("Shift_JIS", CLINIC, &bad));
    let bad = terminal.answer_xml("OQSsiquc01res_bad.xml").await;
    assert_eq!(text_at(&bad, &["MessageHeader", "ErrorCode"]).as_deref(), Some("EQ0001"));
    assert!(text_at(&bad, &["MessageHeader", "ErrorMessage"]).is_some_and(|m| m.contains("birthdate")), "{bad}");
    // An injected request failure: the system's own code.
    let mut admin = server.admin().await;
    use onshi_proto::v1::fault::Kind;
    let fault = onshi_proto::v1::Fault {
        kind: Some(Kind::RequestFailure(onshi_proto::v1::RequestFailureFault {
            error_code: "E0001".into(),
            error_message: "システムエラー".into(),
        })),
        ..Default::default()
    };
    admin.add_fault(onshi_proto::v1::AddFaultRequest { fault: Some(fault) }).await.expect("fault added");
    terminal.put("OQSsiquc01req_fault.xml", &single_request("Shift_JIS", CLINIC, &valid_search()));
    let failed = terminal.answer_xml("OQSsiquc01res_fault.xml").await;
    assert_eq!(text_at(&failed, &["MessageHeader", "SegmentOfResult"]).as_deref(), Some("9"));
    assert_eq!(text_at(&failed, &["MessageHeader", "ErrorCode"]).as_deref(), Some("E0001"));
    assert_eq!(text_at(&failed, &["MessageHeader", "ErrorMessage"]).as_deref(), Some("システムエラー"));
    terminal.stop().await;
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn unreadable_files_get_an_err_file_and_the_terminal_goes_on() {
    let server = TestServer::start().await;
    let terminal = Terminal::start(&server, CLINIC, TextEncoding::ShiftJis).await;
    let mut big = single_request("UTF-8", CLINIC, &valid_search());
    big.extend(std::iter::repeat_n(b' ', 1 << 20));
    let cases: Vec<(&str, Vec<u8>, &str)> = vec![
        ("OQSsiquc01req_text.xml", b"hello, terminal".to_vec(), "not XML"),
        ("OQSsiquc01req_broken.xml", b"<XmlMsg><MessageHeader></XmlMsg></MessageHeader>".to_vec(), "not XML"),
        ("OQSzzzzz01req_1.xml", single_request("UTF-8", CLINIC, &valid_search()), "unknown request"),
        ("notes.txt", b"a note".to_vec(), "unknown request"),
        (
            "OQSsiquc01req_sjis.xml",
            b"<?xml version=\"1.0\" encoding=\"Shift_JIS\"?><XmlMsg>\x82\x20</XmlMsg>".to_vec(),
            "Shift_JIS",
        ),
        (
            "OQSsiquc01req_utf8.xml",
            b"<?xml version=\"1.0\" encoding=\"UTF-8\"?><XmlMsg>\xff</XmlMsg>".to_vec(),
            "UTF-8",
        ),
        (
            "OQSsiquc01req_dtd.xml",
            b"<?xml version=\"1.0\"?><!DOCTYPE XmlMsg [<!ENTITY e SYSTEM \"file:///etc/passwd\">]><XmlMsg>&e;</XmlMsg>"
                .to_vec(),
            "DTD",
        ),
        ("OQSsiquc01req_big.xml", big, "1 MiB"),
        ("OQSsiquc01req_root.xml", b"<Other><MessageHeader/></Other>".to_vec(), "root element"),
    ];
    for (name, bytes, _) in &cases {
        terminal.put(name, bytes);
    }
    for (name, bytes, says) in &cases {
        let stem = name.rsplit_once('.').map_or(*name, |(s, _)| s);
        let err = terminal.answer(&format!("{stem}.err")).await;
        let err = String::from_utf8(err).expect("UTF-8 reason");
        assert_eq!(err.lines().count(), 1, "{name}: one line: {err:?}");
        assert!(err.contains(says), "{name}: {err:?} mentions {says:?}");
        let moved = std::fs::read(terminal.folders.res.join(name)).expect("the request is beside it");
        assert_eq!(&moved, bytes, "{name} moved unchanged");
    }
    terminal.put("OQSsiquc01req_after.xml", &single_request("Shift_JIS", CLINIC, &valid_search()));
    let after = terminal.answer_xml("OQSsiquc01res_after.xml").await;
    assert_eq!(text_at(&after, &["MessageBody", "QualificationValidity"]).as_deref(), Some("1"));
    terminal.stop().await;
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn requests_left_in_work_by_a_killed_terminal_are_answered_at_the_next_start() {
    let server = TestServer::start().await;
    // What a terminal killed between taking and answering leaves: requests in work/.
    let dir = tempfile::tempdir().expect("dir");
    let folders = Folders::under(dir.path());
    folders.create().expect("folders");
    for i in 0..5 {
        std::fs::write(
            folders.work.join(format!("OQSsiquc01req_{i}.xml")),
            single_request("UTF-8", CLINIC, &valid_search()),
        )
        .expect("left in work/");
    }
    let terminal = Terminal::start_in(dir, &server, CLINIC, TextEncoding::ShiftJis).await;
    for i in 0..5 {
        let xml = terminal.answer_xml(&format!("OQSsiquc01res_{i}.xml")).await;
        assert_eq!(text_at(&xml, &["MessageBody", "QualificationValidity"]).as_deref(), Some("1"));
    }
    let start = Instant::now();
    while std::fs::read_dir(&terminal.folders.work).expect("work").next().is_some() {
        assert!(start.elapsed() < Duration::from_secs(10), "work/ empties once answered");
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    // And the terminal stopped and started again on the same folder goes on serving.
    let dir = terminal.stop().await;
    let terminal = Terminal::start_in(dir, &server, CLINIC, TextEncoding::ShiftJis).await;
    terminal.put("OQSsiquc01req_9.xml", &single_request("UTF-8", CLINIC, &valid_search()));
    terminal.answer_xml("OQSsiquc01res_9.xml").await;
    terminal.stop().await;
    server.stop().await;
}

/// The terminal binary, built beside this test by `cargo test --workspace` (terminal/tests/cli.rs
/// makes cargo build it).
fn terminal_binary() -> PathBuf {
    let exe = std::env::current_exe().expect("test binary");
    let release = exe.parent().and_then(|d| d.parent()).expect("target/release");
    let binary = release.join("onshi-terminal");
    assert!(binary.exists(), "{} is missing: run the workspace tests (./dev test), which build it", binary.display());
    binary
}

/// `onshi-terminal run` for the clinic on `dir`, as a process of its own.
fn spawn_terminal(server: &TestServer, dir: &Path, extra: &[&str]) -> std::process::Child {
    std::process::Command::new(terminal_binary())
        .arg("run")
        .arg("--dir")
        .arg(dir)
        .arg("--target")
        .arg(server.addr.to_string())
        .arg("--cacert")
        .arg(server.pki.ca())
        .arg("--cert")
        .arg(server.pki.facility_cert(CLINIC))
        .arg("--key")
        .arg(server.pki.facility_key(CLINIC))
        .args(extra)
        .stderr(std::process::Stdio::null())
        .spawn()
        .expect("terminal starts")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_terminal_killed_with_sigkill_loses_no_request() {
    let server = TestServer::start().await;
    let dir = tempfile::tempdir().expect("dir");
    let folders = Folders::under(dir.path());
    folders.create().expect("folders");
    let spawn = || spawn_terminal(&server, dir.path(), &["--rescan-ms", "100"]);
    let mut child = spawn();
    const FILES: usize = 3_000;
    let staging = dir.path().join("staging");
    std::fs::create_dir_all(&staging).expect("staging");
    for i in 0..FILES {
        std::fs::write(
            staging.join(format!("OQSsiquc01req_{i:05}.xml")),
            single_request("Shift_JIS", CLINIC, &valid_search()),
        )
        .expect("staged");
    }
    // Wait until the terminal answers, then drop the burst and kill it in the middle of it.
    terminal_put_and_wait(&folders, "OQSsiquc01req_first.xml").await;
    for i in 0..FILES {
        let name = format!("OQSsiquc01req_{i:05}.xml");
        std::fs::rename(staging.join(&name), folders.req.join(&name)).expect("into req/");
    }
    let start = Instant::now();
    while std::fs::read_dir(&folders.res).expect("res").count() < FILES / 3 {
        assert!(start.elapsed() < Duration::from_secs(60), "the terminal answers");
        tokio::time::sleep(Duration::from_millis(2)).await;
    }
    nix::sys::signal::kill(nix::unistd::Pid::from_raw(child.id() as i32), nix::sys::signal::Signal::SIGKILL)
        .expect("kill -9");
    child.wait().expect("reaped");
    let answered_before = std::fs::read_dir(&folders.res).expect("res").count();
    assert!(answered_before < FILES + 1, "killed before the end: {answered_before} answers");

    let mut child = spawn();
    let start = Instant::now();
    loop {
        let answers = std::fs::read_dir(&folders.res)
            .expect("res")
            .filter_map(Result::ok)
            .filter(|e| !e.file_name().to_string_lossy().starts_with('.'))
            .count();
        if answers == FILES + 1 {
            break;
        }
        assert!(start.elapsed() < Duration::from_secs(60), "{answers} of {} answered after the restart", FILES + 1);
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    for i in 0..FILES {
        let bytes =
            std::fs::read(folders.res.join(format!("OQSsiquc01res_{i:05}.xml"))).expect("every request answered");
        let xml = decode(&bytes);
        assert_eq!(
            text_at(&xml, &["MessageBody", "QualificationValidity"]).as_deref(),
            Some("1"),
            "answer {i} is whole"
        );
    }
    assert!(std::fs::read_dir(&folders.req).expect("req").next().is_none());
    let start = Instant::now();
    while std::fs::read_dir(&folders.work).expect("work").next().is_some() {
        assert!(start.elapsed() < Duration::from_secs(10), "work/ empties");
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    let _ = child.kill();
    let _ = child.wait();
    server.stop().await;
}

async fn terminal_put_and_wait(folders: &Folders, name: &str) {
    std::fs::write(folders.req.join(name), single_request("UTF-8", CLINIC, &valid_search())).expect("write");
    wait_for(&folders.res.join(name.replace("req_", "res_")), Duration::from_secs(20)).await;
}

/// GET /metrics over a plain TCP connection.
fn scrape(port: u16) -> Option<String> {
    use std::io::Read;
    let mut s = std::net::TcpStream::connect(("127.0.0.1", port)).ok()?;
    s.write_all(b"GET /metrics HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n").ok()?;
    let mut body = String::new();
    s.read_to_string(&mut body).ok()?;
    Some(body)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_terminal_counts_its_files_for_prometheus() {
    let server = TestServer::start().await;
    let dir = tempfile::tempdir().expect("dir");
    let folders = Folders::under(dir.path());
    let port = std::net::TcpListener::bind("127.0.0.1:0").expect("a free port").local_addr().expect("addr").port();
    let mut child = spawn_terminal(&server, dir.path(), &["--metrics", &format!("127.0.0.1:{port}")]);
    wait_for(&folders.req.join("."), Duration::from_secs(10)).await;
    terminal_put_and_wait(&folders, "OQSsiquc01req_1.xml").await;
    std::fs::write(folders.req.join("OQSsiquc01req_2.xml"), b"not xml").expect("write");
    wait_for(&folders.res.join("OQSsiquc01req_2.err"), Duration::from_secs(20)).await;
    let start = Instant::now();
    let value = |text: &str, outcome: &str| -> Option<f64> {
        let lines = text.lines().map(|l| Ok(l.to_owned()));
        let scrape = prometheus_parse::Scrape::parse(lines).ok()?;
        scrape
            .samples
            .iter()
            .find(|s| {
                s.metric == "onshi_terminal_files_total"
                    && s.labels.get("operation") == Some("OQSsiquc01")
                    && s.labels.get("outcome") == Some(outcome)
            })
            .and_then(|s| match s.value {
                prometheus_parse::Value::Counter(v) | prometheus_parse::Value::Untyped(v) => Some(v),
                _ => None,
            })
    };
    loop {
        let text = scrape(port).unwrap_or_default();
        let body = text.split("\r\n\r\n").nth(1).unwrap_or("");
        if value(body, "answered") == Some(1.0) && value(body, "unreadable") == Some(1.0) {
            assert_eq!(value(body, "refused"), Some(0.0));
            break;
        }
        assert!(start.elapsed() < Duration::from_secs(10), "metrics: {text}");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let _ = child.kill();
    let _ = child.wait();
    server.stop().await;
}
