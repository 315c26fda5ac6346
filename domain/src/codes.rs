//! The code tables of the real interface (別紙5-1) that onshi uses, each value with the exact code
//! string the real XML carries. Codes whose official list is not public (別紙6-1, the processing
//! result codes) live in [`crate::result_codes`] instead.

/// One list per table: each variant with its code and its Japanese name, from which `code()`,
/// `from_code()`, `name()` and `ALL` are generated, so the two directions can never disagree.
macro_rules! code_table {
    (
        $(#[$meta:meta])*
        pub enum $name:ident {
            $( $(#[$vmeta:meta])* $variant:ident = $code:literal, $ja:literal; )+
        }
    ) => {
        $(#[$meta])*
        pub enum $name {
            $( $(#[$vmeta])* $variant, )+
        }

        impl $name {
            /// Every value, in the table's order.
            pub const ALL: &'static [$name] = &[$($name::$variant),+];

            /// The code the real XML carries.
            pub fn code(self) -> &'static str {
                match self { $($name::$variant => $code,)+ }
            }

            /// The value of a code, if the table has it.
            pub fn from_code(code: &str) -> Option<$name> {
                match code { $($code => Some($name::$variant),)+ _ => None }
            }

            /// The Japanese name the real screens show.
            pub fn name(self) -> &'static str {
                match self { $($name::$variant => $ja,)+ }
            }
        }
    };
}

code_table! {
    /// 資格有効性 (QualificationValidity).
    #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
    pub enum QualificationValidity {
        Valid = "1", "有効";
        Invalid = "2", "無効";
        InvalidNewerExists = "3", "無効（新しい資格あり）";
        NotFound = "4", "該当資格なし";
        SeveralMatch = "5", "複数該当";
    }
}

code_table! {
    /// 被保険者証区分 (InsuredCardClassification).
    #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
    pub enum InsuredCardClassification {
        General = "01", "被保険者証（一般）";
        Retired = "02", "被保険者証（退職）";
        ShortTermGeneral = "03", "短期被保険者証（一般）";
        ShortTermRetired = "04", "短期被保険者証（退職）";
        QualificationCertificate = "05", "被保険者資格証明書";
        SpecialRetired = "06", "特例退職被保険者証";
        SelfDefenseForces = "07", "自衛官診療証";
    }
}

code_table! {
    /// 本人・家族の別 (PersonalFamilyClassification).
    #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
    pub enum PersonalFamily {
        /// The insured person.
        Insured = "1", "本人";
        /// A dependent of the insured person.
        Dependent = "2", "家族";
    }
}

code_table! {
    /// 性別 (Sex1, Sex2).
    #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
    pub enum Sex {
        Male = "1", "男";
        Female = "2", "女";
        Unset = "3", "未設定";
    }
}

code_table! {
    /// 資格喪失事由 (ReasonOfLoss).
    #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
    pub enum ReasonOfLoss {
        Death = "01", "死亡";
        PublicAssistance = "02", "生活保護受給開始";
        /// Another qualification took over.
        OtherInsurance = "03", "医療保険等の資格取得";
        Other = "99", "その他";
    }
}

code_table! {
    /// 照会区分 (ReferenceClassification).
    #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
    pub enum ReferenceClassification {
        Card = "1", "マイナンバーカード";
        InsuredNumber = "2", "被保険者証情報";
    }
}

code_table! {
    /// 処理結果区分 (SegmentOfResult) of a whole request.
    #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
    pub enum SegmentOfResult {
        Done = "1", "正常終了";
        /// Poll again.
        Processing = "2", "処理中";
        Failed = "9", "異常終了";
    }
}

code_table! {
    /// 処理結果状況 (ProcessingResultStatus) of one person.
    #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
    pub enum ProcessingResultStatus {
        Success = "1", "正常終了";
        Error = "2", "エラー";
    }
}

code_table! {
    /// 限度額適用認定証区分 (LimitApplicationCertificateClassification).
    #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
    pub enum LimitCertificateClassification {
        Limit = "01", "限度額適用認定証";
        LimitAndMealReduction = "02", "限度額適用・標準負担額減額認定証";
        /// 後期高齢者医療's.
        LateElderlyLimitAndMealReduction = "03", "限度額適用・標準負担額減額認定証（後期高齢者医療）";
    }
}

code_table! {
    /// 特定疾病療養受療証 認定疾病区分 (SpecificDiseasesDiseaseCategory).
    #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
    pub enum SpecificDisease {
        ChronicRenalFailureOnDialysis = "1", "人工透析を要する慢性腎不全";
        Hemophilia = "2", "血友病";
        Hiv = "3", "抗ウイルス剤を投与している後天性免疫不全症候群";
    }
}

code_table! {
    /// How the card holder was verified at the reader.
    #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
    pub enum VerificationMethod {
        Face = "1", "顔認証";
        Pin = "2", "暗証番号";
        Visual = "3", "目視確認";
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

    /// The bracket of a code such as `"A03"`.
    pub fn from_code(code: &str) -> Option<LimitBracket> {
        let (letter, n) = code.split_at_checked(1)?;
        let n: u8 = n.parse().ok().filter(|_| n.len() == 2)?;
        match letter {
            "A" if (1..=6).contains(&n) => Some(LimitBracket::A(n)),
            "B" if (1..=10).contains(&n) => Some(LimitBracket::B(n)),
            _ => None,
        }
    }

    /// The bracket's name: ア … オ（境） under 70, 現役並みⅢ … 一般Ⅰ from 70.
    pub fn name(self) -> &'static str {
        const A: [&str; 6] = ["ア", "イ", "ウ", "エ", "オ", "オ（境）"];
        const B: [&str; 10] = [
            "現役並みⅢ",
            "現役並みⅡ",
            "現役並みⅠ",
            "一般",
            "低所得Ⅱ",
            "低所得Ⅰ",
            "低所得Ⅰ（老福）",
            "低所得Ⅰ（境）",
            "一般Ⅱ",
            "一般Ⅰ",
        ];
        match self {
            LimitBracket::A(n) => A.get(usize::from(n).wrapping_sub(1)).copied().unwrap_or(""),
            LimitBracket::B(n) => B.get(usize::from(n).wrapping_sub(1)).copied().unwrap_or(""),
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

    /// What the reader asks about, in Japanese.
    pub fn name(self) -> &'static str {
        match self {
            ConsentKind::SpecificHealthCheckups => "特定健診情報",
            ConsentKind::Pharmacists => "薬剤情報",
            ConsentKind::Diagnosis => "診療情報",
            ConsentKind::Operation => "手術情報",
            ConsentKind::LimitCertificate => "限度額適用認定証",
            ConsentKind::SpecificDiseasesCertificate => "特定疾病療養受療証",
        }
    }

    pub fn from_tag(tag: u8) -> Option<ConsentKind> {
        ConsentKind::ALL.into_iter().find(|k| k.tag() == tag)
    }

    /// The kind's place in [`ConsentKind::ALL`]: per-kind values are kept in arrays indexed by it.
    pub fn index(self) -> usize {
        match self {
            ConsentKind::SpecificHealthCheckups => 0,
            ConsentKind::Pharmacists => 1,
            ConsentKind::Diagnosis => 2,
            ConsentKind::Operation => 3,
            ConsentKind::LimitCertificate => 4,
            ConsentKind::SpecificDiseasesCertificate => 5,
        }
    }

    /// The kind's name in the API: the admin API's `consent_kind`, the `consent_kind` of a
    /// CONSENT_MISSING / CONSENT_EXPIRED refusal and an access record's `information_kind`.
    pub fn api_name(self) -> &'static str {
        match self {
            ConsentKind::SpecificHealthCheckups => "specific_health_checkups_info",
            ConsentKind::Pharmacists => "pharmacists_info",
            ConsentKind::Diagnosis => "diagnosis_info",
            ConsentKind::Operation => "operation_info",
            ConsentKind::LimitCertificate => "limit_application_certificate",
            ConsentKind::SpecificDiseasesCertificate => "specific_diseases_certificate",
        }
    }

    pub fn from_api_name(name: &str) -> Option<ConsentKind> {
        ConsentKind::ALL.into_iter().find(|k| k.api_name() == name)
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
            assert_eq!(ConsentKind::ALL[k.index()], k);
            assert_eq!(ConsentKind::from_api_name(k.api_name()), Some(k));
        }
        assert_eq!(LimitBracket::from_code("A06").map(LimitBracket::name), Some("オ（境）"));
        assert_eq!(LimitBracket::from_code("B03").map(LimitBracket::name), Some("現役並みⅠ"));
        assert_eq!(LimitBracket::from_code("A07"), None);
        assert_eq!(LimitBracket::from_code("B1"), None);
    }

    /// Both directions come from one list, so every code reads back as its value.
    #[test]
    fn every_table_round_trips() {
        fn check<T: Copy + PartialEq + std::fmt::Debug>(
            all: &[T],
            code: fn(T) -> &'static str,
            from: fn(&str) -> Option<T>,
            name: fn(T) -> &'static str,
        ) {
            for &v in all {
                assert_eq!(from(code(v)), Some(v));
                assert!(!name(v).is_empty());
            }
            assert_eq!(from("x"), None);
        }
        check(
            QualificationValidity::ALL,
            QualificationValidity::code,
            QualificationValidity::from_code,
            QualificationValidity::name,
        );
        check(
            InsuredCardClassification::ALL,
            InsuredCardClassification::code,
            InsuredCardClassification::from_code,
            InsuredCardClassification::name,
        );
        check(PersonalFamily::ALL, PersonalFamily::code, PersonalFamily::from_code, PersonalFamily::name);
        check(Sex::ALL, Sex::code, Sex::from_code, Sex::name);
        check(ReasonOfLoss::ALL, ReasonOfLoss::code, ReasonOfLoss::from_code, ReasonOfLoss::name);
        check(
            ReferenceClassification::ALL,
            ReferenceClassification::code,
            ReferenceClassification::from_code,
            ReferenceClassification::name,
        );
        check(SegmentOfResult::ALL, SegmentOfResult::code, SegmentOfResult::from_code, SegmentOfResult::name);
        check(
            ProcessingResultStatus::ALL,
            ProcessingResultStatus::code,
            ProcessingResultStatus::from_code,
            ProcessingResultStatus::name,
        );
        check(
            LimitCertificateClassification::ALL,
            LimitCertificateClassification::code,
            LimitCertificateClassification::from_code,
            LimitCertificateClassification::name,
        );
        check(SpecificDisease::ALL, SpecificDisease::code, SpecificDisease::from_code, SpecificDisease::name);
        check(
            VerificationMethod::ALL,
            VerificationMethod::code,
            VerificationMethod::from_code,
            VerificationMethod::name,
        );
        assert_eq!(InsuredCardClassification::from_code("07"), Some(InsuredCardClassification::SelfDefenseForces));
    }
}
