//! `onshi-server demo`: a complete local オンライン資格確認 in one command — a dev PKI, the demo
//! facilities on the allow-list, a seeded population with the scenario people, served on
//! 127.0.0.1:50051 with mutual TLS. Run twice, it reuses what is there.

use std::path::{Path, PathBuf};

use onshi_domain::facility::{Facility, FacilityKind, FacilityStatus};
use onshi_domain::ids::{CheckDigits, MedicalInstitutionCode};

use crate::config::Config;

/// A demo facility: code, name, kind, whether it is on the allow-list and active.
pub struct DemoFacility {
    pub code: &'static str,
    pub name: &'static str,
    pub kind: FacilityKind,
    /// `None`: has a certificate but is not on the allow-list.
    pub status: Option<FacilityStatus>,
}

/// The demo facilities. Every code carries a valid check digit.
pub const DEMO_FACILITIES: &[DemoFacility] = &[
    DemoFacility {
        code: "1312345679",
        name: "オンシ内科クリニック",
        kind: FacilityKind::Clinic,
        status: Some(FacilityStatus::Active),
    },
    DemoFacility {
        code: "1332345675",
        name: "オンシ歯科医院",
        kind: FacilityKind::Dental,
        status: Some(FacilityStatus::Active),
    },
    DemoFacility {
        code: "1342345673",
        name: "オンシ薬局",
        kind: FacilityKind::Pharmacy,
        status: Some(FacilityStatus::Active),
    },
    DemoFacility {
        code: "1311000010",
        name: "オンシ総合病院",
        kind: FacilityKind::Hospital,
        status: Some(FacilityStatus::Active),
    },
    DemoFacility {
        code: "1319999999",
        name: "休止中クリニック",
        kind: FacilityKind::Clinic,
        status: Some(FacilityStatus::Suspended),
    },
    DemoFacility { code: "2712345673", name: "未登録クリニック", kind: FacilityKind::Clinic, status: None },
];

/// The allow-list entries of the demo facilities.
pub fn demo_allow_list() -> Vec<Facility> {
    DEMO_FACILITIES
        .iter()
        .filter_map(|f| {
            Some(Facility {
                code: MedicalInstitutionCode::parse(f.code, CheckDigits::Strict).ok()?,
                name: f.name.to_owned(),
                kind: f.kind,
                status: f.status?,
                certificate_sha256: None,
                check_digits: None,
            })
        })
        .collect()
}

/// The configuration `demo` serves with: dev PKI under `dir/pki`, store under `dir/db`.
pub fn demo_config(dir: &Path, persons: u64, listen: std::net::SocketAddr) -> Config {
    let pki = dir.join("pki");
    let mut c = Config { listen, data_dir: dir.join("db"), facilities: demo_allow_list(), ..Config::default() };
    c.population.persons = persons;
    c.tls.ca = Some(pki.join("ca.pem"));
    c.tls.cert = Some(pki.join("server.pem"));
    c.tls.key = Some(pki.join("server.key"));
    c
}

/// What to tell the user once the demo serves.
pub fn next_steps(
    dir: &Path,
    listen: std::net::SocketAddr,
    admin: Option<std::net::SocketAddr>,
    page: Option<std::net::SocketAddr>,
    exe: &str,
) -> String {
    let pki: PathBuf = dir.join("pki");
    let p = pki.display();
    let clinic = DEMO_FACILITIES[0].code;
    format!(
        r#"
onshi demo is serving on {listen} (mutual TLS; certificates in {p}).

Try (grpcurl uses server reflection, no .proto files needed):

  # A valid patient by insurance card numbers (scenario "valid")
  grpcurl -cacert {p}/ca.pem -cert {p}/{clinic}.pem -key {p}/{clinic}.key \
    -d '{{"qualification_confirm_search_info":{{"insurer_number":"01130012","insured_card_symbol":"90000001","insured_identification_number":"1","insured_branch_number":"00","birthdate":"19800115"}}}}' \
    localhost:{port} onshi.v1.QualificationService/ConfirmByInsuredNumber

  # The same patient at the card reader, consenting to share medication information
  grpcurl -cacert {p}/ca.pem -cert {p}/{clinic}.pem -key {p}/{clinic}.key \
    -d '{{"card_reader_info":{{"certificate_serial_number":"A0000000000000000001","verification_method":"1","pharmacists_info_cons_flg":"1"}}}}' \
    localhost:{port} onshi.v1.QualificationService/ConfirmByCard

  # Who else to ask about: every scenario person, or population people, as JSON lines
  {exe} people --scenarios
  {exe} people --from 0 --count 5

Facilities: {clinic} clinic, 1332345675 dental, 1342345673 pharmacy, 1311000010 hospital,
1319999999 suspended, 2712345673 not on the allow-list.
{admin_line}{page_line}
Stop with Ctrl-C.
"#,
        port = listen.port(),
        admin_line = match admin {
            Some(a) => format!(
                "The admin API (faults, journal, reset, people) is on {a}, plaintext, loopback only:\n  grpcurl -plaintext {a} describe onshi.v1.AdminService\n"
            ),
            None => String::new(),
        },
        page_line = match page {
            Some(a) => format!("admin page: http://{a}/ (metrics: http://{a}/metrics)\n"),
            None => String::new(),
        }
    )
}
