//! Scenario people: one per awkward case of the real system, with fixed, documented identifiers
//! (docs/scenarios.md lists them). Card serials are 20 hex digits starting with `A`, which no
//! population serial (16 digits) can equal; 記号 starting with 9 are never given to the population.
//!
//! Dates are fixed, except the expiring certificate's, which is set 60 days after the store's
//! reference date so that it is always "within 3 months" of the day the store was seeded.

use crate::check_digit;
use crate::codes::{
    InsuredCardClassification, LimitBracket, LimitCertificateClassification, PersonalFamily, QualificationValidity,
    ReasonOfLoss, Sex, SpecificDisease,
};
use crate::date::Date;
use crate::ids::{
    CertificateSerial, CheckDigits, InsuredBranchNumber, InsuredCardSymbol, InsuredIdentificationNumber, InsurerNumber,
};
use crate::kana::to_half_width;
use crate::qualification::{
    Card, ElderlyRecipient, LimitCertificate, Loss, Person, PersonId, Qualification, SpecificDiseaseCertificate,
};
use crate::result_codes::ResultKey;

use super::{InsuredKeys, SCENARIO_ID_BASE};

/// How a scenario is asked about.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Ask {
    /// ConfirmByCard with this serial.
    Card(CertificateSerial),
    /// ConfirmByInsuredNumber with these numbers and birthdate.
    Insured(InsuredKeys, Date),
}

/// One question about a scenario and the answer the real system would give on the reference date.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Expectation {
    pub ask: Ask,
    pub validity: QualificationValidity,
    /// The processing result code that comes with the answer, if any.
    pub result_code: Option<ResultKey>,
    /// How many qualifications the result list holds.
    pub results: usize,
}

/// An awkward case, the people it needs and what asking about them answers.
#[derive(Debug, Clone, PartialEq)]
pub struct Scenario {
    /// A short stable name, e.g. `"lost-qualification"`.
    pub key: &'static str,
    pub description: &'static str,
    pub persons: Vec<Person>,
    pub expectations: Vec<Expectation>,
}

fn d(s: &str) -> Date {
    Date::parse_yyyymmdd(s).expect("scenario dates are calendar dates")
}

fn serial(n: u8) -> CertificateSerial {
    CertificateSerial::parse(&format!("A{:019}", n)).expect("scenario serials are hex")
}

/// The scenario card serial number `n` as a client sends it.
pub fn scenario_serial(n: u8) -> String {
    serial(n).as_str().to_owned()
}

fn insurer(s: &str) -> InsurerNumber {
    InsurerNumber::parse(s, CheckDigits::Strict).expect("scenario insurer numbers are valid")
}

fn keys(insurer_number: &str, symbol: &str, number: &str, branch: Option<&str>) -> InsuredKeys {
    InsuredKeys {
        insurer_number: insurer(insurer_number),
        symbol: InsuredCardSymbol::parse(symbol).expect("scenario symbols are valid"),
        number: InsuredIdentificationNumber::parse(number).expect("scenario numbers are valid"),
        branch: branch.map(|b| InsuredBranchNumber::parse_optional(b).ok().flatten().expect("2 digits")),
    }
}

/// 全国健康保険協会 東京支部.
pub const KYOKAI_TOKYO: &str = "01130012";
/// 関東電機健康保険組合 (invented), 06130017.
pub const KUMIAI: &str = "06130017";
/// 新宿区 国民健康保険.
pub const KOKUHO_SHINJUKU: &str = "131045";
/// 東京都後期高齢者医療広域連合.
pub const LATE_ELDERLY_TOKYO: &str = "39131156";
/// The 記号 of every 協会けんぽ scenario person.
pub const KYOKAI_SYMBOL: &str = "90000001";

struct Builder {
    id: u64,
    name: (&'static str, &'static str),
    kana: (&'static str, &'static str),
    sex: Sex,
    birth: Date,
}

