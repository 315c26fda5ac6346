//! Medication and checkups of a patient who consented at the reader: the dispensing of the last
//! three years in month groups with their drugs, and the checkups as a table and as charts over
//! the years (BMI, blood pressure, HbA1c, LDL) drawn as SVG on the server. Without consent the
//! page shows the system's refusal, as the real screen does.

use std::sync::Arc;

use askama::Template;
use axum::extract::{Query, State};
use axum::response::Response;
use onshi_domain::ids::{CheckDigits, InsurerNumber};
use onshi_proto::v1::{
    GetMedicationInfoRequest, GetSpecificHealthCheckupInfoRequest, MonthlyMedicationInfo, PatientSearchInfo,
    RequestHeader, SpecificHealthCheckupInfo,
};

use super::Screen;
use super::chart::{self, Series};
use super::page::{Chrome, refusal, render};
use super::search::FieldError;

/// The patient, as the form and the links carry it.
#[derive(Debug, Clone, Default, serde::Deserialize)]
pub struct Patient {
    #[serde(default)]
    pub insurer: String,
    #[serde(default)]
    pub symbol: String,
    #[serde(default)]
    pub number: String,
    #[serde(default)]
    pub branch: String,
    #[serde(default)]
    pub birthdate: String,
}

fn encode(s: &str) -> String {
    let mut out = String::new();
    for b in s.trim().bytes() {
        if b.is_ascii_alphanumeric() || b == b'-' || b == b'_' {
            out.push(b as char);
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

/// The page's address for a patient.
pub fn link(insurer: &str, symbol: &str, number: &str, branch: &str, birthdate: &str) -> String {
    format!(
        "/medical?insurer={}&symbol={}&number={}&branch={}&birthdate={}",
        encode(insurer),
        encode(symbol),
        encode(number),
        encode(branch),
        encode(birthdate)
    )
}

/// The page's address for the patient of a `ResultOfQualificationConfirmation`, when the
/// patient consented to show medication or checkups.
pub fn link_of(r: &crate::xml_in::Element) -> Option<String> {
    let consented = r.text_of("PharmacistsInfoConsFlg") == "1" || r.text_of("SpecificHealthCheckupsInfoConsFlg") == "1";
    consented.then(|| {
        link(
            r.text_of("InsurerNumber"),
            r.text_of("InsuredCardSymbol"),
            r.text_of("InsuredIdentificationNumber"),
            r.text_of("InsuredBranchNumber"),
            r.text_of("Birthdate"),
        )
    })
}

impl Patient {
    fn is_empty(&self) -> bool {
        self.insurer.trim().is_empty() && self.number.trim().is_empty() && self.birthdate.trim().is_empty()
    }

    fn check(&self) -> Vec<FieldError> {
        let mut e = Vec::new();
        if let Err(err) = InsurerNumber::parse(self.insurer.trim(), CheckDigits::Strict) {
            e.push(FieldError {
                field: "insurer", message: format!("保険者番号は6桁または8桁の数字です: {err}")
            });
        }
        if self.number.trim().is_empty() {
            e.push(FieldError { field: "number", message: "被保険者証番号を入力してください".into() });
        }
        let b = self.birthdate.trim();
        if onshi_domain::date::Date::parse_yyyymmdd(b).is_err() {
            e.push(FieldError {
                field: "birthdate", message: "生年月日は YYYYMMDD（例 19800115）です".into()
            });
        }
        e
    }

    fn search(&self) -> PatientSearchInfo {
        PatientSearchInfo {
            insurer_number: self.insurer.trim().to_owned(),
            insured_card_symbol: self.symbol.trim().to_owned(),
            insured_identification_number: self.number.trim().to_owned(),
            insured_branch_number: self.branch.trim().to_owned(),
            birthdate: self.birthdate.trim().to_owned(),
        }
    }
}

/// One checkup item over the years: a table row.
pub struct ItemRow {
    pub name: String,
    pub unit: String,
    /// One cell per checkup, in the table's column order.
    pub values: Vec<String>,
}

#[derive(Template)]
#[template(path = "medical.html")]
pub struct MedicalPage {
    pub chrome: Chrome,
    pub patient: Patient,
    pub errors: Vec<FieldError>,
    pub asked: bool,
    pub name: String,
    pub medication_refused: Option<String>,
    pub months: Vec<MonthlyMedicationInfo>,
    pub checkups_refused: Option<String>,
    /// (date, institution) per checkup, oldest first.
    pub checkup_columns: Vec<(String, String)>,
    pub items: Vec<ItemRow>,
    pub charts: Vec<String>,
    /// Today's consented patients, for a quick pick: (name, link).
    pub consented: Vec<(String, String)>,
}

impl MedicalPage {
    pub fn error(&self, field: &str) -> Option<&str> {
        self.errors.iter().find(|e| e.field == field).map(|e| e.message.as_str())
    }
}

/// The JLAC10 codes of the charted items (as the domain's checkups carry them).
const BMI: &str = "9N011000000000001";
const SYSTOLIC: &str = "9A751000000000001";
const DIASTOLIC: &str = "9A761000000000001";
const HBA1C: &str = "3D046000001906202";
const LDL: &str = "3F077000002327101";

fn series(checkups: &[SpecificHealthCheckupInfo], code: &str, name: &str) -> Series {
    Series {
        name: name.to_owned(),
        points: checkups
            .iter()
            .filter_map(|c| {
                let item = c.checkup_item.iter().find(|i| i.item_code == code)?;
                let v: f64 = item.data_value.trim().parse().ok()?;
                Some((c.checkup_date.get(..4).unwrap_or(&c.checkup_date).to_owned(), v))
            })
            .collect(),
    }
}

fn charts(checkups: &[SpecificHealthCheckupInfo]) -> Vec<String> {
    let mut out = Vec::new();
    let plot = |title: &str, unit: &str, s: Vec<Series>| {
        s.iter().any(|s| !s.points.is_empty()).then(|| chart::line(title, unit, &s))
    };
    out.extend(plot("BMI", "kg/m2", vec![series(checkups, BMI, "BMI")]));
    out.extend(plot("血圧", "mmHg", vec![series(checkups, SYSTOLIC, "収縮期"), series(checkups, DIASTOLIC, "拡張期")]));
    out.extend(plot("HbA1c", "%", vec![series(checkups, HBA1C, "HbA1c")]));
    out.extend(plot("LDLコレステロール", "mg/dl", vec![series(checkups, LDL, "LDL")]));
    out
}

fn item_rows(checkups: &[SpecificHealthCheckupInfo]) -> Vec<ItemRow> {
    let mut rows: Vec<(String, ItemRow)> = Vec::new();
    for (col, c) in checkups.iter().enumerate() {
        for item in &c.checkup_item {
            let at = match rows.iter().position(|(code, _)| *code == item.item_code) {
                Some(i) => i,
                None => {
                    rows.push((
                        item.item_code.clone(),
                        ItemRow {
                            name: item.item_name.clone(),
                            unit: item.unit.clone(),
                            values: vec![String::new(); checkups.len()],
                        },
                    ));
                    rows.len() - 1
                }
            };
            rows[at].1.values[col] = item.data_value.clone();
        }
    }
    rows.into_iter().map(|(_, r)| r).collect()
}

/// The month `n` months before the date `yyyymmdd`, as YYYYMM.
pub fn months_back(yyyymmdd: &str, n: u32) -> String {
    let y: u32 = yyyymmdd.get(..4).and_then(|s| s.parse().ok()).unwrap_or(2000);
    let m: u32 = yyyymmdd.get(4..6).and_then(|s| s.parse().ok()).unwrap_or(1);
    let total = (y * 12 + m - 1).saturating_sub(n);
    format!("{:04}{:02}", total / 12, total % 12 + 1)
}

pub async fn page(State(screen): State<Arc<Screen>>, Query(patient): Query<Patient>) -> Response {
    let consented: Vec<(String, String)> = {
        let mut seen = std::collections::HashSet::new();
        screen
            .journal
            .today()
            .iter()
            .flat_map(|e| {
                e.results()
                    .into_iter()
                    .filter_map(|r| link_of(r).map(|l| (r.text_of("Name").to_owned(), l)))
                    .collect::<Vec<_>>()
            })
            .filter(|(_, l)| seen.insert(l.clone()))
            .collect()
    };
    let mut page = MedicalPage {
        chrome: Chrome::new(&screen.ctx.facility, "/medical", "薬剤・健診情報"),
        asked: !patient.is_empty(),
        errors: Vec::new(),
        patient,
        name: String::new(),
        medication_refused: None,
        months: Vec::new(),
        checkups_refused: None,
        checkup_columns: Vec::new(),
        items: Vec::new(),
        charts: Vec::new(),
        consented,
    };
    if !page.asked {
        return render(&page);
    }
    page.errors = page.patient.check();
    if !page.errors.is_empty() {
        return render(&page);
    }
    let header = RequestHeader {
        qualification_confirmation_date: screen.today().yyyymmdd(),
        medical_institution_code: screen.ctx.facility.clone(),
        arbitrary_file_identifier: String::new(),
    };
    let start = months_back(&screen.today().yyyymmdd(), 35);
    let med_request = GetMedicationInfoRequest {
        message_header: Some(header.clone()),
        patient_search_info: Some(page.patient.search()),
        start_date: start,
        end_date: String::new(),
    };
    let chk_request = GetSpecificHealthCheckupInfoRequest {
        message_header: Some(header),
        patient_search_info: Some(page.patient.search()),
    };
    let (mut med, mut chk) = (screen.ctx.medication(), screen.ctx.checkup());
    let (med, chk) =
        tokio::join!(med.get_medication_info(med_request), chk.get_specific_health_checkup_info(chk_request));
    match med {
        Ok(r) => {
            let b = r.into_inner().message_body.unwrap_or_default();
            if b.processing_result_status == "1" {
                page.months = b.monthly_medication_info;
                page.months.reverse();
            } else {
                page.medication_refused = Some(format!("{} {}", b.processing_result_code, b.processing_result_message));
            }
        }
        Err(status) => page.medication_refused = Some(refusal(&status)),
    }
    match chk {
        Ok(r) => {
            let b = r.into_inner().message_body.unwrap_or_default();
            if b.processing_result_status == "1" {
                let mut checkups = b.specific_health_checkup_info;
                checkups.sort_by(|a, b| a.checkup_date.cmp(&b.checkup_date));
                page.checkup_columns =
                    checkups.iter().map(|c| (c.checkup_date.clone(), c.checkup_institution_name.clone())).collect();
                page.items = item_rows(&checkups);
                page.charts = charts(&checkups);
            } else {
                page.checkups_refused = Some(format!("{} {}", b.processing_result_code, b.processing_result_message));
            }
        }
        Err(status) => page.checkups_refused = Some(refusal(&status)),
    }
    page.name = screen
        .ctx
        .patients
        .find(&page.patient.insurer, &page.patient.symbol, &page.patient.number, &page.patient.branch)
        .map(|p| p.name)
        .unwrap_or_default();
    render(&page)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn months_back_cross_years() {
        assert_eq!(months_back("20261201", 35), "202401");
        assert_eq!(months_back("20260115", 1), "202512");
        assert_eq!(months_back("20260115", 0), "202601");
    }

    #[test]
    fn links_escape_what_a_query_cannot_hold() {
        assert_eq!(
            link("131045", "あ", "1", "", "19800115"),
            "/medical?insurer=131045&symbol=%E3%81%82&number=1&branch=&birthdate=19800115"
        );
    }
}
