//! MedicationService and CheckupService: medical information shown to a facility only while it
//! holds the patient's live consent of the right kind (given at the card reader; 24 hours for an
//! outpatient). Every answer is recorded in the patient's access history in the same write.

use onshi_domain::codes::{ConsentKind, ProcessingResultStatus, ReferenceClassification, SegmentOfResult};
use onshi_domain::date::{Date, JstDateTime};
use onshi_domain::medical::{checkups, medication};
use onshi_domain::qualification::PersonId;
use onshi_domain::result_codes::{ResultCode, ResultKey};
use onshi_proto::served::checkup_service_server::CheckupService;
use onshi_proto::served::medication_service_server::MedicationService;
use onshi_proto::served::{
    CheckupItem, DispensingInfo, DrugInfo, GetMedicationInfoRequest, GetMedicationInfoResponse,
    GetSpecificHealthCheckupInfoRequest, GetSpecificHealthCheckupInfoResponse, MedicationInfoBody,
    MonthlyMedicationInfo, PatientSearchInfo, SpecificHealthCheckupBody, SpecificHealthCheckupInfo,
};
use prost::Message;
use tonic::{Request, Response, Status};

use super::App;
use super::qualification::{SearchFields, parse_search, result_header, validate_header};
use crate::auth::Caller;
use crate::errors::{ServiceError, Violations};
use crate::ops::confirm::PersonMatch;
use onshi_store::values::ConsentValue;
use onshi_store::{ChangeSet, MedicalKind};

/// `YYYYMM` as the first day of that month.
fn parse_month(s: &str) -> Result<Date, String> {
    let b = s.as_bytes();
    if b.len() != 6 || !b.iter().all(u8::is_ascii_digit) {
        return Err(format!("expected 6 digits YYYYMM, got {:?}", s.chars().take(12).collect::<String>()));
    }
    Date::parse_yyyymmdd(&format!("{s}01")).map_err(|_| format!("{s:?} is not a month"))
}

fn last_day_of_month(first: Date) -> Date {
    first.first_of_next_month().and_then(Date::pred).unwrap_or(first)
}

/// A validated request for one person's medical information.
struct Subject {
    person: PersonId,
    birthdate: Date,
    /// Sex as registered (from the stored result), for the checkup constitution.
    male: bool,
}

enum Found {
    Subject(Subject),
    Refused(ResultCode),
}

impl App {
    fn find_subject(
        &self,
        caller: &Caller,
        s: &PatientSearchInfo,
        v: &mut Violations,
    ) -> Result<Option<Found>, ServiceError> {
        let fields = SearchFields {
            insurer_number: &s.insurer_number,
            insured_card_symbol: &s.insured_card_symbol,
            insured_identification_number: &s.insured_identification_number,
            insured_branch_number: &s.insured_branch_number,
            birthdate: &s.birthdate,
        };
        let Some((query, birthdate)) = parse_search(caller.check_digits, fields, "patient_search_info", v) else {
            return Ok(None);
        };
        Ok(Some(match crate::ops::confirm::resolve_person(&self.store.get(), &query)? {
            PersonMatch::None => Found::Refused(self.codes.get(ResultKey::NoMatch).clone()),
            PersonMatch::Several => Found::Refused(self.codes.get(ResultKey::SeveralMatch).clone()),
            PersonMatch::One(person, base) => {
                let sex1 = onshi_proto::v1::ResultOfQualificationConfirmation::decode(base.as_slice())
                    .map(|r| r.sex1)
                    .unwrap_or_default();
                Found::Subject(Subject { person, birthdate, male: sex1 == "1" })
            }
        }))
    }

    fn record_disclosure(
        &self,
        caller: &Caller,
        now: JstDateTime,
        person: PersonId,
        kind: ConsentKind,
        consent: ConsentValue,
        detail: &str,
    ) -> Result<(), ServiceError> {
        let at = |secs| JstDateTime::from_unix_seconds(secs).unwrap_or(now);
        let mut changes = ChangeSet::default();
        changes.access(
            person,
            self.access_record(caller, now, kind.api_name(), at(consent.given_at), at(consent.available_until), detail),
        );
        Ok(self.store.get().commit(changes)?)
    }