impl Builder {
    fn person(&self, cards: Vec<Card>, qualifications: Vec<Qualification>) -> Person {
        Person {
            id: PersonId(SCENARIO_ID_BASE + self.id),
            name: format!("{}\u{3000}{}", self.name.0, self.name.1),
            name_kana: format!("{} {}", to_half_width(self.kana.0), to_half_width(self.kana.1)),
            sex: self.sex,
            birthdate: self.birth,
            address: "東京都新宿区西新宿2丁目8番1号".to_owned(),
            post_number: "163-8001".to_owned(),
            cards,
            qualifications,
        }
    }

    fn full_name(&self) -> String {
        format!("{}\u{3000}{}", self.name.0, self.name.1)
    }

    fn qualification(&self, k: &InsuredKeys, insurer_name: &str, from: Date, percent: u8) -> Qualification {
        Qualification {
            insurer_number: k.insurer_number,
            insurer_name: insurer_name.to_owned(),
            card_classification: InsuredCardClassification::General,
            symbol: k.symbol.clone(),
            number: k.number.clone(),
            branch: k.branch,
            family: PersonalFamily::Insured,
            insured_name: self.full_name(),
            qualification_date: from,
            loss: None,
            card_issued: from,
            card_valid_from: from,
            card_valid_until: None,
            contribution_percent: percent,
            preschool: false,
            elderly: None,
            limit_certificate: None,
            specific_diseases: Vec::new(),
        }
    }
}

fn card(n: u8, issued: &str, expires: &str) -> Card {
    Card { serial: serial(n), issued: d(issued), expires: d(expires), revoked: None }
}

fn expect_card(n: u8, validity: QualificationValidity, result_code: Option<ResultKey>, results: usize) -> Expectation {
    Expectation { ask: Ask::Card(serial(n)), validity, result_code, results }
}

fn expect_insured(k: &InsuredKeys, birth: Date, validity: QualificationValidity, results: usize) -> Expectation {
    Expectation { ask: Ask::Insured(k.clone(), birth), validity, result_code: None, results }
}

const KYOKAI_NAME: &str = "全国健康保険協会東京支部";
const KUMIAI_NAME: &str = "関東電機健康保険組合";

