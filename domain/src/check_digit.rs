//! The check digit (検証番号) of 保険者番号, 公費負担者番号, 後期高齢者の被保険者番号 and the 10-digit
//! 医療機関コード: the digits before it are weighted 2, 1, 2, 1 … from the rightmost, the digits of
//! each product are added (14 → 1 + 4), and the check digit is (10 − sum mod 10) mod 10 — the
//! Luhn rule. For the 医療機関コード the 都道府県番号 and 点数表番号 take part in the sum.

/// The check digit for `digits` (ASCII digits, without the check digit), or `None` if any byte is
/// not a digit.
pub fn compute(digits: &[u8]) -> Option<u8> {
    let mut sum = 0u32;
    for (i, &b) in digits.iter().rev().enumerate() {
        if !b.is_ascii_digit() {
            return None;
        }
        let d = u32::from(b - b'0');
        let p = if i % 2 == 0 { d * 2 } else { d };
        sum += p / 10 + p % 10;
    }
    Some(((10 - sum % 10) % 10) as u8)
}

/// Whether the last digit of `number` is the check digit of the digits before it.
pub fn is_valid(number: &[u8]) -> bool {
    match number.split_last() {
        Some((&last, body)) if !body.is_empty() && last.is_ascii_digit() => compute(body) == Some(last - b'0'),
        _ => false,
    }
}

/// `body` followed by its check digit, as a string. `body` must be ASCII digits.
pub fn append(body: &str) -> String {
    let check = compute(body.as_bytes()).unwrap_or(0);
    let mut s = String::with_capacity(body.len() + 1);
    s.push_str(body);
    s.push(char::from(b'0' + check));
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Real, published insurer numbers.
    const PUBLISHED_INSURERS: &[&str] = &[
        "01130012", // 全国健康保険協会 東京支部
        "01270016", // 全国健康保険協会 大阪支部
        "01010016", // 全国健康保険協会 北海道支部
        "33120015", // 千葉県警察共済組合 (the worked example of the 保険者番号設定要領)
        "39131156", // 東京都後期高齢者医療広域連合
        "131045",   // 新宿区 国民健康保険
    ];

    #[test]
    fn published_insurer_numbers_are_valid() {
        for n in PUBLISHED_INSURERS {
            assert!(is_valid(n.as_bytes()), "{n} should be valid");
        }
    }

    #[test]
    fn a_changed_digit_is_detected() {
        for n in PUBLISHED_INSURERS {
            let mut b = n.as_bytes().to_vec();
            let last = b.len() - 1;
            b[last] = b'0' + (b[last] - b'0' + 1) % 10;
            assert!(!is_valid(&b), "{n} with a wrong check digit should be invalid");
        }
        // A single-digit error anywhere is caught by the Luhn rule.
        assert!(!is_valid(b"01130112"));
    }

    #[test]
    fn published_medical_institution_code_is_valid() {
        // The example of a 10-digit 医療機関コード printed on prescriptions.
        assert!(is_valid(b"0110113719"));
        assert_eq!(append("011011371"), "0110113719");
    }

    #[test]
    fn worked_example_of_the_setting_guideline() {
        // 3 3 1 2 0 0 1 × 2 1 2 1 2 1 2 = 6 3 2 2 0 0 2, sum 15, 10 − 5 = 5.
        assert_eq!(compute(b"3312001"), Some(5));
    }

    #[test]
    fn rejects_non_digits_and_empty() {
        assert_eq!(compute(b"12a4"), None);
        assert!(!is_valid(b""));
        assert!(!is_valid(b"5"));
        assert!(!is_valid(b"0113001X"));
    }
}
