//! `QualificationService`: ConfirmByInsuredNumber and ConfirmByCard.
//!
//! A card confirmation is: authorize the caller (connection identity + allow-list, lock-free),
//! validate the request, one point read of the serial (the value holds the person's
//! qualifications encoded ready to serve), pick the qualification in force on the confirmation
//! date, record the consents given at the reader in one write, and answer with the stored bytes
//! plus the per-request fields appended — no decoding or re-encoding of the stored result.

use bytes::Bytes;
use onshi_domain::codes::{
    ConsentKind, ProcessingResultStatus, QualificationValidity, ReferenceClassification, SegmentOfResult,
    VerificationMethod,
};
use onshi_domain::date::{Date, JstDateTime};
use onshi_domain::ids::{
    CertificateSerial, InsuredBranchNumber, InsuredCardSymbol, InsuredIdentificationNumber, InsurerNumber,
};
use onshi_domain::qualification::{Span, card_choice};
use onshi_domain::result_codes::{self, ResultCode};
use onshi_proto::served::qualification_service_server::QualificationService;
use onshi_proto::served::{
    ConfirmByCardRequest, ConfirmByInsuredNumberRequest, QualificationConfirmationBody,
    QualificationConfirmationResponse, RequestHeader, ResultHeader,
};
use tonic::{Request, Response, Status};

use super::App;
use super::convert::{self, ConsentFields, ConsentTimes};
use super::errors::{ServiceError, Violations};
use crate::auth::{Caller, check_request_facility};
use crate::store::values::{CardValue, ConsentValue, QualificationRecord, ResultParts};
use crate::store::{CardLookup, keys};

/// How long an outpatient consent to view medical information lasts.
pub const CONSENT_WINDOW_SECS: i64 = 24 * 3600;

/// The most results a several-match answer lists.
const MAX_MATCHES: usize = 16;

/// Free-text identifiers echoed back are bounded.
const MAX_FREE_TEXT_CHARS: usize = 64;

/// The validated request header.
struct Header {
    date: Date,
    arbitrary_file_identifier: String,
}

fn validate_header(
    caller: &Caller,
    header: Option<&RequestHeader>,
    now: JstDateTime,
    v: &mut Violations,
) -> Result<Header, ServiceError> {
    let empty = RequestHeader::default();
    let h = header.unwrap_or(&empty);
    check_request_facility(caller, &h.medical_institution_code)?;
    let date = if h.qualification_confirmation_date.is_empty() {
        Some(now.date())
    } else {
        v.check(
            "message_header.qualification_confirmation_date",
            Date::parse_yyyymmdd(&h.qualification_confirmation_date),
        )
    };
    if h.arbitrary_file_identifier.chars().count() > MAX_FREE_TEXT_CHARS {
        v.add("message_header.arbitrary_file_identifier", format!("must be at most {MAX_FREE_TEXT_CHARS} characters"));
    }
    Ok(Header { date: date.unwrap_or(now.date()), arbitrary_file_identifier: h.arbitrary_file_identifier.clone() })
}

/// A consent flag: "1" given, "0" or empty not.
fn consent_flag(v: &mut Violations, field: &str, value: &str) -> Option<bool> {
    match value {
        "" => None,
        "0" => Some(false),
        "1" => Some(true),
        _ => {
            v.add(field, format!("must be \"0\", \"1\" or empty; got {:?}", value.chars().take(8).collect::<String>()));
            None
        }
    }
}

fn response(
    app_caller: &Caller,
    header: &Header,
    now: JstDateTime,
    classification: ReferenceClassification,
    body: QualificationConfirmationBody,
) -> QualificationConfirmationResponse {
    QualificationConfirmationResponse {
        message_header: Some(ResultHeader {
            process_execution_time: now.compact(),
            qualification_confirmation_date: header.date.yyyymmdd(),
            medical_institution_code: app_caller.code.as_str().to_owned(),
            arbitrary_file_identifier: header.arbitrary_file_identifier.clone(),
            reference_classification: classification.code().to_owned(),
            segment_of_result: SegmentOfResult::Done.code().to_owned(),
            error_code: String::new(),
            error_message: String::new(),
            character_code_identifier: "0".to_owned(),
        }),
        message_body: Some(body),
    }
}

fn body(
    status: ProcessingResultStatus,
    code: Option<ResultCode>,
    validity: QualificationValidity,
    results: Vec<Bytes>,
) -> QualificationConfirmationBody {
    QualificationConfirmationBody {
        processing_result_status: status.code().to_owned(),
        processing_result_code: code.map(|c| c.code.to_owned()).unwrap_or_default(),
        processing_result_message: code.map(|c| c.message.to_owned()).unwrap_or_default(),
        qualification_validity: validity.code().to_owned(),
        result_list: results,
    }
}

fn error_body(code: ResultCode) -> QualificationConfirmationBody {
    body(code.status, Some(code), QualificationValidity::NotFound, Vec::new())
}