    fn medication_info(
        &self,
        caller: &Caller,
        req: &GetMedicationInfoRequest,
    ) -> Result<GetMedicationInfoResponse, ServiceError> {
        let now = self.clock.now();
        let mut v = Violations::default();
        let header = validate_header(caller, req.message_header.as_ref(), now, &mut v)?;
        let start = v.check("start_date", parse_month(&req.start_date));
        let end = if req.end_date.is_empty() {
            Some(now.date().first_of_month())
        } else {
            v.check("end_date", parse_month(&req.end_date))
        };
        if let (Some(s), Some(e)) = (start, end)
            && e < s
        {
            v.add("end_date", "must not be before start_date");
        }
        if req.patient_search_info.is_none() {
            v.add("patient_search_info", "is required");
        }
        let empty = PatientSearchInfo::default();
        let found = self.find_subject(caller, req.patient_search_info.as_ref().unwrap_or(&empty), &mut v)?;
        let all = || Some((found?, start?, end?));
        let (found, start, end) = v.finish_with(all())?;
        let message_header =
            Some(result_header(caller, &header, now, ReferenceClassification::InsuredNumber, SegmentOfResult::Done));
        let subject = match found {
            Found::Refused(code) => {
                return Ok(GetMedicationInfoResponse {
                    message_header,
                    message_body: Some(MedicationInfoBody {
                        processing_result_status: code.status.code().to_owned(),
                        processing_result_code: code.code.clone(),
                        processing_result_message: code.message.clone(),
                        monthly_medication_info: Vec::new(),
                    }),
                });
            }
            Found::Subject(s) => s,
        };
        let consent = crate::ops::records::live_consent(
            &self.store.get(),
            &caller.code,
            subject.person,
            ConsentKind::Pharmacists,
            now,
        )?;
        let records = medication::history(
            self.population_seed,
            subject.person,
            subject.birthdate,
            now.date(),
            start,
            last_day_of_month(end),
        );
        let mut infos: Vec<DispensingInfo> = records
            .into_iter()
            .map(|r| DispensingInfo {
                dispensing_date: r.date.yyyymmdd(),
                dispensing_medical_institution_code: r.pharmacy.code(),
                dispensing_medical_institution_name: r.pharmacy.name.to_owned(),
                prescribing_medical_institution_code: r.prescriber.code(),
                prescribing_medical_institution_name: r.prescriber.name.to_owned(),
                drug_info: r
                    .drugs
                    .iter()
                    .map(|l| DrugInfo {
                        drug_c: l.drug.code.to_owned(),
                        drug_n: l.drug.name.to_owned(),
                        qua1: l.quantity.to_string(),
                        unit: l.drug.unit.to_owned(),
                        usage_n: l.drug.usage.to_owned(),
                        times: l.days.to_string(),
                    })
                    .collect(),
            })
            .collect();
        // Records added through the admin API show at once (no claims lag).
        for bytes in
            self.store.get().medical_records(MedicalKind::Medication, subject.person, start, last_day_of_month(end))?
        {
            if let Ok(info) = DispensingInfo::decode(bytes.as_slice()) {
                infos.push(info);
            }
        }
        infos.sort_by(|a, b| a.dispensing_date.cmp(&b.dispensing_date));
        let mut months: Vec<MonthlyMedicationInfo> = Vec::new();
        for info in infos {
            let month = info.dispensing_date.get(..6).unwrap_or_default().to_owned();
            if months.last().is_none_or(|m| m.dispensing_month != month) {
                months.push(MonthlyMedicationInfo { dispensing_month: month, dispensing_info: Vec::new() });
            }
            if let Some(m) = months.last_mut() {
                m.dispensing_info.push(info);
            }
        }
        let detail = format!("{}-{}", &start.yyyymmdd()[..6], &end.yyyymmdd()[..6]);
        self.record_disclosure(caller, now, subject.person, ConsentKind::Pharmacists, consent, &detail)?;
        Ok(GetMedicationInfoResponse {
            message_header,
            message_body: Some(MedicationInfoBody {
                processing_result_status: ProcessingResultStatus::Success.code().to_owned(),
                processing_result_code: String::new(),
                processing_result_message: String::new(),
                monthly_medication_info: months,
            }),
        })
    }

