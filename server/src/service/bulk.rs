//! 一括照会: a facility uploads many search infos (reserved patients, the day before) and gets a
//! reception number; downloads answer "processing" (SegmentOfResult 2) until the job is ready,
//! then one unit per search info with the counts.
//!
//! The lookups run at upload time and the finished job is written in the same write that
//! acknowledges the upload, so a job survives a restart. The job becomes visible after the
//! configured processing time on the server's clock, so clients exercise their polling and tests
//! move the clock instead of sleeping.

use onshi_domain::codes::{ProcessingResultStatus, QualificationValidity, ReferenceClassification, SegmentOfResult};
use onshi_domain::result_codes::ResultKey;
use onshi_proto::served::{
    BulkConfirmDownloadRequest, BulkConfirmDownloadResponse, BulkConfirmUnit, BulkConfirmUploadRequest,
    BulkConfirmUploadResponse,
};
use prost::Message;

use super::App;
use super::qualification::{
    InsuredAsk, MAX_FREE_TEXT_CHARS, body, consent_flag, parse_search, result_header, validate_header,
};
use crate::auth::Caller;
use crate::errors::{ServiceError, Violations};
use onshi_store::values::{BulkCounts, BulkJob};
use onshi_store::{ChangeSet, StoreError};

/// The most search infos one upload may carry.
pub const MAX_BULK_ENTRIES: usize = 10_000;

/// A reception number: the upload date and 10 digits made from the store's reception sequence
/// `n` by a bijection on 32 bits, so distinct numbers give distinct reception numbers (for the
/// first 2^32 jobs of a store) that do not read as a counter. The length differs from the
/// 8-hex-digit numbers of earlier versions, so old jobs are never overwritten.
fn reception_number(date: &str, n: u64) -> String {
    // lowbias32: xor-shifts and odd multipliers are invertible modulo 2^32.
    let mut x = n as u32;
    x ^= x >> 16;
    x = x.wrapping_mul(0x7FEB_352D);
    x ^= x >> 15;
    x = x.wrapping_mul(0x846C_A68B);
    x ^= x >> 16;
    format!("{date}{x:010}")
}

impl App {
    pub(crate) fn bulk_upload(
        &self,
        caller: &Caller,
        req: &BulkConfirmUploadRequest,
    ) -> Result<BulkConfirmUploadResponse, ServiceError> {
        let now = self.clock.now();
        let mut v = Violations::default();
        let header = validate_header(caller, req.message_header.as_ref(), now, &mut v)?;
        let entries = &req.qualification_confirm_search_info;
        if entries.is_empty() || entries.len() > MAX_BULK_ENTRIES {
            v.add(
                "qualification_confirm_search_info",
                format!("must hold 1 to {MAX_BULK_ENTRIES} entries; got {}", entries.len()),
            );
        }
        v.finish()?;

        let mut counts = BulkCounts::default();
        let mut units = Vec::with_capacity(entries.len());
        let mut changes = ChangeSet::default();
        for (i, s) in entries.iter().enumerate() {
            let path = format!("qualification_confirm_search_info[{i}]");
            let mut v = Violations::default();
            let query = parse_search(caller.check_digits, s.into(), &path, &mut v);
            let limit = consent_flag(
                &mut v,
                &format!("{path}.limit_application_certificate_related_cons_flg"),
                &s.limit_application_certificate_related_cons_flg,
            );
            if s.arbitrary_identifier.chars().count() > MAX_FREE_TEXT_CHARS {
                v.add(
                    &format!("{path}.arbitrary_identifier"),
                    format!("must be at most {MAX_FREE_TEXT_CHARS} characters"),
                );
            }
            let unit_body = match (v.finish(), query) {
                (Ok(()), Some((query, _))) => self.insured_body(
                    caller,
                    now,
                    header.date,
                    &query,
                    InsuredAsk { limit_consent: limit, record_confirmation: false },
                    &mut changes,
                )?,
                (result, _) => {
                    let detail = match result {
                        Err(ServiceError::BadRequest(fields)) => {
                            fields.iter().map(|(f, d)| format!("{f}: {d}")).collect::<Vec<_>>().join("; ")
                        }
                        _ => String::new(),
                    };
                    let code = self.codes.get(ResultKey::InvalidSearchInfo);
                    let mut b = body(code.status, Some(code), None, Vec::new());
                    b.processing_result_message = format!("{} {detail}", code.message);
                    b
                }
            };
            let succeeded = unit_body.processing_result_status == ProcessingResultStatus::Success.code();
            counts.add(QualificationValidity::from_code(&unit_body.qualification_validity).filter(|_| succeeded));
            let unit =
                BulkConfirmUnit { arbitrary_identifier: s.arbitrary_identifier.clone(), message_body: Some(unit_body) };
            units.push(unit.encode_to_vec());
        }

        // One store for the number and the write that persists it.
        let store = self.store.get();
        let number = store.reception_numbers().allocate();
        let reception = reception_number(&now.date().yyyymmdd(), number.value);
        let job = BulkJob {
            facility: *caller.code.as_bytes(),
            created_at: now.unix_seconds(),
            ready_at: now.unix_seconds() + self.bulk_processing_secs + self.faults.bulk_delay(caller.code.as_str()),
            counts,
            units: units.iter().map(Vec::as_slice).collect(),
        };
        changes.bulk_job(reception.clone(), job.encode(), number);
        store.commit(changes)?;
        Ok(BulkConfirmUploadResponse {
            message_header: Some(result_header(
                caller,
                &header,
                now,
                ReferenceClassification::InsuredNumber,
                SegmentOfResult::Done,
            )),
            reception_number: reception,
            number_of_search_info: entries.len() as i32,
        })
    }

