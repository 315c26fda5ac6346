//! `QualificationService`: single confirmations (by insured numbers, by card), and the tonic
//! shell that also serves 一括照会 ([`super::bulk`]), the confirmation stream ([`super::stream`])
//! and 照会番号 registration ([`super::reference`]).
//!
//! A card confirmation is: authorize the caller (connection identity + allow-list, lock-free),
//! validate the request, one point read of the serial (the value holds the person's
//! qualifications encoded ready to serve), pick the qualification in force on the confirmation
//! date, record the confirmation (for the fee additions, [`super::fees`]) and the consents given at
//! the reader (and any certificate disclosed) in one write, and
//! answer with the stored bytes plus the per-request fields appended — no decoding or re-encoding
//! of the stored result.

use std::pin::Pin;

use bytes::Bytes;
use futures_util::Stream;
use onshi_domain::codes::{
    ConsentKind, ProcessingResultStatus, QualificationValidity, ReferenceClassification, SegmentOfResult,
    VerificationMethod,
};
use onshi_domain::date::{Date, JstDateTime};
use onshi_domain::ids::{
    CertificateSerial, CheckDigits, InsuredBranchNumber, InsuredCardSymbol, InsuredIdentificationNumber, InsurerNumber,
};
use onshi_domain::qualification::{Span, card_choice};
use onshi_domain::result_codes::{ResultCode, ResultKey};
use onshi_proto::served::qualification_service_server::QualificationService;
use onshi_proto::served::{
    BulkConfirmDownloadRequest, BulkConfirmDownloadResponse, BulkConfirmUploadRequest, BulkConfirmUploadResponse,
    CardReaderInfo, ConfirmByCardRequest, ConfirmByInsuredNumberRequest, ConfirmStreamRequest, ConfirmStreamResponse,
    QualificationConfirmSearchInfo, QualificationConfirmationBody, QualificationConfirmationResponse,
    RegisterReferenceNumberRequest, RegisterReferenceNumberResponse, RegisterReferenceNumbersRequest,
    RegisterReferenceNumbersResponse, RequestHeader, ResultHeader,
};
use tonic::{Request, Response, Status, Streaming};

use super::App;
use super::convert::{self, ConsentFields, ConsentTimes};
use crate::auth::{Caller, check_request_facility};
use crate::errors::{ServiceError, Violations};
use crate::ops::confirm;
use crate::ops::records::CONSENT_WINDOW_SECS;
use onshi_store::values::{AccessRecord, CardValue, ConsentValue, QualificationRecord, ResultParts};
use onshi_store::{CardLookup, ChangeSet, ConfirmedBy, InsuredQuery, StoreError};

/// Free-text identifiers echoed back are bounded.
pub(crate) const MAX_FREE_TEXT_CHARS: usize = 64;

/// The validated request header.
pub(crate) struct Header {
    pub date: Date,
    pub arbitrary_file_identifier: String,
}

