//! The screen's names for the answer's elements and values: one list of every element of
//! `OQSsiquc01res` with its Japanese label, the group it is shown in (as the real terminal's
//! result screen groups them) and how its value reads. Code values are named from the domain's
//! code tables (`onshi_domain::codes`), never retyped here.

use onshi_domain::codes::{
    InsuredCardClassification, LimitBracket, LimitCertificateClassification, PersonalFamily, ProcessingResultStatus,
    QualificationValidity, ReasonOfLoss, ReferenceClassification, SegmentOfResult, Sex, SpecificDisease,
};

use crate::xml_in::Element;

/// How a value reads.
#[derive(Clone, Copy)]
enum Reading {
    Text,
    /// YYYYMMDD.
    Date,
    /// yyyyMMddHHmmss.
    Time,
    Code(fn(&str) -> Option<&'static str>),
    /// "030" → 3割.
    Ratio,
    /// 1 同意あり, 0 同意なし.
    Consent,
    /// 1 未就学.
    Preschool,
    /// 0 UTF-8, 1 Shift_JIS.
    Charset,
}

struct Field {
    element: &'static str,
    label: &'static str,
    reading: Reading,
}

const fn f(element: &'static str, label: &'static str, reading: Reading) -> Field {
    Field { element, label, reading }
}

use Reading::{Charset, Code, Consent, Date, Preschool, Ratio, Text, Time};

/// Every element, in the answer's order, grouped.
const GROUPS: &[(&str, &[Field])] = &[
    (
        "処理結果",
        &[
            f("ProcessExecutionTime", "処理実行日時", Time),
            f("QualificationConfirmationDate", "照会日", Date),
            f("MedicalInstitutionCode", "医療機関コード", Text),
            f("ArbitraryFileIdentifier", "任意のファイル識別子", Text),
            f(
                "ReferenceClassification",
                "照会区分",
                Code(|c| ReferenceClassification::from_code(c).map(ReferenceClassification::name)),
            ),
            f("SegmentOfResult", "処理結果区分", Code(|c| SegmentOfResult::from_code(c).map(SegmentOfResult::name))),
            f("ErrorCode", "エラーコード", Text),
            f("ErrorMessage", "エラーメッセージ", Text),
            f("CharacterCodeIdentifier", "文字コード識別", Charset),
            f(
                "ProcessingResultStatus",
                "処理結果状況",
                Code(|c| ProcessingResultStatus::from_code(c).map(ProcessingResultStatus::name)),
            ),
            f("ProcessingResultCode", "処理結果コード", Text),
            f("ProcessingResultMessage", "処理結果メッセージ", Text),
            f(
                "QualificationValidity",
                "資格有効性",
                Code(|c| QualificationValidity::from_code(c).map(QualificationValidity::name)),
            ),
        ],
    ),
    (
        "資格情報",
        &[
            f(
                "InsuredCardClassification",
                "被保険者証区分",
                Code(|c| InsuredCardClassification::from_code(c).map(InsuredCardClassification::name)),
            ),
            f("InsurerNumber", "保険者番号", Text),
            f("InsurerName", "保険者名称", Text),
            f("InsuredCardSymbol", "被保険者証記号", Text),
            f("InsuredIdentificationNumber", "被保険者証番号", Text),
            f("InsuredBranchNumber", "被保険者証枝番", Text),
            f(
                "PersonalFamilyClassification",
                "本人・家族の別",
                Code(|c| PersonalFamily::from_code(c).map(PersonalFamily::name)),
            ),
            f("InsuredName", "被保険者氏名（世帯主氏名）", Text),
            f("QualificationDate", "資格取得年月日", Date),
            f("DisqualificationDate", "資格喪失年月日", Date),
            f("ReasonOfLoss", "資格喪失事由", Code(|c| ReasonOfLoss::from_code(c).map(ReasonOfLoss::name))),
            f("InsuredCertificateIssuanceDate", "被保険者証交付年月日", Date),
            f("InsuredCardValidDate", "被保険者証有効開始年月日", Date),
            f("InsuredCardExpirationDate", "被保険者証有効終了年月日", Date),
            f("InsuredPartialContributionRatio", "一部負担金割合", Ratio),
            f("PreschoolClassification", "未就学区分", Preschool),
            f("ReferenceNumber", "照会番号", Text),
        ],
    ),
    (
        "個人情報",
        &[
            f("Name", "氏名", Text),
            f("NameOfOther", "氏名（その他）", Text),
            f("NameKana", "氏名カナ", Text),
            f("NameOfOtherKana", "氏名カナ（その他）", Text),
            f("Sex1", "性別1", Code(|c| Sex::from_code(c).map(Sex::name))),
            f("Sex2", "性別2", Code(|c| Sex::from_code(c).map(Sex::name))),
            f("Birthdate", "生年月日", Date),
            f("Address", "住所", Text),
            f("PostNumber", "郵便番号", Text),
        ],
    ),
    (
        "高齢受給者証",
        &[
            f("ElderlyRecipientCertificateDate", "交付年月日", Date),
            f("ElderlyRecipientValidStartDate", "有効開始年月日", Date),
            f("ElderlyRecipientValidEndDate", "有効終了年月日", Date),
            f("ElderlyRecipientContributionRatio", "一部負担金割合", Ratio),
        ],
    ),
    (
        "限度額適用認定証",
        &[
            f("LimitApplicationCertificateRelatedConsFlg", "限度額適用認定証提供同意", Consent),
            f("LimitApplicationCertificateRelatedConsTime", "同意日時", Time),
            f(
                "LimitApplicationCertificateClassification",
                "認定証区分",
                Code(|c| LimitCertificateClassification::from_code(c).map(LimitCertificateClassification::name)),
            ),
            f(
                "LimitApplicationCertificateClassificationFlag",
                "適用区分",
                Code(|c| LimitBracket::from_code(c).map(LimitBracket::name)),
            ),
            f("LimitApplicationCertificateDate", "交付年月日", Date),
            f("LimitApplicationCertificateValidStartDate", "有効開始年月日", Date),
            f("LimitApplicationCertificateValidEndDate", "有効終了年月日", Date),
            f("LimitApplicationCertificateLongTermDate", "長期入院該当年月日", Date),
        ],
    ),
    (
        "特定疾病療養受療証",
        &[
            f("SpecificDiseasesCertificateRelatedConsFlg", "特定疾病療養受療証提供同意", Consent),
            f("SpecificDiseasesCertificateRelatedConsTime", "同意日時", Time),
            f(
                "SpecificDiseasesDiseaseCategory",
                "認定疾病区分",
                Code(|c| SpecificDisease::from_code(c).map(SpecificDisease::name)),
            ),
            f("SpecificDiseasesCertificateDate", "交付年月日", Date),
            f("SpecificDiseasesValidStartDate", "有効開始年月日", Date),
            f("SpecificDiseasesValidEndDate", "有効終了年月日", Date),
            f("SpecificDiseasesSelfPay", "自己負担限度額（月額）", Text),
        ],
    ),
    (
        "同意情報",
        &[
            f("SpecificHealthCheckupsInfoConsFlg", "特定健診情報 閲覧同意", Consent),
            f("SpecificHealthCheckupsInfoConsTime", "特定健診情報 同意日時", Time),
            f("SpecificHealthCheckupsInfoAvailableTime", "特定健診情報 閲覧有効期限", Time),
            f("PharmacistsInfoConsFlg", "薬剤情報 閲覧同意", Consent),
            f("PharmacistsInfoConsTime", "薬剤情報 同意日時", Time),
            f("PharmacistsInfoAvailableTime", "薬剤情報 閲覧有効期限", Time),
            f("DiagnosisInfoConsFlg", "診療情報 閲覧同意", Consent),
            f("DiagnosisInfoConsTime", "診療情報 同意日時", Time),
            f("DiagnosisInfoAvailableTime", "診療情報 閲覧有効期限", Time),
            f("OperationInfoConsFlg", "手術情報 閲覧同意", Consent),
            f("OperationInfoConsTime", "手術情報 同意日時", Time),
            f("OperationInfoAvailableTime", "手術情報 閲覧有効期限", Time),
        ],
    ),
];

/// One row of a group: the label, the element's name, its value and what the value means.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Row {
    pub label: String,
    pub element: String,
    pub value: String,
    pub meaning: String,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Group {
    pub title: String,
    pub rows: Vec<Row>,
}

fn field(element: &str) -> Option<(&'static str, &'static Field)> {
    GROUPS.iter().find_map(|(g, fields)| fields.iter().find(|f| f.element == element).map(|f| (*g, f)))
}

/// The Japanese label of an element (its own name when the list lacks it).
pub fn label(element: &str) -> String {
    field(element).map_or_else(|| element.to_owned(), |(_, f)| f.label.to_owned())
}

/// What a value of `element` means: a code's name, a date written out; "" when it is plain text.
pub fn meaning(element: &str, value: &str) -> String {
    let Some((_, f)) = field(element) else { return String::new() };
    match f.reading {
        Text => String::new(),
        Code(name) => name(value).unwrap_or("（不明なコード）").to_owned(),
        Date => date(value),
        Time => time(value),
        Ratio => value
            .trim()
            .parse::<u32>()
            .ok()
            .filter(|p| p % 10 == 0)
            .map(|p| format!("{}割", p / 10))
            .unwrap_or_default(),
        Consent => match value {
            "1" => "同意あり".into(),
            "0" => "同意なし".into(),
            _ => String::new(),
        },
        Preschool => {
            if value == "1" {
                "未就学".into()
            } else {
                String::new()
            }
        }
        Charset => match value {
            "0" => "UTF-8".into(),
            "1" => "Shift_JIS".into(),
            _ => String::new(),
        },
    }
}

/// `20261201` → `2026年12月01日`.
pub fn date(v: &str) -> String {
    if v.len() == 8 && v.bytes().all(|b| b.is_ascii_digit()) {
        format!("{}年{}月{}日", &v[..4], &v[4..6], &v[6..])
    } else {
        String::new()
    }
}

/// `20261201093000` → `2026年12月01日 09:30:00`.
pub fn time(v: &str) -> String {
    if v.len() == 14 && v.bytes().all(|b| b.is_ascii_digit()) {
        format!("{} {}:{}:{}", date(&v[..8]), &v[8..10], &v[10..12], &v[12..])
    } else {
        String::new()
    }
}

fn row(e: &Element) -> Row {
    Row {
        label: label(&e.name),
        element: e.name.clone(),
        value: e.text.clone(),
        meaning: meaning(&e.name, e.text.trim()),
    }
}

/// Every element of `elements` (and of their nested blocks) as groups in the list's order; an
/// element the list does not know goes to "その他", so nothing the answer holds is hidden.
pub fn groups<'a>(elements: impl IntoIterator<Item = &'a Element>) -> Vec<Group> {
    let mut by_group: Vec<Group> =
        GROUPS.iter().map(|(g, _)| Group { title: (*g).to_owned(), rows: Vec::new() }).collect();
    let mut other = Group { title: "その他".into(), rows: Vec::new() };
    let mut stack: Vec<&Element> = elements.into_iter().collect();
    stack.reverse();
    while let Some(e) = stack.pop() {
        if !e.children.is_empty() {
            // A block (ElderlyRecipientCertificateInfo, …): its children, in order.
            for c in e.children.iter().rev() {
                stack.push(c);
            }
            continue;
        }
        match field(&e.name) {
            Some((g, _)) => {
                if let Some(group) = by_group.iter_mut().find(|x| x.title == g) {
                    group.rows.push(row(e));
                }
            }
            None => other.rows.push(row(e)),
        }
    }
    by_group.push(other);
    by_group.retain(|g| !g.rows.is_empty());
    by_group
}