    pub(crate) fn bulk_download(
        &self,
        caller: &Caller,
        req: &BulkConfirmDownloadRequest,
    ) -> Result<BulkConfirmDownloadResponse, ServiceError> {
        let now = self.clock.now();
        let mut v = Violations::default();
        let header = validate_header(caller, req.message_header.as_ref(), now, &mut v)?;
        if req.reception_number.is_empty() || req.reception_number.len() > 32 {
            v.add("reception_number", "must be the reception number BulkConfirmUpload returned");
        }
        v.finish()?;
        let not_found = || ServiceError::NotFound { what: "reception number", reason: "RECEPTION_NUMBER_NOT_FOUND" };
        let store = self.store.get();
        let stored = store.bulk_job(&req.reception_number)?.ok_or_else(not_found)?;
        let job = BulkJob::decode(&stored).map_err(StoreError::from)?;
        // Another facility's job does not exist for this caller.
        if &job.facility != caller.code.as_bytes() {
            return Err(not_found());
        }
        let mut reply =
            BulkConfirmDownloadResponse { reception_number: req.reception_number.clone(), ..Default::default() };
        if now.unix_seconds() < job.ready_at {
            reply.message_header = Some(result_header(
                caller,
                &header,
                now,
                ReferenceClassification::InsuredNumber,
                SegmentOfResult::Processing,
            ));
            return Ok(reply);
        }
        reply.message_header =
            Some(result_header(caller, &header, now, ReferenceClassification::InsuredNumber, SegmentOfResult::Done));
        let c = job.counts;
        reply.number_of_search_info = c.all as i32;
        reply.number_of_valid = c.valid as i32;
        reply.number_of_invalid = c.invalid as i32;
        reply.number_of_invalid_newer_exists = c.invalid_newer_exists as i32;
        reply.number_of_not_found = c.not_found as i32;
        reply.number_of_several_match = c.several_match as i32;
        reply.number_of_errors = c.errors as i32;
        reply.bulk_confirm_unit = job.units.iter().map(|u| bytes::Bytes::copy_from_slice(u)).collect();
        Ok(reply)
    }
}

#[cfg(test)]
mod tests {
    use super::reception_number;

    #[test]
    fn reception_numbers_of_distinct_sequence_numbers_differ() {
        let numbers: std::collections::HashSet<String> =
            (0..100_000).map(|n| reception_number("20261201", n)).collect();
        assert_eq!(numbers.len(), 100_000);
        let one = reception_number("20261201", 7);
        assert_eq!(one.len(), 18);
        assert!(one.starts_with("20261201") && one.bytes().all(|b| b.is_ascii_digit()));
    }
}
