//! The code tables of the real interface (別紙5-1) that onshi uses, each value with the exact code
//! string the real XML carries. Codes whose official list is not public (別紙6-1, the processing
//! result codes) live in [`crate::result_codes`] instead.

/// 資格有効性 (QualificationValidity).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum QualificationValidity {
    /// 1 有効.
    Valid,
    /// 2 無効.
    Invalid,
    /// 3 無効（新しい資格あり）.
    InvalidNewerExists,
    /// 4 該当資格なし.
    NotFound,
    /// 5 複数該当.
    SeveralMatch,
}

impl QualificationValidity {
    pub fn code(self) -> &'static str {
        match self {
            QualificationValidity::Valid => "1",
            QualificationValidity::Invalid => "2",
            QualificationValidity::InvalidNewerExists => "3",
            QualificationValidity::NotFound => "4",
            QualificationValidity::SeveralMatch => "5",
        }
    }

    pub fn from_code(code: &str) -> Option<QualificationValidity> {
        Some(match code {
            "1" => QualificationValidity::Valid,
            "2" => QualificationValidity::Invalid,
            "3" => QualificationValidity::InvalidNewerExists,
            "4" => QualificationValidity::NotFound,
            "5" => QualificationValidity::SeveralMatch,
            _ => return None,
        })
    }
}

/// 被保険者証区分 (InsuredCardClassification).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
pub enum InsuredCardClassification {
    /// 01 被保険者証（一般）.
    General,
    /// 02 被保険者証（退職）.
    Retired,
    /// 03 短期被保険者証（一般）.
    ShortTermGeneral,
    /// 04 短期被保険者証（退職）.
    ShortTermRetired,
    /// 05 被保険者資格証明書.
    QualificationCertificate,
    /// 06 特例退職被保険者証.
    SpecialRetired,
    /// 07 自衛官診療証.
    SelfDefenseForces,
}

impl InsuredCardClassification {
    pub fn code(self) -> &'static str {
        match self {
            InsuredCardClassification::General => "01",
            InsuredCardClassification::Retired => "02",
            InsuredCardClassification::ShortTermGeneral => "03",
            InsuredCardClassification::ShortTermRetired => "04",
            InsuredCardClassification::QualificationCertificate => "05",
            InsuredCardClassification::SpecialRetired => "06",
            InsuredCardClassification::SelfDefenseForces => "07",
        }
    }
}

/// 本人・家族の別 (PersonalFamilyClassification).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
pub enum PersonalFamily {
    /// 1 本人: the insured person.
    Insured,
    /// 2 家族: a dependent of the insured person.
    Dependent,
}

impl PersonalFamily {
    pub fn code(self) -> &'static str {
        match self {
            PersonalFamily::Insured => "1",
            PersonalFamily::Dependent => "2",
        }
    }
}

/// 性別 (Sex1, Sex2).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
pub enum Sex {
    /// 1 男.
    Male,
    /// 2 女.
    Female,
    /// 3 未設定.
    Unset,
}

impl Sex {
    pub fn code(self) -> &'static str {
        match self {
            Sex::Male => "1",
            Sex::Female => "2",
            Sex::Unset => "3",
        }
    }
}

/// 資格喪失事由 (ReasonOfLoss).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
pub enum ReasonOfLoss {
    /// 01 死亡.
    Death,
    /// 02 生活保護受給開始.
    PublicAssistance,
    /// 03 医療保険等の資格取得: another qualification took over.
    OtherInsurance,
    /// 99 その他.
    Other,
}

impl ReasonOfLoss {
    pub fn code(self) -> &'static str {
        match self {
            ReasonOfLoss::Death => "01",
            ReasonOfLoss::PublicAssistance => "02",
            ReasonOfLoss::OtherInsurance => "03",
            ReasonOfLoss::Other => "99",
        }
    }
}

/// 照会区分 (ReferenceClassification).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ReferenceClassification {
    /// 1 マイナンバーカード.
    Card,
    /// 2 被保険者証情報.
    InsuredNumber,
}

impl ReferenceClassification {
    pub fn code(self) -> &'static str {
        match self {
            ReferenceClassification::Card => "1",
            ReferenceClassification::InsuredNumber => "2",
        }
    }
}

/// 処理結果区分 (SegmentOfResult) of a whole request.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum SegmentOfResult {
    /// 1 正常終了.
    Done,
    /// 2 処理中: poll again.
    Processing,
    /// 9 異常終了.
    Failed,
}

impl SegmentOfResult {
    pub fn code(self) -> &'static str {
        match self {
            SegmentOfResult::Done => "1",
            SegmentOfResult::Processing => "2",
            SegmentOfResult::Failed => "9",
        }
    }
}

/// 処理結果状況 (ProcessingResultStatus) of one person.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ProcessingResultStatus {
    /// 1 正常終了.
    Success,
    /// 2 エラー.
    Error,
}

impl ProcessingResultStatus {
    pub fn code(self) -> &'static str {
        match self {
            ProcessingResultStatus::Success => "1",
            ProcessingResultStatus::Error => "2",
        }
    }
}

/// 限度額適用認定証区分 (LimitApplicationCertificateClassification).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
pub enum LimitCertificateClassification {
    /// 01 限度額適用認定証.
    Limit,
    /// 02 限度額適用・標準負担額減額認定証.
    LimitAndMealReduction,
    /// 03 (後期高齢者医療) 限度額適用・標準負担額減額認定証.
    LateElderlyLimitAndMealReduction,
}

