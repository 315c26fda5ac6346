//! The terminal's screen in a real headless Chromium, driven over WebDriver (Debian's chromium
//! and chromium-driver, installed by `./dev`; fantoccini as the client), against a real server
//! over mutual TLS and a real terminal serving its folders and its screen on 127.0.0.1:0.
//!
//! With `ONSHI_SCREENSHOTS=1` the tests also save the pages they saw to `docs/screenshots/` (the
//! README's pictures are these, never drawn by hand).

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::sync::Arc;
use std::time::Duration;

use fantoccini::{Client, ClientBuilder, Locator};
use onshi_domain::population::scenarios::{self, Ask};
use onshi_domain::result_codes::{ResultCodes, ResultKey};
use onshi_terminal::screen::search::PopulationRef;
use onshi_terminal::stats::Stats;
use onshi_terminal::{Config, Folders, TlsFiles};
use tempfile::TempDir;
use tokio::sync::oneshot;

use crate::common::{CLINIC, PERSONS, SEED_OF_DEMO, TestServer, VALID_SERIAL};

/// How long a page may take to show what a test waits for.
const WAIT: Duration = Duration::from_secs(15);

/// chromedriver and a Chromium session, both stopped on drop.
pub struct Browser {
    pub client: Client,
    driver: tokio::process::Child,
    _profile: TempDir,
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0").and_then(|l| l.local_addr()).map(|a| a.port()).expect("a free port")
}

impl Browser {
    pub async fn start() -> Browser {
        let port = free_port();
        let driver = tokio::process::Command::new("chromedriver")
            .arg(format!("--port={port}"))
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .kill_on_drop(true)
            .spawn()
            .expect("chromedriver (Debian's chromium-driver; ./dev installs it)");
        let deadline = std::time::Instant::now() + Duration::from_secs(20);
        while tokio::net::TcpStream::connect(("127.0.0.1", port)).await.is_err() {
            assert!(std::time::Instant::now() < deadline, "chromedriver did not listen on {port}");
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        let profile = tempfile::tempdir().expect("profile dir");
        let mut caps = serde_json::Map::new();
        caps.insert(
            "goog:chromeOptions".into(),
            serde_json::json!({
                "binary": "/usr/bin/chromium",
                "args": [
                    "--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
                    "--disable-component-update", "--disable-sync", "--no-first-run",
                    "--window-size=1280,800", "--lang=ja",
                    format!("--user-data-dir={}", profile.path().display()),
                ],
            }),
        );
        let connector = hyper_util::client::legacy::connect::HttpConnector::new();
        let client = ClientBuilder::new(connector)
            .capabilities(caps)
            .connect(&format!("http://127.0.0.1:{port}"))
            .await
            .expect("a Chromium session");
        Browser { client, driver, _profile: profile }
    }

    pub async fn stop(mut self) {
        let _ = self.client.close().await;
        let _ = self.driver.kill().await;
    }

    /// The text of the first element matching `css`, waiting for it.
    pub async fn text(&self, css: &str) -> String {
        let e = self
            .client
            .wait()
            .at_most(WAIT)
            .for_element(Locator::Css(css))
            .await
            .unwrap_or_else(|e| panic!("{css}: {e}"));
        e.text().await.expect("text")
    }

    pub async fn count(&self, css: &str) -> usize {
        self.client.find_all(Locator::Css(css)).await.expect("find").len()
    }

    pub async fn fill(&self, css: &str, value: &str) {
        let e = self.client.find(Locator::Css(css)).await.unwrap_or_else(|e| panic!("{css}: {e}"));
        e.clear().await.expect("clear");
        e.send_keys(value).await.expect("type");
    }

    pub async fn click(&self, css: &str) {
        self.client
            .find(Locator::Css(css))
            .await
            .unwrap_or_else(|e| panic!("{css}: {e}"))
            .click()
            .await
            .expect("click");
    }

    /// Saves the page to `docs/screenshots/NAME.png` when ONSHI_SCREENSHOTS is set.
    pub async fn screenshot(&self, name: &str) {
        if std::env::var_os("ONSHI_SCREENSHOTS").is_none() {
            return;
        }
        let png = self.client.screenshot().await.expect("screenshot");
        let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../docs/screenshots");
        std::fs::create_dir_all(&dir).expect("docs/screenshots");
        std::fs::write(dir.join(format!("{name}.png")), png).expect("write screenshot");
    }
}

/// A terminal with its screen, in process, on a temp folder.
pub struct ScreenTerminal {
    /// The terminal's root (req/, res/, face/), removed on drop.
    _dir: TempDir,
    pub folders: Folders,
    pub url: String,
    stop: Option<oneshot::Sender<()>>,
    task: Option<tokio::task::JoinHandle<()>>,
}

impl ScreenTerminal {
    pub async fn start(server: &TestServer, facility: &str) -> ScreenTerminal {
        let dir = tempfile::tempdir().expect("dir");
        let tls = TlsFiles {
            cacert: server.pki.ca(),
            cert: server.pki.facility_cert(facility),
            key: server.pki.facility_key(facility),
        };
        let mut config = Config::new(dir.path().to_owned(), server.addr.to_string(), tls);
        config.rescan = Duration::from_millis(100);
        let listener =
            onshi_terminal::screen::bind("127.0.0.1:0".parse::<SocketAddr>().expect("addr")).await.expect("bind");
        let url = format!("http://{}", listener.local_addr().expect("addr"));
        let (tx, rx) = oneshot::channel::<()>();
        let population = Some(PopulationRef { seed: SEED_OF_DEMO, persons: PERSONS });
        let task = tokio::spawn(async move {
            onshi_terminal::run_with_screen(config, listener, population, Arc::new(Stats::default()), async {
                let _ = rx.await;
            })
            .await
            .expect("terminal runs");
        });
        let folders = Folders::under(dir.path());
        ScreenTerminal { _dir: dir, folders, url, stop: Some(tx), task: Some(task) }
    }

