//! The header-level error codes (SegmentOfResult 9 + ErrorCode / ErrorMessage) the terminal
//! answers with when the server refuses a request. The real codes are in the vendor-only
//! interface specification, so these are onshi's own, kept in this one table; the message
//! always carries the server's own words, with the fields at fault.

use tonic::{Code, Status};
use tonic_types::StatusExt;

/// One kind of refusal, its code and the message's first words.
pub struct TerminalError {
    pub code: &'static str,
    pub message: String,
}

/// The table: gRPC status code → ErrorCode and a Japanese lead-in.
const TABLE: &[(Code, &str, &str)] = &[
    (Code::InvalidArgument, "EQ0001", "要求内容に誤りがあります"),
    (Code::PermissionDenied, "EQ0002", "この医療機関からの照会は許可されていません"),
    (Code::Unauthenticated, "EQ0003", "端末の電子証明書が認証されませんでした"),
    (Code::NotFound, "EQ0004", "該当する情報がありません"),
    (Code::FailedPrecondition, "EQ0005", "閲覧の同意がありません"),
    (Code::ResourceExhausted, "EQ0006", "システムが混雑しています。しばらくしてから再度照会してください"),
    (Code::Unavailable, "EQ0007", "オンライン資格確認等システムに接続できません"),
    (Code::DeadlineExceeded, "EQ0008", "オンライン資格確認等システムからの応答がありません"),
];

/// ErrorCode when the terminal itself cannot form the request (e.g. no birthdate known).
pub const REQUEST_INCOMPLETE: &str = "EQ0009";
/// ErrorCode for anything the table does not name.
pub const OTHER: &str = "EQ0099";

/// The code and message a refused call is answered with.
pub fn from_status(status: &Status) -> TerminalError {
    let (code, lead) = TABLE
        .iter()
        .find(|(c, _, _)| *c == status.code())
        .map(|(_, code, lead)| (*code, *lead))
        .unwrap_or((OTHER, "処理中にエラーが発生しました"));
    let mut message = format!("{lead}: {}", status.message());
    if let Some(bad) = status.get_details_bad_request() {
        let fields: Vec<String> =
            bad.field_violations.iter().map(|v| format!("{} {}", v.field, v.description)).collect();
        if !fields.is_empty() && !status.message().contains(&fields[0]) {
            message.push_str(" (");
            message.push_str(&fields.join("; "));
            message.push(')');
        }
    }
    TerminalError { code, message }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_code_is_distinct_and_named() {
        let mut codes: Vec<&str> = TABLE.iter().map(|(_, c, _)| *c).collect();
        codes.extend([REQUEST_INCOMPLETE, OTHER]);
        let n = codes.len();
        codes.sort_unstable();
        codes.dedup();
        assert_eq!(codes.len(), n);
        let e =
            from_status(&Status::permission_denied("medical_institution_code 1312345679 is not this certificate's"));
        assert_eq!(e.code, "EQ0002");
        assert!(e.message.contains("1312345679"));
        assert_eq!(from_status(&Status::internal("x")).code, OTHER);
    }
}