#[cfg(test)]
mod tests {
    use super::*;

    fn leaf(name: &str, text: &str) -> Element {
        Element { name: name.into(), text: text.into(), children: Vec::new() }
    }

    #[test]
    fn codes_read_from_the_domain_tables() {
        assert_eq!(meaning("InsuredCardClassification", "07"), "自衛官診療証");
        assert_eq!(meaning("QualificationValidity", "3"), "無効（新しい資格あり）");
        assert_eq!(meaning("LimitApplicationCertificateClassificationFlag", "A06"), "オ（境）");
        assert_eq!(meaning("InsuredPartialContributionRatio", "030"), "3割");
        assert_eq!(meaning("Sex1", "9"), "（不明なコード）");
        assert_eq!(meaning("Name", "山田"), "");
        assert_eq!(date("20261201"), "2026年12月01日");
    }

    #[test]
    fn every_element_is_shown_once_and_unknown_ones_too() {
        let elderly = Element {
            name: "ElderlyRecipientCertificateInfo".into(),
            text: String::new(),
            children: vec![leaf("ElderlyRecipientContributionRatio", "020")],
        };
        let result = [leaf("Name", "山田　太郎"), elderly, leaf("Mystery", "x"), leaf("InsurerNumber", "01130012")];
        let g = groups(result.iter());
        let titles: Vec<&str> = g.iter().map(|g| g.title.as_str()).collect();
        assert_eq!(titles, ["資格情報", "個人情報", "高齢受給者証", "その他"]);
        let rows: usize = g.iter().map(|g| g.rows.len()).sum();
        assert_eq!(rows, 4);
        assert_eq!(g[2].rows[0].meaning, "2割");
    }

    /// The screen knows a label for every element of the result the proto has.
    #[test]
    fn every_result_element_has_a_label() {
        const BLOCKS: [&str; 3] = [
            "elderly_recipient_certificate_info",
            "limit_application_certificate_related_info",
            "specific_diseases_certificate_list",
        ];
        for name in crate::layout::tests::RESULT_FIELDS.iter().filter(|n| !BLOCKS.contains(n)) {
            let element = crate::layout::element_name(name);
            assert!(field(&element).is_some(), "no label for {element}");
        }
        let mut seen = std::collections::HashSet::new();
        for (_, fields) in GROUPS {
            for fl in *fields {
                assert!(seen.insert(fl.element), "{} listed twice", fl.element);
            }
        }
    }
}