    fn checkup_info(
        &self,
        caller: &Caller,
        req: &GetSpecificHealthCheckupInfoRequest,
    ) -> Result<GetSpecificHealthCheckupInfoResponse, ServiceError> {
        let now = self.clock.now();
        let mut v = Violations::default();
        let header = validate_header(caller, req.message_header.as_ref(), now, &mut v)?;
        if req.patient_search_info.is_none() {
            v.add("patient_search_info", "is required");
        }
        let empty = PatientSearchInfo::default();
        let found = self.find_subject(caller, req.patient_search_info.as_ref().unwrap_or(&empty), &mut v)?;
        let found = v.finish_with(found)?;
        let message_header =
            Some(result_header(caller, &header, now, ReferenceClassification::InsuredNumber, SegmentOfResult::Done));
        let subject = match found {
            Found::Refused(code) => {
                return Ok(GetSpecificHealthCheckupInfoResponse {
                    message_header,
                    message_body: Some(SpecificHealthCheckupBody {
                        processing_result_status: code.status.code().to_owned(),
                        processing_result_code: code.code.clone(),
                        processing_result_message: code.message.clone(),
                        specific_health_checkup_info: Vec::new(),
                    }),
                });
            }
            Found::Subject(s) => s,
        };
        let consent = crate::ops::records::live_consent(
            &self.store.get(),
            &caller.code,
            subject.person,
            ConsentKind::SpecificHealthCheckups,
            now,
        )?;
        let today = now.date();
        let from = today.add_years(-checkups::HISTORY_YEARS).unwrap_or(today);
        let mut list: Vec<SpecificHealthCheckupInfo> = checkups::history(
            self.population_seed,
            subject.person,
            subject.birthdate,
            subject.male,
            today,
            from,
            today,
        )
        .into_iter()
        .map(|c| SpecificHealthCheckupInfo {
            checkup_date: c.date.yyyymmdd(),
            checkup_institution_name: c.institution_name.to_owned(),
            checkup_item: c
                .items
                .into_iter()
                .map(|i| CheckupItem {
                    item_code: i.code.to_owned(),
                    item_name: i.name.to_owned(),
                    data_value: i.value,
                    unit: i.unit.to_owned(),
                })
                .collect(),
        })
        .collect();
        // Checkups added through the admin API show at once.
        for bytes in self.store.get().medical_records(MedicalKind::Checkup, subject.person, from, today)? {
            if let Ok(info) = SpecificHealthCheckupInfo::decode(bytes.as_slice()) {
                list.push(info);
            }
        }
        list.sort_by(|a, b| a.checkup_date.cmp(&b.checkup_date));
        self.record_disclosure(caller, now, subject.person, ConsentKind::SpecificHealthCheckups, consent, "")?;
        Ok(GetSpecificHealthCheckupInfoResponse {
            message_header,
            message_body: Some(SpecificHealthCheckupBody {
                processing_result_status: ProcessingResultStatus::Success.code().to_owned(),
                processing_result_code: String::new(),
                processing_result_message: String::new(),
                specific_health_checkup_info: list,
            }),
        })
    }
}

/// The tonic MedicationService.
#[derive(Debug, Clone)]
pub struct Medication(pub App);

#[tonic::async_trait]
impl MedicationService for Medication {
    async fn get_medication_info(
        &self,
        request: Request<GetMedicationInfoRequest>,
    ) -> Result<Response<GetMedicationInfoResponse>, Status> {
        self.0
            .unary("/onshi.v1.MedicationService/GetMedicationInfo", request, |app, caller, req| {
                app.medication_info(caller, req)
            })
            .await
    }
}

/// The tonic CheckupService.
#[derive(Debug, Clone)]
pub struct Checkup(pub App);

#[tonic::async_trait]
impl CheckupService for Checkup {
    async fn get_specific_health_checkup_info(
        &self,
        request: Request<GetSpecificHealthCheckupInfoRequest>,
    ) -> Result<Response<GetSpecificHealthCheckupInfoResponse>, Status> {
        self.0
            .unary("/onshi.v1.CheckupService/GetSpecificHealthCheckupInfo", request, |app, caller, req| {
                app.checkup_info(caller, req)
            })
            .await
    }
}