/// Every scenario, evaluated on the store's reference date `as_of`.
pub fn all(as_of: Date) -> Vec<Scenario> {
    use QualificationValidity::*;
    let mut out = Vec::new();

    // 1. Valid.
    {
        let b =
            Builder {
                id: 1, name: ("山田", "太郎"), kana: ("ヤマダ", "タロウ"), sex: Sex::Male, birth: d("19800115")
            };
        let k = keys(KYOKAI_TOKYO, KYOKAI_SYMBOL, "1", Some("00"));
        let q = b.qualification(&k, KYOKAI_NAME, d("20100401"), 30);
        out.push(Scenario {
            key: "valid",
            description: "A valid qualification (協会けんぽ, 本人, 3割).",
            persons: vec![b.person(vec![card(1, "20240115", "20290115")], vec![q])],
            expectations: vec![expect_card(1, Valid, None, 1), expect_insured(&k, b.birth, Valid, 1)],
        });
    }

    // 2. Lost qualification, no successor: 生活保護 began.
    {
        let b = Builder {
            id: 2,
            name: ("佐藤", "花子"),
            kana: ("サトウ", "ハナコ"),
            sex: Sex::Female,
            birth: d("19700220"),
        };
        let k = keys(KYOKAI_TOKYO, KYOKAI_SYMBOL, "2", Some("00"));
        let mut q = b.qualification(&k, KYOKAI_NAME, d("20050401"), 30);
        q.loss = Some(Loss { date: d("20251001"), reason: ReasonOfLoss::PublicAssistance });
        out.push(Scenario {
            key: "lost-qualification",
            description: "Lost on 2025-10-01 (ReasonOfLoss 02 生活保護受給開始) with no newer qualification: validity 2.",
            persons: vec![b.person(vec![card(2, "20230220", "20280220")], vec![q])],
            expectations: vec![expect_card(2, Invalid, None, 1), expect_insured(&k, b.birth, Invalid, 1)],
        });
    }

    // 3. Changed insurer: old numbers answer 3, new ones 1.
    {
        let b = Builder {
            id: 3,
            name: ("鈴木", "一郎"),
            kana: ("スズキ", "イチロウ"),
            sex: Sex::Male,
            birth: d("19850310"),
        };
        let old_k = keys(KYOKAI_TOKYO, KYOKAI_SYMBOL, "3", Some("00"));
        let new_k = keys(KUMIAI, "90501", "3", Some("00"));
        let mut old = b.qualification(&old_k, KYOKAI_NAME, d("20080401"), 30);
        old.loss = Some(Loss { date: d("20250401"), reason: ReasonOfLoss::OtherInsurance });
        let new = b.qualification(&new_k, KUMIAI_NAME, d("20250401"), 30);
        out.push(Scenario {
            key: "changed-insurer",
            description: "Moved from 協会けんぽ to a 健保組合 on 2025-04-01: old numbers answer 3, new numbers and the card 1.",
            persons: vec![b.person(vec![card(3, "20220310", "20270310")], vec![old, new])],
            expectations: vec![
                expect_card(3, Valid, None, 1),
                expect_insured(&old_k, b.birth, InvalidNewerExists, 1),
                expect_insured(&new_k, b.birth, Valid, 1),
            ],
        });
    }

    // 4. Several match: twins on one card number, asked without 枝番.
    {
        let head = Builder {
            id: 4,
            name: ("田中", "健一"),
            kana: ("タナカ", "ケンイチ"),
            sex: Sex::Male,
            birth: d("19820707"),
        };
        let twin1 = Builder {
            id: 41,
            name: ("田中", "陽翔"),
            kana: ("タナカ", "ハルト"),
            sex: Sex::Male,
            birth: d("20150505"),
        };
        let twin2 = Builder {
            id: 42,
            name: ("田中", "陽菜"),
            kana: ("タナカ", "ヒナ"),
            sex: Sex::Female,
            birth: d("20150505"),
        };
        let head_k = keys(KYOKAI_TOKYO, KYOKAI_SYMBOL, "4", Some("00"));
        let k1 = keys(KYOKAI_TOKYO, KYOKAI_SYMBOL, "4", Some("01"));
        let k2 = keys(KYOKAI_TOKYO, KYOKAI_SYMBOL, "4", Some("02"));
        let no_branch = keys(KYOKAI_TOKYO, KYOKAI_SYMBOL, "4", None);
        let dependent = |b: &Builder, k: &InsuredKeys| {
            let mut q = b.qualification(k, KYOKAI_NAME, d("20150505"), 30);
            q.family = PersonalFamily::Dependent;
            q.insured_name = head.full_name();
            q
        };
        let q1 = dependent(&twin1, &k1);
        let q2 = dependent(&twin2, &k2);
        out.push(Scenario {
            key: "several-match",
            description: "Twins who share the insured's 記号・番号 and a birthdate: asked without 枝番 → 5 with both; with 枝番 → 1.",
            persons: vec![
                head.person(Vec::new(), vec![head.qualification(&head_k, KYOKAI_NAME, d("20050401"), 30)]),
                twin1.person(Vec::new(), vec![q1]),
                twin2.person(Vec::new(), vec![q2]),
            ],
            expectations: vec![
                expect_insured(&no_branch, twin1.birth, SeveralMatch, 2),
                expect_insured(&k1, twin1.birth, Valid, 1),
                expect_insured(&k2, twin2.birth, Valid, 1),
            ],
        });
    }

    // 5. Unknown: numbers and a serial nobody has.
    {
        let k = keys(KYOKAI_TOKYO, "99999999", "9999999", Some("00"));
        out.push(Scenario {
            key: "unknown",
            description: "Numbers and a card serial that match nobody: validity 4 (the card also with result code 2103).",
            persons: Vec::new(),
            expectations: vec![
                expect_insured(&k, d("19900101"), NotFound, 0),
                expect_card(5, NotFound, Some(ResultKey::CertificateUnknown), 0),
            ],
        });
    }

    // 6. Revoked card: the card was reissued; the old serial is revoked.
    {
        let b =
            Builder {
                id: 6, name: ("高橋", "誠"), kana: ("タカハシ", "マコト"), sex: Sex::Male, birth: d("19751111")
            };
        let k = keys(KYOKAI_TOKYO, KYOKAI_SYMBOL, "6", Some("00"));
        let q = b.qualification(&k, KYOKAI_NAME, d("19980401"), 30);
        let mut old = card(6, "20201111", "20251111");
        old.revoked = Some(d("20250601"));
        let new = card(16, "20250601", "20301111");
        out.push(Scenario {
            key: "revoked-card",
            description: "A reissued card: the old serial A…06 is revoked (result code 2101), the new serial A…16 answers 1.",
            persons: vec![b.person(vec![old, new], vec![q])],
            expectations: vec![
                expect_card(6, NotFound, Some(ResultKey::CertificateRevoked), 0),
                expect_card(16, Valid, None, 1),
                expect_insured(&k, b.birth, Valid, 1),
            ],
        });
    }

    // 7. The certificate expires within 3 months: success with a notice.
    {
        let b = Builder {
            id: 7,
            name: ("伊藤", "美咲"),
            kana: ("イトウ", "ミサキ"),
            sex: Sex::Female,
            birth: d("19881225"),
        };
        let k = keys(KYOKAI_TOKYO, KYOKAI_SYMBOL, "7", Some("00"));
        let q = b.qualification(&k, KYOKAI_NAME, d("20110401"), 30);
        let expires = as_of.add_days(60).unwrap_or(as_of);
        let issued = expires.add_years(-5).unwrap_or(as_of);
        let c = Card { serial: serial(7), issued, expires, revoked: None };
        out.push(Scenario {
            key: "certificate-expiring",
            description: "The card's certificate expires 60 days after the store's reference date: validity 1 with result code 1101.",
            persons: vec![b.person(vec![c], vec![q])],
            expectations: vec![expect_card(7, Valid, Some(ResultKey::CertificateExpiresSoon), 1)],
        });
    }

    // 8. Turned 75 on 2026-11-01: 国保 lost (03), 後期高齢者医療 since the birthday.
    {
        let b =
            Builder {
                id: 8, name: ("渡辺", "茂"), kana: ("ワタナベ", "シゲル"), sex: Sex::Male, birth: d("19511101")
            };
        let old_k = keys(KOKUHO_SHINJUKU, "1", "75001", Some("00"));
        let late_number = check_digit::append("1234567");
        let new_k = keys(LATE_ELDERLY_TOKYO, "", &late_number, None);
        let mut old = b.qualification(&old_k, "新宿区", d("20110401"), 20);
        old.loss = Some(Loss { date: d("20261101"), reason: ReasonOfLoss::OtherInsurance });
        old.card_valid_until = Some(d("20261031"));
        old.elderly = Some(ElderlyRecipient {
            certificate_date: d("20211018"),
            valid_from: d("20211101"),
            valid_until: d("20261031"),
            contribution_percent: 20,
        });
        let mut new = b.qualification(&new_k, "東京都後期高齢者医療広域連合", d("20261101"), 10);
        new.card_valid_until = Some(d("20270731"));
        let (old_validity, new_validity) =
            if as_of >= d("20261101") { (InvalidNewerExists, Valid) } else { (Valid, NotFound) };
        out.push(Scenario {
            key: "turned-75",
            description: "Turned 75 on 2026-11-01: the 国保 qualification was lost that day (03) and 後期高齢者医療 (1割) began. Ask with QualificationConfirmationDate 20261031 to see the day before.",
            persons: vec![b.person(vec![card(8, "20230801", "20281101")], vec![old, new])],
            expectations: vec![
                expect_card(8, Valid, None, 1),
                expect_insured(&old_k, b.birth, old_validity, 1),
                expect_insured(&new_k, b.birth, new_validity, usize::from(new_validity != NotFound)),
            ],
        });
    }

    // 9. A preschool child: 2割 and PreschoolClassification 1.
    {
        let b = Builder {
            id: 9,
            name: ("中村", "結衣"),
            kana: ("ナカムラ", "ユイ"),
            sex: Sex::Female,
            birth: d("20220510"),
        };
        let k = keys(KYOKAI_TOKYO, KYOKAI_SYMBOL, "9", Some("01"));
        let mut q = b.qualification(&k, KYOKAI_NAME, d("20220510"), 20);
        q.family = PersonalFamily::Dependent;
        q.insured_name = "中村\u{3000}大輔".to_owned();
        q.preschool = true;
        out.push(Scenario {
            key: "preschool",
            description: "A child born 2022-05-10: 未就学 until 2029-03-31, 2割, 家族 of 中村 大輔.",
            persons: vec![b.person(vec![card(9, "20230601", "20270510")], vec![q])],
            expectations: vec![expect_card(9, Valid, None, 1), expect_insured(&k, b.birth, Valid, 1)],
        });
    }

    // 10. Aged 70–74 with a 高齢受給者証.
    {
        let b = Builder {
            id: 10,
            name: ("小林", "和子"),
            kana: ("コバヤシ", "カズコ"),
            sex: Sex::Female,
            birth: d("19540615"),
        };
        let k = keys(KOKUHO_SHINJUKU, "1", "70010", Some("00"));
        let mut q = b.qualification(&k, "新宿区", d("20140401"), 20);
        q.card_valid_until = Some(d("20270731"));
        q.elderly = Some(ElderlyRecipient {
            certificate_date: d("20240617"),
            valid_from: d("20240701"),
            valid_until: d("20290614"),
            contribution_percent: 20,
        });
        out.push(Scenario {
            key: "elderly-recipient",
            description: "Born 1954-06-15: 高齢受給者 from 2024-07-01 to 2029-06-14, 2割, 国保.",
            persons: vec![b.person(vec![card(10, "20220615", "20270615")], vec![q])],
            expectations: vec![expect_card(10, Valid, None, 1), expect_insured(&k, b.birth, Valid, 1)],
        });
    }

    // 11. A limit certificate, shown only with consent.
    {
        let b =
            Builder {
                id: 11, name: ("加藤", "博"), kana: ("カトウ", "ヒロシ"), sex: Sex::Male, birth: d("19650303")
            };
        let k = keys(KYOKAI_TOKYO, KYOKAI_SYMBOL, "11", Some("00"));
        let mut q = b.qualification(&k, KYOKAI_NAME, d("19880401"), 30);
        q.limit_certificate = Some(LimitCertificate {
            classification: LimitCertificateClassification::Limit,
            bracket: LimitBracket::A(3),
            certificate_date: d("20250801"),
            valid_from: d("20250801"),
            valid_until: d("20260731"),
            long_term_date: None,
        });
        out.push(Scenario {
            key: "limit-certificate",
            description: "Holds a 限度額適用認定証 (01, A03 ウ): shown only when LimitApplicationCertificateRelatedConsFlg is 1.",
            persons: vec![b.person(vec![card(11, "20240303", "20290303")], vec![q])],
            expectations: vec![expect_card(11, Valid, None, 1), expect_insured(&k, b.birth, Valid, 1)],
        });
    }

    // 12. A 特定疾病療養受療証 (dialysis).
    {
        let b = Builder {
            id: 12,
            name: ("吉田", "恵子"),
            kana: ("ヨシダ", "ケイコ"),
            sex: Sex::Female,
            birth: d("19580808"),
        };
        let k = keys(KUMIAI, "90501", "12", Some("00"));
        let mut q = b.qualification(&k, KUMIAI_NAME, d("19810401"), 30);
        q.specific_diseases.push(SpecificDiseaseCertificate {
            disease: SpecificDisease::ChronicRenalFailureOnDialysis,
            certificate_date: d("20230115"),
            valid_from: d("20230201"),
            valid_until: None,
            self_pay_yen: 10_000,
        });
        out.push(Scenario {
            key: "specific-disease",
            description: "Holds a 特定疾病療養受療証 (1 人工透析, 10,000 yen a month): shown at the card reader with SpecificDiseasesCertificateRelatedConsFlg 1.",
            persons: vec![b.person(vec![card(12, "20230808", "20280808")], vec![q])],
            expectations: vec![expect_card(12, Valid, None, 1), expect_insured(&k, b.birth, Valid, 1)],
        });
    }

    out
}