pub(crate) fn validate_header(
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

/// [`consent_flag`] for the field `prefix.name`, formatting the path only on error.
pub(crate) fn consent_flag_in(v: &mut Violations, prefix: &str, name: &str, value: &str) -> Option<bool> {
    match value {
        "" => None,
        "0" => Some(false),
        "1" => Some(true),
        _ => consent_flag(v, &format!("{prefix}.{name}"), value),
    }
}

/// A consent flag: "1" given, "0" or empty not.
pub(crate) fn consent_flag(v: &mut Violations, field: &str, value: &str) -> Option<bool> {
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

pub(crate) fn result_header(
    caller: &Caller,
    header: &Header,
    now: JstDateTime,
    classification: ReferenceClassification,
    segment: SegmentOfResult,
) -> ResultHeader {
    ResultHeader {
        process_execution_time: now.compact(),
        qualification_confirmation_date: header.date.yyyymmdd(),
        medical_institution_code: caller.code.as_str().to_owned(),
        arbitrary_file_identifier: header.arbitrary_file_identifier.clone(),
        reference_classification: classification.code().to_owned(),
        segment_of_result: segment.code().to_owned(),
        error_code: String::new(),
        error_message: String::new(),
        character_code_identifier: "0".to_owned(),
    }
}

fn response(
    caller: &Caller,
    header: &Header,
    now: JstDateTime,
    classification: ReferenceClassification,
    body: QualificationConfirmationBody,
) -> QualificationConfirmationResponse {
    QualificationConfirmationResponse {
        message_header: Some(result_header(caller, header, now, classification, SegmentOfResult::Done)),
        message_body: Some(body),
    }
}

pub(crate) fn body(
    status: ProcessingResultStatus,
    code: Option<&ResultCode>,
    validity: Option<QualificationValidity>,
    results: Vec<Bytes>,
) -> QualificationConfirmationBody {
    QualificationConfirmationBody {
        processing_result_status: status.code().to_owned(),
        processing_result_code: code.map(|c| c.code.clone()).unwrap_or_default(),
        processing_result_message: code.map(|c| c.message.clone()).unwrap_or_default(),
        qualification_validity: validity.map(|v| v.code().to_owned()).unwrap_or_default(),
        result_list: results,
    }
}

fn error_body(code: &ResultCode) -> QualificationConfirmationBody {
    body(code.status, Some(code), Some(QualificationValidity::NotFound), Vec::new())
}

/// The stored result with the consent-gated parts the patient agreed to and the per-request
/// fields appended (appending encoded fields merges them into the same message).
fn assemble(
    parts: ResultParts<'_>,
    show_limit: bool,
    show_diseases: bool,
    consents: &ConsentFields,
    reference_number: &str,
) -> Bytes {
    let limit: &[u8] = if show_limit { parts.limit } else { &[] };
    let diseases: &[u8] = if show_diseases { parts.diseases } else { &[] };
    let mut out = onshi_store::values::concat_with_capacity(
        &[parts.base, limit, diseases],
        convert::REQUEST_FIELDS_CAPACITY + reference_number.len(),
    );
    convert::encode_request_fields(consents, reference_number, &mut out);
    out.freeze()
}

/// The fields of an insured-number search, wherever they come from.
pub(crate) struct SearchFields<'a> {
    pub insurer_number: &'a str,
    pub insured_card_symbol: &'a str,
    pub insured_identification_number: &'a str,
    pub insured_branch_number: &'a str,
    pub birthdate: &'a str,
}

impl<'a> From<&'a QualificationConfirmSearchInfo> for SearchFields<'a> {
    fn from(s: &'a QualificationConfirmSearchInfo) -> Self {
        SearchFields {
            insurer_number: &s.insurer_number,
            insured_card_symbol: &s.insured_card_symbol,
            insured_identification_number: &s.insured_identification_number,
            insured_branch_number: &s.insured_branch_number,
            birthdate: &s.birthdate,
        }
    }
}

/// Validates an insured-number search; every bad field is recorded under `path`.
pub(crate) fn parse_search(
    check_digits: CheckDigits,
    s: SearchFields<'_>,
    path: &str,
    v: &mut Violations,
) -> Option<(InsuredQuery, Date)> {
    let insurer = v.check_in(path, "insurer_number", InsurerNumber::parse(s.insurer_number, check_digits));
    let symbol = v.check_in(path, "insured_card_symbol", InsuredCardSymbol::parse(s.insured_card_symbol));
    let number = v.check_in(
        path,
        "insured_identification_number",
        InsuredIdentificationNumber::parse(s.insured_identification_number),
    );
    let branch =
        v.check_in(path, "insured_branch_number", InsuredBranchNumber::parse_optional(s.insured_branch_number));
    let birthdate = v.check_in(path, "birthdate", Date::parse_yyyymmdd(s.birthdate));
    let birthdate = birthdate?;
    Some((InsuredQuery { insurer: insurer?, symbol: symbol?, number: number?, birthdate, branch: branch? }, birthdate))
}