/// The stored result with the consent-gated parts the patient agreed to and the per-request
/// fields appended (appending encoded fields merges them into the same message).
fn assemble(parts: ResultParts<'_>, show_limit: bool, show_diseases: bool, consents: &ConsentFields) -> Bytes {
    let limit: &[u8] = if show_limit { parts.limit } else { &[] };
    let diseases: &[u8] = if show_diseases { parts.diseases } else { &[] };
    let mut out =
        crate::store::values::concat_with_capacity(&[parts.base, limit, diseases], convert::REQUEST_FIELDS_CAPACITY);
    convert::encode_request_fields(consents, "", &mut out);
    out.freeze()
}

impl App {
    async fn confirm_by_insured_number(
        &self,
        request: Request<ConfirmByInsuredNumberRequest>,
    ) -> Result<QualificationConfirmationResponse, ServiceError> {
        let caller = self.caller(&request)?;
        let now = self.clock.now();
        let req = request.into_inner();
        let mut v = Violations::default();
        let header = validate_header(&caller, req.message_header.as_ref(), now, &mut v)?;
        let empty = Default::default();
        let s = req.qualification_confirm_search_info.as_ref().unwrap_or(&empty);
        const P: &str = "qualification_confirm_search_info";
        let insurer =
            v.check(&format!("{P}.insurer_number"), InsurerNumber::parse(&s.insurer_number, caller.check_digits));
        let symbol = v.check(&format!("{P}.insured_card_symbol"), InsuredCardSymbol::parse(&s.insured_card_symbol));
        let number = v.check(
            &format!("{P}.insured_identification_number"),
            InsuredIdentificationNumber::parse(&s.insured_identification_number),
        );
        let branch = v.check(
            &format!("{P}.insured_branch_number"),
            InsuredBranchNumber::parse_optional(&s.insured_branch_number),
        );
        let birthdate = v.check(&format!("{P}.birthdate"), Date::parse_yyyymmdd(&s.birthdate));
        let limit_consent = consent_flag(
            &mut v,
            &format!("{P}.limit_application_certificate_related_cons_flg"),
            &s.limit_application_certificate_related_cons_flg,
        );
        if s.arbitrary_identifier.chars().count() > MAX_FREE_TEXT_CHARS {
            v.add(&format!("{P}.arbitrary_identifier"), format!("must be at most {MAX_FREE_TEXT_CHARS} characters"));
        }
        if req.qualification_confirm_search_info.is_none() {
            v.add(P, "is required");
        }
        v.finish()?;
        let (Some(insurer), Some(symbol), Some(number), Some(branch), Some(birthdate)) =
            (insurer, symbol, number, branch, birthdate)
        else {
            // Unreachable: every None above recorded a violation.
            return Err(ServiceError::BadRequest(vec![(P.to_owned(), "is invalid".to_owned())]));
        };

        let prefix = keys::insured_prefix(&insurer, &symbol, &number, birthdate);
        let stored = self.store.insured(&prefix, branch, MAX_MATCHES)?;
        let mut matches = Vec::with_capacity(stored.len());
        for bytes in &stored {
            let record = QualificationRecord::decode(bytes).map_err(crate::store::StoreError::from)?;
            if let Some(validity) = record.span.validity_on(header.date) {
                matches.push((record, validity));
            }
        }
        let consents = ConsentFields {
            limit_certificate: limit_consent.map(|given| ConsentTimes { given, at: now, until: now }),
            ..Default::default()
        };
        let show_limit = limit_consent == Some(true);
        let validity = match matches.as_slice() {
            [] => QualificationValidity::NotFound,
            [(_, one)] => *one,
            _ => QualificationValidity::SeveralMatch,
        };
        let results = matches.iter().map(|(r, _)| assemble(r.parts, show_limit, false, &consents)).collect();
        let body = body(ProcessingResultStatus::Success, None, validity, results);
        Ok(response(&caller, &header, now, ReferenceClassification::InsuredNumber, body))
    }

