//! The face-authentication card reader: a patient puts a My Number card on it, is verified by
//! face or PIN, answers the consent questions, and the terminal asks the system (ConfirmByCard)
//! and writes the result unasked into `face/` for the EHR to pick up.

use std::path::PathBuf;
use std::sync::atomic::{AtomicU32, Ordering};

use onshi_proto::v1::{CardReaderInfo, ConfirmByCardRequest, QualificationConfirmationResponse, RequestHeader};
use thiserror::Error;

use crate::exchange::Folders;
use crate::files::write_atomically;
use crate::ops::{Context, now_compact, single};

/// How the holder was verified at the reader.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Verify {
    Face,
    Pin,
}

impl Verify {
    fn code(self) -> &'static str {
        match self {
            Verify::Face => "1",
            Verify::Pin => "2",
        }
    }
}

/// The consent questions, in the reader's order.
pub const CONSENTS: [&str; 6] = ["medication", "checkup", "diagnosis", "operation", "limit", "diseases"];

#[derive(Debug, Error)]
pub enum TapError {
    #[error("unknown consent {0:?}: the reader asks about {list}", list = CONSENTS.join(", "))]
    UnknownConsent(String),
    #[error("the system refused the card: {0}")]
    Refused(String),
    #[error("cannot write the face file {path}: {source}")]
    Write { path: PathBuf, source: std::io::Error },
}

/// What a tap did.
pub struct Tapped {
    pub face_file: PathBuf,
    pub response: QualificationConfirmationResponse,
    /// The screen journal's entry, when the terminal keeps one.
    pub entry: Option<u64>,
}

/// The reader's request for a card, a verification and the consents given.
pub fn request(serial: &str, verify: Verify, consents: &[String]) -> Result<ConfirmByCardRequest, TapError> {
    let mut info = CardReaderInfo {
        certificate_serial_number: serial.trim().to_owned(),
        verification_method: verify.code().to_owned(),
        ..Default::default()
    };
    for consent in consents.iter().map(|c| c.trim()).filter(|c| !c.is_empty()) {
        let flag = match consent {
            "medication" => &mut info.pharmacists_info_cons_flg,
            "checkup" => &mut info.specific_health_checkups_info_cons_flg,
            "diagnosis" => &mut info.diagnosis_info_cons_flg,
            "operation" => &mut info.operation_info_cons_flg,
            "limit" => &mut info.limit_application_certificate_related_cons_flg,
            "diseases" => &mut info.specific_diseases_certificate_related_cons_flg,
            other => return Err(TapError::UnknownConsent(other.to_owned())),
        };
        *flag = "1".to_owned();
    }
    Ok(ConfirmByCardRequest { message_header: Some(RequestHeader::default()), card_reader_info: Some(info) })
}

/// The face file's name: `OQSsiquc01res_face_{facility}{20 characters}_{yyyyMMddHHmmss}.xml`.
/// The 20 characters are the reader's own (their meaning is not public): here the time to the
/// microsecond and a counter, so two taps in one second never share a name.
pub fn face_file_name(facility: &str, time: &str) -> String {
    static NEXT: AtomicU32 = AtomicU32::new(0);
    let micros = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map_or(0, |d| d.subsec_micros());
    let n = NEXT.fetch_add(1, Ordering::Relaxed) % 100;
    let time = if time.len() == 14 { time.to_owned() } else { now_compact() };
    format!("OQSsiquc01res_face_{facility}{time}{:04}{n:02}_{time}.xml", micros / 100)
}

/// Taps a card: the ConfirmByCard call, then the face file.
pub async fn tap(ctx: &Context, folders: &Folders, request: ConfirmByCardRequest) -> Result<Tapped, TapError> {
    let response = ctx
        .qualification()
        .confirm_by_card(request)
        .await
        .map_err(|s| TapError::Refused(format!("{:?}: {}", s.code(), s.message())))?
        .into_inner();
    single::remember(ctx, &response);
    let time = response.message_header.as_ref().map(|h| h.process_execution_time.clone()).unwrap_or_default();
    let name = face_file_name(&ctx.facility, &time);
    let path = folders.face.join(&name);
    let bytes = single::write(&response, None, ctx.encoding);
    if let Some(journal) = &ctx.journal {
        journal.reserve_face(&name);
    }
    write_atomically(&path, &bytes).map_err(|source| TapError::Write { path: path.clone(), source })?;
    let entry =
        ctx.journal.as_ref().and_then(|j| j.record(crate::screen::journal::Source::Tap, &name, &bytes)).map(|e| e.id);
    Ok(Tapped { face_file: path, response, entry })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn face_file_names_have_the_real_shape() {
        let name = face_file_name("1312345679", "20261201093000");
        let rest = name.strip_prefix("OQSsiquc01res_face_1312345679").expect("prefix");
        let (twenty, tail) = rest.split_at(20);
        assert!(twenty.bytes().all(|b| b.is_ascii_digit()), "{name}");
        assert_eq!(tail, "_20261201093000.xml");
        assert_ne!(face_file_name("1312345679", "20261201093000"), name);
    }

    #[test]
    fn consents_map_to_their_flags() {
        let r = request("A1", Verify::Pin, &["medication".into(), "limit".into()]).expect("valid");
        let info = r.card_reader_info.expect("info");
        assert_eq!(info.verification_method, "2");
        assert_eq!(info.pharmacists_info_cons_flg, "1");
        assert_eq!(info.limit_application_certificate_related_cons_flg, "1");
        assert_eq!(info.specific_health_checkups_info_cons_flg, "");
        assert!(matches!(request("A1", Verify::Face, &["everything".into()]), Err(TapError::UnknownConsent(_))));
    }
}
