//! The demo's facility terminals: one `onshi-terminal run` child process per active demo
//! facility, serving `DIR/terminal/<facility code>/` (req, res, face) over mTLS with that
//! facility's certificate, started and stopped by the demo. The terminal is a separate binary
//! (it is a client of the server, as the real terminal is of the national system), found beside
//! `onshi-server`. Sample requests in Shift_JIS are written to `DIR/terminal/samples/`.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::time::Duration;

use onshi_domain::facility::FacilityStatus;

use crate::demo::DEMO_FACILITIES;

/// The first terminal's Prometheus port (the others follow): beside the server's 8090.
pub const METRICS_PORT: u16 = 8091;
/// The first terminal's screen (the clinic's; the others follow).
pub const SCREEN_PORT: u16 = 8080;

/// The running terminals.
pub struct DemoTerminals {
    children: Vec<(String, tokio::process::Child)>,
    pub root: PathBuf,
    pub binary: PathBuf,
}

/// The terminal binary beside this one.
pub fn terminal_binary() -> Option<PathBuf> {
    let exe = std::env::current_exe().ok()?;
    let candidate = exe.parent()?.join("onshi-terminal");
    candidate.exists().then_some(candidate)
}

/// The facilities that get a terminal: every active one on the demo allow-list.
pub fn facilities() -> impl Iterator<Item = &'static str> {
    DEMO_FACILITIES.iter().filter(|f| f.status == Some(FacilityStatus::Active)).map(|f| f.code)
}

impl DemoTerminals {
    /// Starts a terminal per facility, talking to `server`. Without the terminal binary, none.
    /// `population` is (seed, persons) of the seeded population, for the screen's patient search.
    pub fn start(data_dir: &Path, server: SocketAddr, population: (u64, u64)) -> Result<DemoTerminals, String> {
        let root = data_dir.join("terminal");
        let Some(binary) = terminal_binary() else {
            return Err("onshi-terminal is not built beside onshi-server (cargo build --release -p onshi-terminal); the demo runs without terminals".into());
        };
        write_samples(&root.join("samples")).map_err(|e| format!("samples: {e}"))?;
        let pki = data_dir.join("pki");
        let mut children = Vec::new();
        for (i, code) in facilities().enumerate() {
            let dir = root.join(code);
            std::fs::create_dir_all(&dir).map_err(|e| format!("{}: {e}", dir.display()))?;
            let log = std::fs::File::create(dir.join("terminal.log")).map_err(|e| format!("{}: {e}", dir.display()))?;
            let child = tokio::process::Command::new(&binary)
                .arg("run")
                .arg("--dir")
                .arg(&dir)
                .arg("--target")
                .arg(server.to_string())
                .arg("--cacert")
                .arg(pki.join("ca.pem"))
                .arg("--cert")
                .arg(pki.join(format!("{code}.pem")))
                .arg("--key")
                .arg(pki.join(format!("{code}.key")))
                .arg("--metrics")
                .arg(format!("127.0.0.1:{}", METRICS_PORT + i as u16))
                .arg("--http")
                .arg(format!("127.0.0.1:{}", SCREEN_PORT + i as u16))
                .arg("--population")
                .arg(format!("{}:{}", population.0, population.1))
                .stdin(std::process::Stdio::null())
                .stdout(std::process::Stdio::null())
                .stderr(log)
                .kill_on_drop(true)
                .spawn()
                .map_err(|e| format!("cannot start {}: {e}", binary.display()))?;
            children.push((code.to_owned(), child));
        }
        Ok(DemoTerminals { children, root, binary })
    }

    /// Stops every terminal: SIGTERM (they finish the files in flight), then SIGKILL after 10 s.
    pub async fn stop(self) {
        for (_, child) in &self.children {
            if let Some(pid) = child.id() {
                let _ =
                    nix::sys::signal::kill(nix::unistd::Pid::from_raw(pid as i32), nix::sys::signal::Signal::SIGTERM);
            }
        }
        for (code, mut child) in self.children {
            if tokio::time::timeout(Duration::from_secs(10), child.wait()).await.is_err() {
                tracing::warn!("the terminal of {code} did not stop; killing it");
                let _ = child.kill().await;
            }
        }
    }