/// What an insured-number confirmation asks besides the numbers.
#[derive(Debug, Clone, Copy)]
pub(crate) struct InsuredAsk {
    /// The limit-certificate consent flag.
    pub limit_consent: Option<bool>,
    /// Whether the confirmation is a fact for the fee additions (a single confirmation is; a
    /// 一括照会 unit, a check ahead of the visit, is not).
    pub record_confirmation: bool,
}

impl App {
    /// The body of an insured-number confirmation for a validated query.
    pub(crate) fn insured_body(
        &self,
        caller: &Caller,
        now: JstDateTime,
        date: Date,
        query: &InsuredQuery,
        ask: InsuredAsk,
        changes: &mut ChangeSet,
    ) -> Result<QualificationConfirmationBody, ServiceError> {
        let InsuredAsk { limit_consent, record_confirmation } = ask;
        let stored = confirm::lookup(&self.store.get(), query)?;
        let mut matches = Vec::with_capacity(stored.len());
        for bytes in &stored {
            let record = QualificationRecord::decode(bytes).map_err(StoreError::from)?;
            if let Some(validity) = record.span.validity_on(date) {
                matches.push((record, validity));
            }
        }
        // A confirmation of one person is a fact the fee additions count (several people
        // matching identify nobody).
        if record_confirmation
            && let Some((first, _)) = matches.first()
            && matches.iter().all(|(r, _)| r.person == first.person)
        {
            changes.confirmation(
                &caller.code,
                now.date(),
                first.person,
                ConfirmedBy::InsuredNumbers,
                now.unix_seconds(),
            );
        }
        let mut consents = ConsentFields::default();
        if let Some(given) = limit_consent {
            consents.set(ConsentKind::LimitCertificate, ConsentTimes { given, at: now, until: now });
        }
        let show_limit = limit_consent == Some(true);
        let validity = match matches.as_slice() {
            [] => QualificationValidity::NotFound,
            [(_, one)] => *one,
            _ => QualificationValidity::SeveralMatch,
        };
        let mut results = Vec::with_capacity(matches.len());
        for (record, _) in &matches {
            let reference = self.store.get().reference_number(&caller.code, record.person)?.unwrap_or_default();
            if show_limit && !record.parts.limit.is_empty() {
                changes.access(
                    record.person,
                    self.access_record(caller, now, "limit_application_certificate", now, now, ""),
                );
            }
            results.push(assemble(record.parts, show_limit, false, &consents, &reference));
        }
        Ok(body(ProcessingResultStatus::Success, None, Some(validity), results))
    }

    /// A disclosure record for the access history.
    pub(crate) fn access_record(
        &self,
        caller: &Caller,
        now: JstDateTime,
        kind: &str,
        consent_at: JstDateTime,
        consent_until: JstDateTime,
        detail: &str,
    ) -> AccessRecord {
        AccessRecord {
            at: now.unix_seconds(),
            facility_code: caller.code.as_str().to_owned(),
            facility_name: self.allow_list.with(&caller.code, |f| f.map(|f| f.name.clone()).unwrap_or_default()),
            kind: kind.to_owned(),
            consent_given_at: consent_at.unix_seconds(),
            consent_available_until: consent_until.unix_seconds(),
            detail: detail.to_owned(),
            // Set by the store as it appends the record to the person's chain.
            seq: 0,
            chain: String::new(),
        }
    }