    pub fn at(&self, path: &str) -> String {
        format!("{}{path}", self.url)
    }

    pub async fn stop(mut self) {
        if let Some(tx) = self.stop.take() {
            let _ = tx.send(());
        }
        if let Some(task) = self.task.take() {
            let _ = tokio::time::timeout(Duration::from_secs(10), task).await;
        }
    }
}

fn face_files(dir: &Path) -> Vec<PathBuf> {
    std::fs::read_dir(dir)
        .expect("face/")
        .filter_map(Result::ok)
        .map(|e| e.path())
        .filter(|p| p.extension().is_some_and(|x| x == "xml"))
        .collect()
}

/// A serial the scenarios ask with that answers `key`.
fn scenario_card(key: ResultKey) -> String {
    let on = onshi_server::clock::Clock::system().now().date();
    scenarios::all(on)
        .into_iter()
        .flat_map(|s| s.expectations)
        .find_map(|e| match e.ask {
            Ask::Card(serial) if e.result_code == Some(key) => Some(serial.as_str().to_owned()),
            _ => None,
        })
        .unwrap_or_else(|| panic!("a scenario card answering {key:?}"))
}

/// Puts `serial` on the reader page with the consents given, and submits.
async fn tap(b: &Browser, t: &ScreenTerminal, serial: &str, consents: &[&str]) {
    b.client.goto(&t.at("/")).await.expect("reader page");
    b.fill("#card", serial).await;
    for c in consents {
        b.click(&format!("#consent-{c}")).await;
    }
    b.click("#tap").await;
    b.client.wait().at_most(WAIT).for_element(Locator::Css("#reader-answer")).await.expect("the reader's answer");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_tap_with_consent_writes_the_face_file_and_shows_live_then_medication_and_checkups() {
    let server = TestServer::start().await;
    let t = ScreenTerminal::start(&server, CLINIC).await;
    let b = Browser::start().await;

    // The confirmations page is open in one tab before the tap…
    b.client.goto(&t.at("/confirmations")).await.expect("confirmations");
    b.text("#live-state").await;
    b.client.execute("window.notReloaded = true;", vec![]).await.expect("mark the page");
    let list = b.client.window().await.expect("this tab");
    let reader = b.client.new_window(true).await.expect("a second tab");
    b.client.switch_to_window(reader.handle).await.expect("to the reader tab");

    // …the patient taps in another, consenting to medication and checkups.
    tap(&b, &t, VALID_SERIAL, &["medication", "checkup"]).await;
    let answer = b.text("#reader-answer").await;
    assert!(answer.contains("資格確認が完了しました"), "{answer}");
    assert!(answer.contains("山田"), "{answer}");
    let faces = face_files(&t.folders.face);
    assert_eq!(faces.len(), 1, "one face file: {faces:?}");
    let face = std::fs::read(&faces[0]).expect("face file");
    let (text, _, _) = encoding_rs::SHIFT_JIS.decode(&face);
    assert!(
        text.contains("<Name>山田　太郎</Name>") && text.contains("<PharmacistsInfoConsFlg>1</PharmacistsInfoConsFlg>"),
        "{text}"
    );
    b.screenshot("reader").await;

    // The confirmation arrived on the list without a reload.
    b.client.switch_to_window(list).await.expect("back to the list");
    let entry = b.text("#entries details.new .who").await;
    assert_eq!(entry, "山田　太郎");
    let kept = b.client.execute("return window.notReloaded === true;", vec![]).await.expect("script");
    assert_eq!(kept, serde_json::Value::Bool(true), "the list page was reloaded");
    b.click("#entries details.new summary").await;
    let shown = b.text("#entries details.new").await;
    assert!(
        shown.contains("被保険者証（一般）") && shown.contains("マイナンバーカード"),
        "codes by their names: {shown}"
    );
    b.screenshot("confirmations").await;

    // The medication page lists drugs; the checkup chart has a point per checkup year.
    b.client.goto(&t.at("/")).await.expect("reader");
    tap(&b, &t, VALID_SERIAL, &["medication", "checkup"]).await;
    b.click("#medical-link").await;
    b.client.wait().at_most(WAIT).for_element(Locator::Css("#charts")).await.expect("charts");
    let drugs = b.count("tr.drug").await;
    assert!(drugs > 0, "the medication page lists drugs");
    let years: std::collections::BTreeSet<String> = {
        let heads = b.client.find_all(Locator::Css("table.checkups thead th")).await.expect("heads");
        let mut y = std::collections::BTreeSet::new();
        for h in heads.iter().skip(2) {
            y.insert(h.text().await.expect("text").chars().take(4).collect());
        }
        y
    };
    assert!(!years.is_empty(), "checkups are shown");
    let bmi_points = b.count("#charts figure:first-child svg circle.point").await;
    assert_eq!(bmi_points, years.len(), "a BMI point per checkup year {years:?}");
    b.screenshot("medical").await;

    b.stop().await;
    t.stop().await;
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_revoked_card_shows_the_readers_error() {
    let server = TestServer::start().await;
    let t = ScreenTerminal::start(&server, CLINIC).await;
    let b = Browser::start().await;
    tap(&b, &t, &scenario_card(ResultKey::CertificateRevoked), &[]).await;
    let answer = b.client.find(Locator::Css("#reader-answer")).await.expect("answer");
    assert!(answer.attr("class").await.expect("class").unwrap_or_default().contains("ng"));
    let text = answer.text().await.expect("text");
    assert!(text.contains("このカードは利用できません"), "{text}");
    let codes = ResultCodes::default();
    let revoked = codes.get(ResultKey::CertificateRevoked);
    assert!(text.contains(&revoked.code) && text.contains(&revoked.message), "{text}");
    b.stop().await;
    t.stop().await;
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_malformed_insured_number_gets_a_message_beside_the_field() {
    let server = TestServer::start().await;
    let t = ScreenTerminal::start(&server, CLINIC).await;
    let b = Browser::start().await;
    b.client.goto(&t.at("/")).await.expect("reader page");
    b.fill("#insurer", "12x").await;
    b.click("#search button[type=submit]").await;
    let message = b.text("#insurer-error").await;
    assert!(message.contains("保険者番号"), "{message}");
    let invalid =
        b.client.find(Locator::Css("#insurer")).await.expect("field").attr("aria-invalid").await.expect("attr");
    assert_eq!(invalid.as_deref(), Some("true"));
    // The other fields kept no message, and the value typed is still there.
    assert_eq!(b.count(".field-error").await, 1);
    let kept = b.client.find(Locator::Css("#insurer")).await.expect("field").prop("value").await.expect("value");
    assert_eq!(kept.as_deref(), Some("12x"));
    b.screenshot("search-error").await;

    // A name search finds population people as well.
    b.client.goto(&t.at("/?name=%E5%B1%B1%E7%94%B0")).await.expect("search");
    let found = b.count("table.hits tbody tr").await;
    assert!(found >= 2, "山田 is a common name: {found}");
    b.stop().await;
    t.stop().await;
    server.stop().await;
}

/// A request as an EHR writes it: Shift_JIS, written to a temp name and renamed into req/.
fn put_request(folders: &Folders, name: &str, header: &str, body: &str) {
    let text = format!(
        "<?xml version=\"1.0\" encoding=\"Shift_JIS\" standalone=\"no\"?>\r\n<XmlMsg>\r\n<MessageHeader>{header}</MessageHeader>\r\n<MessageBody>{body}</MessageBody>\r\n</XmlMsg>\r\n"
    );
    let (bytes, _, unmappable) = encoding_rs::SHIFT_JIS.encode(&text);
    assert!(!unmappable);
    let temp = folders.req.join(format!("{name}.tmp"));
    std::fs::write(&temp, &bytes).expect("write");
    std::fs::rename(&temp, folders.req.join(name)).expect("rename");
}

fn search(number: &str, birthdate: &str, id: &str) -> String {
    format!(
        "<QualificationConfirmSearchInfo><InsurerNumber>01130012</InsurerNumber><InsuredCardSymbol>90000001</InsuredCardSymbol><InsuredIdentificationNumber>{number}</InsuredIdentificationNumber><InsuredBranchNumber>00</InsuredBranchNumber><Birthdate>{birthdate}</Birthdate><ArbitraryIdentifier>{id}</ArbitraryIdentifier></QualificationConfirmSearchInfo>"
    )
}

async fn wait_for_file(path: &Path) {
    let deadline = std::time::Instant::now() + WAIT;
    while !path.exists() {
        assert!(std::time::Instant::now() < deadline, "{} never appeared", path.display());
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bulk_jobs_show_their_state_and_results_and_fees_show_the_visits() {
    let server = TestServer::start().await;
    let t = ScreenTerminal::start(&server, CLINIC).await;
    let b = Browser::start().await;

    // 一括照会 through req/: the job is listed, then done with its counts and results.
    let header = format!(
        "<MedicalInstitutionCode>{CLINIC}</MedicalInstitutionCode><ArbitraryFileIdentifier>翌日予約</ArbitraryFileIdentifier>"
    );
    let body =
        [search("1", "19800115", "r1"), search("9999999", "19900101", "r2"), search("2", "19700220", "r3")].concat();
    put_request(&t.folders, "OQSmuquc01req_0001.xml", &header, &body);
    wait_for_file(&t.folders.res.join("OQSmuquc01res_0001.xml")).await;
    b.client.goto(&t.at("/bulk")).await.expect("bulk page");
    assert!(b.text("table.jobs tbody tr").await.contains("翌日予約"));
    let deadline = std::time::Instant::now() + WAIT;
    loop {
        let state = b.text("table.jobs tbody tr td:nth-child(5)").await;
        if state.contains("完了") {
            break;
        }
        assert!(state.contains("処理中"), "{state}");
        assert!(std::time::Instant::now() < deadline, "the job never finished");
        tokio::time::sleep(Duration::from_millis(500)).await;
        b.client.refresh().await.expect("reload");
    }
    let counts = b.text("table.jobs tbody tr td:nth-child(6)").await;
    assert!(counts.contains("有効 1") && counts.contains("該当資格なし 1") && counts.contains("無効 1"), "{counts}");
    b.screenshot("bulk").await;
    b.click("table.jobs tbody tr a").await;
    b.client.wait().at_most(WAIT).for_element(Locator::Css("table.units")).await.expect("the job's results");
    assert_eq!(b.count("table.units tbody tr").await, 3);

    // Two visits: a tap and a check by numbers. The fees page shows the month and each visit.
    tap(&b, &t, VALID_SERIAL, &["medication"]).await;
    let single = format!("<MedicalInstitutionCode>{CLINIC}</MedicalInstitutionCode>");
    put_request(&t.folders, "OQSsiquc01req_0001.xml", &single, &search("2", "19700220", "s1"));
    wait_for_file(&t.folders.res.join("OQSsiquc01res_0001.xml")).await;
    b.client.goto(&t.at("/fees")).await.expect("fees page");
    b.client.wait().at_most(WAIT).for_element(Locator::Css("#fees-chart")).await.expect("the fees chart");
    assert!(b.count("#fees-chart rect.bar").await >= 1);
    assert_eq!(b.count("table.visits tbody tr").await, 2, "one row per visit");
    let visits = b.text("table.visits tbody").await;
    assert!(visits.contains("初診"), "{visits}");
    let usage = b.text("table.usage tbody").await;
    let this_month = {
        let d = onshi_server::clock::Clock::system().now().date().yyyymmdd();
        format!("{}-{}", &d[..4], &d[4..6])
    };
    assert!(usage.contains(&this_month), "{usage}");
    b.screenshot("fees").await;

    b.stop().await;
    t.stop().await;
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_fault_added_on_the_admin_page_fails_the_next_tap_and_clearing_it_restores_answers() {
    let server = TestServer::start().await;
    let t = ScreenTerminal::start(&server, CLINIC).await;
    let handle = metrics_exporter_prometheus::PrometheusBuilder::new().build_recorder().handle();
    let (admin, _stop_admin) = crate::common::start_page(&server, handle);
    let b = Browser::start().await;

    // The README's maintenance recipe, from its preset button: the next ConfirmByCard fails.
    b.client.goto(&format!("http://{admin}/faults")).await.expect("the admin page");
    b.click("#preset-maintenance button").await;
    let listed = b.text("main table tbody").await;
    assert!(listed.contains("ConfirmByCard"), "{listed}");
    b.screenshot("admin-faults").await;
    tap(&b, &t, VALID_SERIAL, &[]).await;
    let answer = b.text("#reader-answer").await;
    assert!(answer.contains("maintenance") && answer.contains("システムが応答しませんでした"), "{answer}");
    assert!(face_files(&t.folders.face).is_empty(), "no face file for a refused tap");

    // Added again, then cleared on the page: the tap is answered.
    b.client.goto(&format!("http://{admin}/faults")).await.expect("the admin page");
    b.click("#preset-maintenance button").await;
    b.text("main table tbody").await;
    b.click("form[action='/faults/clear'] button.danger").await;
    b.text("#no-faults").await;
    tap(&b, &t, VALID_SERIAL, &[]).await;
    let answer = b.text("#reader-answer").await;
    assert!(answer.contains("資格確認が完了しました"), "{answer}");

    // The people page finds the patient the screen just confirmed.
    b.client
        .goto(&format!("http://{admin}/people?by=serial&person.certificate_serial_number={VALID_SERIAL}"))
        .await
        .expect("people");
    let person = b.text("#person").await;
    assert!(person.contains("山田"), "{person}");
    b.screenshot("admin-people").await;
    b.stop().await;
    t.stop().await;
    server.stop().await;
}
