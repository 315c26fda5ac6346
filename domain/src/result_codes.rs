//! 処理結果コード and messages (ProcessingResultCode / ProcessingResultMessage).
//!
//! The official list (別紙6-1) is handed only to registered vendors, so these codes are onshi's own,
//! kept in this one table so they can be changed in one place. Each entry says whether it comes
//! with a success (a notice, ProcessingResultStatus 1) or an error (ProcessingResultStatus 2).

use crate::codes::ProcessingResultStatus;

/// One processing result: its code, message and the status it comes with.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ResultCode {
    pub code: &'static str,
    pub message: &'static str,
    pub status: ProcessingResultStatus,
}

/// The card's certificate expires within 3 months: the qualification is answered, with a notice.
pub const CERTIFICATE_EXPIRES_SOON: ResultCode = ResultCode {
    code: "1101",
    message: "利用者証明用電子証明書の有効期限が3か月以内です。更新手続きをご案内ください。",
    status: ProcessingResultStatus::Success,
};

/// The card's certificate was revoked (the card was reissued, or the certificate renewed).
pub const CERTIFICATE_REVOKED: ResultCode = ResultCode {
    code: "2101",
    message: "利用者証明用電子証明書が失効しています。",
    status: ProcessingResultStatus::Error,
};

/// The card's certificate is past its expiry date.
pub const CERTIFICATE_EXPIRED: ResultCode = ResultCode {
    code: "2102",
    message: "利用者証明用電子証明書の有効期限が切れています。",
    status: ProcessingResultStatus::Error,
};

/// No card with this certificate serial is registered.
pub const CERTIFICATE_UNKNOWN: ResultCode = ResultCode {
    code: "2103",
    message: "利用者証明用電子証明書のシリアル番号に該当する情報がありません。",
    status: ProcessingResultStatus::Error,
};

/// Every code onshi can answer, for documentation and the `people` command.
pub const ALL: &[ResultCode] = &[
    CERTIFICATE_EXPIRES_SOON,
    CERTIFICATE_REVOKED,
    CERTIFICATE_EXPIRED,
    CERTIFICATE_UNKNOWN,
    NO_MATCH,
    SEVERAL_MATCH,
    INVALID_SEARCH_INFO,
];

/// No qualification matches the search info (medication, checkups, 照会番号 registration).
pub const NO_MATCH: ResultCode = ResultCode {
    code: "2201",
    message: "照会した被保険者の資格情報が存在しません。",
    status: ProcessingResultStatus::Error,
};

/// Several people match the search info; give the 枝番.
pub const SEVERAL_MATCH: ResultCode = ResultCode {
    code: "2202",
    message: "照会した条件に該当する被保険者が複数存在します。被保険者証枝番を指定してください。",
    status: ProcessingResultStatus::Error,
};

/// One search info of a 一括照会 upload is malformed; the message names the field.
pub const INVALID_SEARCH_INFO: ResultCode =
    ResultCode {
        code: "2301", message: "照会内容に誤りがあります。", status: ProcessingResultStatus::Error
    };

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_are_unique() {
        for (i, a) in ALL.iter().enumerate() {
            for b in &ALL[i + 1..] {
                assert_ne!(a.code, b.code);
            }
        }
    }
}