    pub(crate) fn confirm_insured(
        &self,
        caller: &Caller,
        now: JstDateTime,
        req: &ConfirmByInsuredNumberRequest,
    ) -> Result<QualificationConfirmationResponse, ServiceError> {
        let mut v = Violations::default();
        let header = validate_header(caller, req.message_header.as_ref(), now, &mut v)?;
        const P: &str = "qualification_confirm_search_info";
        let empty = QualificationConfirmSearchInfo::default();
        let s = req.qualification_confirm_search_info.as_ref().unwrap_or(&empty);
        let query = parse_search(caller.check_digits, s.into(), P, &mut v);
        let limit_consent = consent_flag(
            &mut v,
            "qualification_confirm_search_info.limit_application_certificate_related_cons_flg",
            &s.limit_application_certificate_related_cons_flg,
        );
        if s.arbitrary_identifier.chars().count() > MAX_FREE_TEXT_CHARS {
            v.add(&format!("{P}.arbitrary_identifier"), format!("must be at most {MAX_FREE_TEXT_CHARS} characters"));
        }
        if req.qualification_confirm_search_info.is_none() {
            v.add(P, "is required");
        }
        let (query, _) = v.finish_with(query)?;
        let mut changes = ChangeSet::default();
        let body = self.insured_body(
            caller,
            now,
            header.date,
            &query,
            InsuredAsk { limit_consent, record_confirmation: true },
            &mut changes,
        )?;
        self.store.get().commit(changes)?;
        Ok(response(caller, &header, now, ReferenceClassification::InsuredNumber, body))
    }

    pub(crate) fn confirm_card(
        &self,
        caller: &Caller,
        now: JstDateTime,
        req: &ConfirmByCardRequest,
    ) -> Result<QualificationConfirmationResponse, ServiceError> {
        let mut v = Violations::default();
        let header = validate_header(caller, req.message_header.as_ref(), now, &mut v)?;
        let empty = CardReaderInfo::default();
        let r = req.card_reader_info.as_ref().unwrap_or(&empty);
        const P: &str = "card_reader_info";
        let serial = v.check_in(P, "certificate_serial_number", CertificateSerial::parse(&r.certificate_serial_number));
        if VerificationMethod::from_code(&r.verification_method).is_none() {
            v.add(&format!("{P}.verification_method"), "must be \"1\" (face), \"2\" (PIN) or \"3\" (visual check)");
        }
        let mut flag = |name: &str, value: &str| consent_flag_in(&mut v, P, name, value);
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
        let serial = v.finish_with(serial)?;

        let answer = |b| response(caller, &header, now, ReferenceClassification::Card, b);
        let store = self.store.get();
        let value = match store.card(&serial)? {
            CardLookup::Active(value) => value,
            CardLookup::Revoked(_) => return Ok(answer(error_body(self.codes.get(ResultKey::CertificateRevoked)))),
            CardLookup::Unknown => return Ok(answer(error_body(self.codes.get(ResultKey::CertificateUnknown)))),
        };
        let card = CardValue::decode(&value).map_err(StoreError::from)?;
        if header.date > card.expires {
            return Ok(answer(error_body(self.codes.get(ResultKey::CertificateExpired))));
        }
        let notice = header
            .date
            .add_months(3)
            .filter(|d| card.expires <= *d)
            .map(|_| self.codes.get(ResultKey::CertificateExpiresSoon));
        let status = notice.map_or(ProcessingResultStatus::Success, |n| n.status);

        let mut records = Vec::with_capacity(card.records.len());
        for bytes in &card.records {
            records.push(QualificationRecord::decode(bytes).map_err(StoreError::from)?);
        }
        // The confirmation itself is a fact the fee additions count, recorded (with the consents
        // below) before the answer goes out: one more put in the same batch, no read.
        let now_secs = now.unix_seconds();
        let mut changes = ChangeSet::default();
        changes.confirmation(&caller.code, now.date(), card.person, ConfirmedBy::Card, now_secs);
        let spans: Vec<Span> = records.iter().map(|r| r.span).collect();
        let Some((chosen_index, validity)) = card_choice(&spans, header.date) else {
            store.commit(changes)?;
            return Ok(answer(body(status, notice, Some(QualificationValidity::NotFound), Vec::new())));
        };

        // Record what the patient consented to (and any certificate it discloses) before
        // answering: an acknowledged consent is durable.
        let mut fields = ConsentFields::default();
        for (kind, given) in chosen {
            let Some(given) = given else { continue };
            let window = if kind.has_window() { CONSENT_WINDOW_SECS } else { 0 };
            let until = now.add_seconds(window).unwrap_or(now);
            fields.set(kind, ConsentTimes { given, at: now, until });
            if given {
                let value = ConsentValue { given_at: now_secs, available_until: now_secs + window };
                changes.consent(caller.code, card.person, kind, value);
            }
        }
        let parts = records[chosen_index].parts;
        let show_limit = fields.given(ConsentKind::LimitCertificate);
        let show_diseases = fields.given(ConsentKind::SpecificDiseasesCertificate);
        if show_limit && !parts.limit.is_empty() {
            changes.access(card.person, self.access_record(caller, now, "limit_application_certificate", now, now, ""));
        }
        if show_diseases && !parts.diseases.is_empty() {
            changes.access(card.person, self.access_record(caller, now, "specific_diseases_certificate", now, now, ""));
        }
        let reference = store.reference_number(&caller.code, card.person)?.unwrap_or_default();
        store.commit(changes)?;
        let result = assemble(parts, show_limit, show_diseases, &fields, &reference);
        Ok(answer(body(status, notice, Some(validity), vec![result])))
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
        self.0
            .unary("/onshi.v1.QualificationService/ConfirmByInsuredNumber", request, |app, caller, req| {
                app.confirm_insured(caller, app.clock.now(), req)
            })
            .await
    }

