//! 処理結果コード and messages (ProcessingResultCode / ProcessingResultMessage).
//!
//! The official list (別紙6-1) is handed only to registered vendors, so these codes are onshi's own.
//! Each outcome has a stable [`ResultKey`]; the code and message of each key come from one table,
//! [`ResultCodes`], whose defaults are below and which the server can load from an editable file
//! (`result-codes.toml`). Whether an outcome is a success with a notice (ProcessingResultStatus 1)
//! or an error (2) belongs to the outcome, not the table.

use crate::codes::ProcessingResultStatus;

/// Every outcome that carries a processing result code.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ResultKey {
    /// The card's certificate expires within 3 months: answered, with a notice.
    CertificateExpiresSoon,
    /// The card's certificate was revoked (card reissued or certificate renewed).
    CertificateRevoked,
    /// The card's certificate is past its expiry date.
    CertificateExpired,
    /// No card with this certificate serial is registered.
    CertificateUnknown,
    /// No qualification matches the search info (medication, checkups, 照会番号).
    NoMatch,
    /// Several people match the search info.
    SeveralMatch,
    /// One search info of a 一括照会 upload is malformed.
    InvalidSearchInfo,
}

impl ResultKey {
    pub const ALL: [ResultKey; 7] = [
        ResultKey::CertificateExpiresSoon,
        ResultKey::CertificateRevoked,
        ResultKey::CertificateExpired,
        ResultKey::CertificateUnknown,
        ResultKey::NoMatch,
        ResultKey::SeveralMatch,
        ResultKey::InvalidSearchInfo,
    ];

    /// The name used in the table file.
    pub fn name(self) -> &'static str {
        match self {
            ResultKey::CertificateExpiresSoon => "certificate_expires_soon",
            ResultKey::CertificateRevoked => "certificate_revoked",
            ResultKey::CertificateExpired => "certificate_expired",
            ResultKey::CertificateUnknown => "certificate_unknown",
            ResultKey::NoMatch => "no_match",
            ResultKey::SeveralMatch => "several_match",
            ResultKey::InvalidSearchInfo => "invalid_search_info",
        }
    }

    pub fn from_name(name: &str) -> Option<ResultKey> {
        ResultKey::ALL.into_iter().find(|k| k.name() == name)
    }

    /// Whether the outcome is a success with a notice or an error.
    pub fn status(self) -> ProcessingResultStatus {
        match self {
            ResultKey::CertificateExpiresSoon => ProcessingResultStatus::Success,
            _ => ProcessingResultStatus::Error,
        }
    }

    fn index(self) -> usize {
        ResultKey::ALL.iter().position(|k| *k == self).unwrap_or(0)
    }
}

/// One processing result: its code, message and the status it comes with.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ResultCode {
    pub key: ResultKey,
    pub code: String,
    pub message: String,
    pub status: ProcessingResultStatus,
}

/// The code and message of every outcome.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ResultCodes {
    entries: Vec<ResultCode>,
}

const DEFAULTS: [(&str, &str); 7] = [
    ("1101", "利用者証明用電子証明書の有効期限が3か月以内です。更新手続きをご案内ください。"),
    ("2101", "利用者証明用電子証明書が失効しています。"),
    ("2102", "利用者証明用電子証明書の有効期限が切れています。"),
    ("2103", "利用者証明用電子証明書のシリアル番号に該当する情報がありません。"),
    ("2201", "照会した被保険者の資格情報が存在しません。"),
    ("2202", "照会した条件に該当する被保険者が複数存在します。被保険者証枝番を指定してください。"),
    ("2301", "照会内容に誤りがあります。"),
];

impl Default for ResultCodes {
    fn default() -> Self {
        ResultCodes {
            entries: ResultKey::ALL
                .iter()
                .zip(DEFAULTS)
                .map(|(k, (code, message))| ResultCode {
                    key: *k,
                    code: code.to_owned(),
                    message: message.to_owned(),
                    status: k.status(),
                })
                .collect(),
        }
    }
}

impl ResultCodes {
    pub fn get(&self, key: ResultKey) -> &ResultCode {
        &self.entries[key.index()]
    }

    /// Replaces the code and message of one outcome.
    pub fn set(&mut self, key: ResultKey, code: String, message: String) {
        let e = &mut self.entries[key.index()];
        e.code = code;
        e.message = message;
    }

    pub fn iter(&self) -> impl Iterator<Item = &ResultCode> {
        self.entries.iter()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_are_unique_and_overridable() {
        let mut t = ResultCodes::default();
        let codes: std::collections::HashSet<_> = t.iter().map(|c| c.code.clone()).collect();
        assert_eq!(codes.len(), ResultKey::ALL.len());
        assert_eq!(t.get(ResultKey::CertificateRevoked).code, "2101");
        t.set(ResultKey::CertificateRevoked, "E001".into(), "失効".into());
        assert_eq!(t.get(ResultKey::CertificateRevoked).code, "E001");
        for k in ResultKey::ALL {
            assert_eq!(ResultKey::from_name(k.name()), Some(k));
        }
        assert_eq!(t.get(ResultKey::CertificateExpiresSoon).status, ProcessingResultStatus::Success);
    }
}