impl LimitCertificateClassification {
    pub fn code(self) -> &'static str {
        match self {
            LimitCertificateClassification::Limit => "01",
            LimitCertificateClassification::LimitAndMealReduction => "02",
            LimitCertificateClassification::LateElderlyLimitAndMealReduction => "03",
        }
    }
}

/// 限度額適用認定証適用区分 (LimitApplicationCertificateClassificationFlag): the income bracket.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
pub enum LimitBracket {
    /// A01 ア … A05 オ (under 70), A06 オ（境）.
    A(u8),
    /// B01 現役並みⅢ … B10 一般Ⅰ (70 and over).
    B(u8),
}

impl LimitBracket {
    /// The code, e.g. `"A03"`.
    pub fn code(self) -> String {
        match self {
            LimitBracket::A(n) => format!("A{n:02}"),
            LimitBracket::B(n) => format!("B{n:02}"),
        }
    }
}

/// 特定疾病療養受療証 認定疾病区分 (SpecificDiseasesDiseaseCategory).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
pub enum SpecificDisease {
    /// 1 人工透析を要する慢性腎不全.
    ChronicRenalFailureOnDialysis,
    /// 2 血友病.
    Hemophilia,
    /// 3 抗ウイルス剤を投与している後天性免疫不全症候群 (HIV).
    Hiv,
}

impl SpecificDisease {
    pub fn code(self) -> &'static str {
        match self {
            SpecificDisease::ChronicRenalFailureOnDialysis => "1",
            SpecificDisease::Hemophilia => "2",
            SpecificDisease::Hiv => "3",
        }
    }
}

/// What a patient can consent to disclose at the card reader.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum ConsentKind {
    /// 特定健診情報 (SpecificHealthCheckupsInfo).
    SpecificHealthCheckups,
    /// 薬剤情報 (PharmacistsInfo).
    Pharmacists,
    /// 診療情報 (DiagnosisInfo).
    Diagnosis,
    /// 手術情報 (OperationInfo).
    Operation,
    /// 限度額適用認定証 (LimitApplicationCertificateRelated).
    LimitCertificate,
    /// 特定疾病療養受療証 (SpecificDiseasesCertificateRelated).
    SpecificDiseasesCertificate,
}

impl ConsentKind {
    pub const ALL: [ConsentKind; 6] = [
        ConsentKind::SpecificHealthCheckups,
        ConsentKind::Pharmacists,
        ConsentKind::Diagnosis,
        ConsentKind::Operation,
        ConsentKind::LimitCertificate,
        ConsentKind::SpecificDiseasesCertificate,
    ];

    /// A stable one-byte tag for keys and values; never reuse a retired tag.
    pub fn tag(self) -> u8 {
        match self {
            ConsentKind::SpecificHealthCheckups => 1,
            ConsentKind::Pharmacists => 2,
            ConsentKind::Diagnosis => 3,
            ConsentKind::Operation => 4,
            ConsentKind::LimitCertificate => 5,
            ConsentKind::SpecificDiseasesCertificate => 6,
        }
    }

    pub fn from_tag(tag: u8) -> Option<ConsentKind> {
        ConsentKind::ALL.into_iter().find(|k| k.tag() == tag)
    }

    /// Whether the consent has a viewing window (有効期限): the medical-information consents do;
    /// the certificate consents only allow showing the certificate in this answer.
    pub fn has_window(self) -> bool {
        matches!(
            self,
            ConsentKind::SpecificHealthCheckups
                | ConsentKind::Pharmacists
                | ConsentKind::Diagnosis
                | ConsentKind::Operation
        )
    }
}

/// How the card holder was verified at the reader.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum VerificationMethod {
    /// 1 顔認証.
    Face,
    /// 2 暗証番号.
    Pin,
    /// 3 目視確認.
    Visual,
}

impl VerificationMethod {
    pub fn from_code(code: &str) -> Option<VerificationMethod> {
        match code {
            "1" => Some(VerificationMethod::Face),
            "2" => Some(VerificationMethod::Pin),
            "3" => Some(VerificationMethod::Visual),
            _ => None,
        }
    }
}

/// Formats a co-payment percentage as the interface's 3 digits ("030" for 3割).
pub fn contribution_ratio_code(percent: u8) -> String {
    format!("{percent:03}")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_match_the_real_tables() {
        assert_eq!(QualificationValidity::InvalidNewerExists.code(), "3");
        assert_eq!(QualificationValidity::from_code("5"), Some(QualificationValidity::SeveralMatch));
        assert_eq!(QualificationValidity::from_code("6"), None);
        assert_eq!(InsuredCardClassification::SelfDefenseForces.code(), "07");
        assert_eq!(ReasonOfLoss::Other.code(), "99");
        assert_eq!(LimitBracket::A(6).code(), "A06");
        assert_eq!(LimitBracket::B(10).code(), "B10");
        assert_eq!(contribution_ratio_code(30), "030");
        assert_eq!(contribution_ratio_code(10), "010");
        for k in ConsentKind::ALL {
            assert_eq!(ConsentKind::from_tag(k.tag()), Some(k));
        }
    }
}