    async fn confirm_by_card(
        &self,
        request: Request<ConfirmByCardRequest>,
    ) -> Result<Response<QualificationConfirmationResponse>, Status> {
        self.0
            .unary("/onshi.v1.QualificationService/ConfirmByCard", request, |app, caller, req| {
                app.confirm_card(caller, app.clock.now(), req)
            })
            .await
    }

    async fn bulk_confirm_upload(
        &self,
        request: Request<BulkConfirmUploadRequest>,
    ) -> Result<Response<BulkConfirmUploadResponse>, Status> {
        // Up to 10,000 lookups: tell the runtime this worker is busy for a while.
        self.0
            .unary("/onshi.v1.QualificationService/BulkConfirmUpload", request, |app, caller, req| {
                tokio::task::block_in_place(|| app.bulk_upload(caller, req))
            })
            .await
    }

    async fn bulk_confirm_download(
        &self,
        request: Request<BulkConfirmDownloadRequest>,
    ) -> Result<Response<BulkConfirmDownloadResponse>, Status> {
        self.0
            .unary("/onshi.v1.QualificationService/BulkConfirmDownload", request, |app, caller, req| {
                app.bulk_download(caller, req)
            })
            .await
    }

    type ConfirmStreamStream = Pin<Box<dyn Stream<Item = Result<ConfirmStreamResponse, Status>> + Send + 'static>>;

    async fn confirm_stream(
        &self,
        request: Request<Streaming<ConfirmStreamRequest>>,
    ) -> Result<Response<Self::ConfirmStreamStream>, Status> {
        let (caller, permit) = self.0.admit_stream("/onshi.v1.QualificationService/ConfirmStream", &request).await?;
        Ok(Response::new(self.0.confirm_stream(caller, permit, request.into_inner())))
    }

    async fn register_reference_number(
        &self,
        request: Request<RegisterReferenceNumberRequest>,
    ) -> Result<Response<RegisterReferenceNumberResponse>, Status> {
        self.0
            .unary("/onshi.v1.QualificationService/RegisterReferenceNumber", request, |app, caller, req| {
                app.register_reference_number(caller, req)
            })
            .await
    }

    async fn register_reference_numbers(
        &self,
        request: Request<RegisterReferenceNumbersRequest>,
    ) -> Result<Response<RegisterReferenceNumbersResponse>, Status> {
        self.0
            .unary("/onshi.v1.QualificationService/RegisterReferenceNumbers", request, |app, caller, req| {
                app.register_reference_numbers(caller, req)
            })
            .await
    }
}
