//! Insurers of the synthetic population. Numbers follow the real structure (法別番号 + 都道府県番号 +
//! 保険者別番号 + 検証番号) and always carry a valid check digit. The 協会けんぽ branches and the
//! Tokyo 後期高齢者医療広域連合 numbers are the real published ones; the 健保組合 and 共済組合 are
//! invented names with well-formed numbers.

use crate::check_digit;

/// The kind of health insurance, which decides the number layout and who is covered.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum InsurerKind {
    /// 全国健康保険協会 (協会けんぽ), 法別 01.
    KyokaiKenpo,
    /// 健康保険組合, 法別 06.
    KenpoKumiai,
    /// 共済組合, 法別 31–34.
    Kyosai,
    /// 市町村国民健康保険, 6-digit numbers.
    Kokuho,
    /// 後期高齢者医療広域連合, 法別 39.
    LateElderly,
}

/// An employer-based insurer that is not tied to the person's municipality.
#[derive(Debug, Clone, Copy)]
pub struct NamedInsurer {
    /// 法別番号 + 都道府県番号 + 保険者別番号, without the check digit.
    pub body: &'static str,
    pub name: &'static str,
    pub weight: u32,
}

/// 健康保険組合 (法別 06): invented names, well-formed numbers.
pub const KENPO_KUMIAI: &[NamedInsurer] = &[
    NamedInsurer { body: "0613001", name: "関東電機健康保険組合", weight: 30 },
    NamedInsurer { body: "0613015", name: "東都自動車健康保険組合", weight: 25 },
    NamedInsurer { body: "0613042", name: "日本情報システム健康保険組合", weight: 40 },
    NamedInsurer { body: "0614003", name: "湘南製薬健康保険組合", weight: 10 },
    NamedInsurer { body: "0623007", name: "中部機械工業健康保険組合", weight: 20 },
    NamedInsurer { body: "0627011", name: "浪速商事健康保険組合", weight: 20 },
    NamedInsurer { body: "0627020", name: "関西流通健康保険組合", weight: 15 },
    NamedInsurer { body: "0640005", name: "九州食品健康保険組合", weight: 10 },
    NamedInsurer { body: "0601002", name: "北海道建設健康保険組合", weight: 8 },
];

/// 共済組合 (法別 31 国家公務員, 32 地方公務員, 33 警察, 34 公立学校・私学).
pub const KYOSAI: &[NamedInsurer] = &[
    NamedInsurer { body: "3113001", name: "財務省共済組合", weight: 10 },
    NamedInsurer { body: "3213001", name: "東京都職員共済組合", weight: 15 },
    NamedInsurer { body: "3312001", name: "千葉県警察共済組合", weight: 5 },
    NamedInsurer { body: "3413001", name: "公立学校共済組合東京支部", weight: 20 },
    NamedInsurer { body: "3427001", name: "公立学校共済組合大阪支部", weight: 12 },
    NamedInsurer { body: "3423001", name: "公立学校共済組合愛知支部", weight: 10 },
];

/// The 協会けんぽ branch of a prefecture: 01 + prefecture + 001 + check digit.
pub fn kyokai_kenpo_number(prefecture: u8) -> String {
    check_digit::append(&format!("01{prefecture:02}001"))
}

/// The 後期高齢者医療広域連合 of a prefecture: 39 + prefecture + 115 + check digit (39131156 for
/// Tokyo).
pub fn late_elderly_number(prefecture: u8) -> String {
    check_digit::append(&format!("39{prefecture:02}115"))
}

/// A municipality's 国民健康保険: prefecture + 保険者別番号 + check digit (6 digits).
pub fn kokuho_number(prefecture: u8, code: u16) -> String {
    check_digit::append(&format!("{prefecture:02}{code:03}"))
}

/// The number of an employer insurer, with its check digit.
pub fn named_number(insurer: &NamedInsurer) -> String {
    check_digit::append(insurer.body)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn structured_numbers_match_the_published_ones() {
        assert_eq!(kyokai_kenpo_number(13), "01130012");
        assert_eq!(kyokai_kenpo_number(27), "01270016");
        assert_eq!(late_elderly_number(13), "39131156");
        assert_eq!(kokuho_number(13, 104), "131045");
        assert_eq!(named_number(&KYOSAI[2]), "33120015");
    }
}