    async fn confirm_by_card(
        &self,
        request: Request<ConfirmByCardRequest>,
    ) -> Result<QualificationConfirmationResponse, ServiceError> {
        let caller = self.caller(&request)?;
        let now = self.clock.now();
        let req = request.into_inner();
        let mut v = Violations::default();
        let header = validate_header(&caller, req.message_header.as_ref(), now, &mut v)?;
        let empty = Default::default();
        let r = req.card_reader_info.as_ref().unwrap_or(&empty);
        const P: &str = "card_reader_info";
        let serial =
            v.check(&format!("{P}.certificate_serial_number"), CertificateSerial::parse(&r.certificate_serial_number));
        if VerificationMethod::from_code(&r.verification_method).is_none() {
            v.add(&format!("{P}.verification_method"), "must be \"1\" (face), \"2\" (PIN) or \"3\" (visual check)");
        }
        let mut flag = |name: &str, value: &str| consent_flag(&mut v, &format!("{P}.{name}"), value);
        let chosen = [
            (
                ConsentKind::SpecificHealthCheckups,
                flag("specific_health_checkups_info_cons_flg", &r.specific_health_checkups_info_cons_flg),
            ),
            (ConsentKind::Pharmacists, flag("pharmacists_info_cons_flg", &r.pharmacists_info_cons_flg)),
            (ConsentKind::Diagnosis, flag("diagnosis_info_cons_flg", &r.diagnosis_info_cons_flg)),
            (ConsentKind::Operation, flag("operation_info_cons_flg", &r.operation_info_cons_flg)),
            (
                ConsentKind::LimitCertificate,
                flag(
                    "limit_application_certificate_related_cons_flg",
                    &r.limit_application_certificate_related_cons_flg,
                ),
            ),
            (
                ConsentKind::SpecificDiseasesCertificate,
                flag(
                    "specific_diseases_certificate_related_cons_flg",
                    &r.specific_diseases_certificate_related_cons_flg,
                ),
            ),
        ];
        if req.card_reader_info.is_none() {
            v.add(P, "is required");
        }
        v.finish()?;
        let Some(serial) = serial else {
            return Err(ServiceError::BadRequest(vec![(P.to_owned(), "is invalid".to_owned())]));
        };

        let answer = |b| response(&caller, &header, now, ReferenceClassification::Card, b);
        let value = match self.store.card(&serial)? {
            CardLookup::Active(value) => value,
            CardLookup::Revoked(_) => return Ok(answer(error_body(result_codes::CERTIFICATE_REVOKED))),
            CardLookup::Unknown => return Ok(answer(error_body(result_codes::CERTIFICATE_UNKNOWN))),
        };
        let card = CardValue::decode(&value).map_err(crate::store::StoreError::from)?;
        if header.date > card.expires {
            return Ok(answer(error_body(result_codes::CERTIFICATE_EXPIRED)));
        }
        let notice =
            header.date.add_months(3).filter(|d| card.expires <= *d).map(|_| result_codes::CERTIFICATE_EXPIRES_SOON);

        let mut records = Vec::with_capacity(card.records.len());
        for bytes in &card.records {
            records.push(QualificationRecord::decode(bytes).map_err(crate::store::StoreError::from)?);
        }
        let spans: Vec<Span> = records.iter().map(|r| r.span).collect();
        let Some((chosen_index, validity)) = card_choice(&spans, header.date) else {
            let status = notice.map_or(ProcessingResultStatus::Success, |n| n.status);
            return Ok(answer(body(status, notice, QualificationValidity::NotFound, Vec::new())));
        };

        // Record what the patient consented to, before answering: an acknowledged consent is
        // durable.
        let now_secs = now.unix_seconds();
        let mut to_record = Vec::new();
        let mut fields = ConsentFields::default();
        for (kind, given) in chosen {
            let Some(given) = given else { continue };
            let until_secs = if kind.has_window() { now_secs + CONSENT_WINDOW_SECS } else { now_secs };
            let until = now.add_seconds(until_secs - now_secs).unwrap_or(now);
            let times = Some(ConsentTimes { given, at: now, until });
            match kind {
                ConsentKind::SpecificHealthCheckups => fields.specific_health_checkups = times,
                ConsentKind::Pharmacists => fields.pharmacists = times,
                ConsentKind::Diagnosis => fields.diagnosis = times,
                ConsentKind::Operation => fields.operation = times,
                ConsentKind::LimitCertificate => fields.limit_certificate = times,
                ConsentKind::SpecificDiseasesCertificate => fields.specific_diseases = times,
            }
            if given {
                to_record.push((kind, ConsentValue { given_at: now_secs, available_until: until_secs }));
            }
        }
        self.store.record_consents(&caller.code, card.person, &to_record)?;

        let show_limit = fields.limit_certificate.is_some_and(|t| t.given);
        let show_diseases = fields.specific_diseases.is_some_and(|t| t.given);
        let result = assemble(records[chosen_index].parts, show_limit, show_diseases, &fields);
        let status = notice.map_or(ProcessingResultStatus::Success, |n| n.status);
        Ok(answer(body(status, notice, validity, vec![result])))
    }
}

/// The tonic service; a thin shell over [`App`].
#[derive(Debug, Clone)]
pub struct Qualification(pub App);

#[tonic::async_trait]
impl QualificationService for Qualification {
    async fn confirm_by_insured_number(
        &self,
        request: Request<ConfirmByInsuredNumberRequest>,
    ) -> Result<Response<QualificationConfirmationResponse>, Status> {
        Ok(Response::new(self.0.confirm_by_insured_number(request).await?))
    }

    async fn confirm_by_card(
        &self,
        request: Request<ConfirmByCardRequest>,
    ) -> Result<Response<QualificationConfirmationResponse>, Status> {
        Ok(Response::new(self.0.confirm_by_card(request).await?))
    }
}