    /// What to tell the user about the terminals.
    pub fn next_steps(&self, data_dir: &Path, server: SocketAddr) -> String {
        let root = self.root.display();
        let clinic = DEMO_FACILITIES[0].code;
        let pki = data_dir.join("pki");
        let p = pki.display();
        let list: Vec<String> = facilities()
            .enumerate()
            .map(|(i, c)| {
                format!(
                    "  {root}/{c}/  (req/ res/ face/; screen http://127.0.0.1:{}/; metrics http://127.0.0.1:{}/metrics)",
                    SCREEN_PORT + i as u16,
                    METRICS_PORT + i as u16
                )
            })
            .collect();
        format!(
            r#"Facility terminals (the folder exchange of 資格確認端末; answers in Shift_JIS):
{list}

  # The clinic's terminal screen in a browser (card reader, results, medication, bulk, fees):
  http://127.0.0.1:{screen}/

  # A qualification check by insurance card numbers, as an EHR drops it:
  cp {root}/samples/OQSsiquc01req_0001.xml {root}/{clinic}/req/
  iconv -f SHIFT_JIS -t UTF-8 {root}/{clinic}/res/OQSsiquc01res_0001.xml

  # The patient puts the card on the reader and consents to share medication and checkups:
  {bin} tap --dir {root}/{clinic} --target {server} --cacert {p}/ca.pem \
    --cert {p}/{clinic}.pem --key {p}/{clinic}.key \
    --serial A0000000000000000001 --verify face --consent medication,checkup
  ls {root}/{clinic}/face/

  # Then the medication history (XML) and the checkups as a PDF:
  cp {root}/samples/YZKsiquc01req_0001.xml {root}/samples/TKKsiquc01req_0001.xml {root}/{clinic}/req/
  iconv -f SHIFT_JIS -t UTF-8 {root}/{clinic}/res/YZKsiquc01res_0001.xml | head -40
  ls {root}/{clinic}/res/TKKsiquc01res_0001.pdf
"#,
            list = list.join("\n"),
            screen = SCREEN_PORT,
            bin = self.binary.display(),
        )
    }
}

/// A request as an EHR writes it: Shift_JIS, with the declaration most clients use.
fn shift_jis(text: &str) -> Vec<u8> {
    let (bytes, _, _) = encoding_rs::SHIFT_JIS.encode(text);
    bytes.into_owned()
}

/// Sample requests for the demo's scenario patient 山田 太郎 (scenario "valid").
fn write_samples(dir: &Path) -> std::io::Result<()> {
    std::fs::create_dir_all(dir)?;
    let clinic = DEMO_FACILITIES[0].code;
    let declaration = "<?xml version=\"1.0\" encoding=\"Shift_JIS\" standalone=\"no\"?>\r\n";
    let single = format!(
        "{declaration}<XmlMsg>\r\n  <MessageHeader>\r\n    <QualificationConfirmationDate></QualificationConfirmationDate>\r\n    <MedicalInstitutionCode>{clinic}</MedicalInstitutionCode>\r\n    <ArbitraryFileIdentifier>受付0001</ArbitraryFileIdentifier>\r\n  </MessageHeader>\r\n  <MessageBody>\r\n    <QualificationConfirmSearchInfo>\r\n      <InsurerNumber>01130012</InsurerNumber>\r\n      <InsuredCardSymbol>90000001</InsuredCardSymbol>\r\n      <InsuredIdentificationNumber>1</InsuredIdentificationNumber>\r\n      <InsuredBranchNumber>00</InsuredBranchNumber>\r\n      <Birthdate>19800115</Birthdate>\r\n      <LimitApplicationCertificateRelatedConsFlg>0</LimitApplicationCertificateRelatedConsFlg>\r\n    </QualificationConfirmSearchInfo>\r\n  </MessageBody>\r\n</XmlMsg>\r\n"
    );
    let medical = |category: &str| {
        format!(
            "{declaration}<XmlMsg>\r\n  <MessageHeader>\r\n    <MedicalInstitutionCode>{clinic}</MedicalInstitutionCode>\r\n    <InsurerNumber>01130012</InsurerNumber>\r\n    <InsuranceCardSymbol>90000001</InsuranceCardSymbol>\r\n    <InsuredPersonIdentificationNumber>1</InsuredPersonIdentificationNumber>\r\n    <BranchNumber>00</BranchNumber>\r\n    <ArbitraryFileIdentifier>薬剤0001</ArbitraryFileIdentifier>\r\n  </MessageHeader>\r\n  <MessageBody>\r\n    <StartDate>202401</StartDate>\r\n    <EndDate></EndDate>\r\n    <FileCategory>{category}</FileCategory>\r\n    <PrDiInfClassification>1</PrDiInfClassification>\r\n    <MedicalTreatmentFlag>1</MedicalTreatmentFlag>\r\n  </MessageBody>\r\n</XmlMsg>\r\n"
        )
    };
    std::fs::write(dir.join("OQSsiquc01req_0001.xml"), shift_jis(&single))?;
    std::fs::write(dir.join("YZKsiquc01req_0001.xml"), shift_jis(&medical("2")))?;
    std::fs::write(dir.join("TKKsiquc01req_0001.xml"), shift_jis(&medical("1").replace("薬剤", "健診")))?;
    Ok(())
}
