//! Validating newtypes for the identifiers a request carries: 保険者番号, 医療機関コード, 記号, 番号,
//! 枝番 and the card certificate's serial. A value of one of these types is well-formed by
//! construction, so the store and the rules never see malformed input.

use crate::echo::echo;
use std::fmt;

use thiserror::Error;

use crate::check_digit;

/// Whether check digits are enforced. Vendors' sample data often carries dummy numbers with wrong
/// check digits, so integrators can switch strict validation off (globally or per facility).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum CheckDigits {
    /// A wrong check digit is an error.
    #[default]
    Strict,
    /// Only the shape (length, digits) is checked.
    Lenient,
}

/// Why an identifier was refused; the message is written for the integrator who sent it.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum IdError {
    #[error("must be 8 digits, or 6 digits for 国民健康保険 (optionally left-padded with 2 spaces); got {0:?}")]
    InsurerNumberShape(String),
    #[error("check digit of {0:?} is wrong (the 保険者番号設定要領 rule gives {1})")]
    InsurerNumberCheckDigit(String, u8),
    #[error("法別番号 00 is not a valid 8-digit insurer number: {0:?}")]
    InsurerNumberHoubetsu(String),
    #[error("must be 10 digits (都道府県 2 + 点数表 1 + 郡市区 2 + 機関番号 4 + 検証番号 1); got {0:?}")]
    FacilityCodeShape(String),
    #[error("都道府県番号 must be 01–47; got {0:?}")]
    Prefecture(String),
    #[error("点数表番号 must be 1 (医科), 3 (歯科), 4 (調剤) or 6 (訪問看護); got {0:?}")]
    ScoreTable(String),
    #[error("check digit of {0:?} is wrong (the rule gives {1})")]
    FacilityCodeCheckDigit(String, u8),
    #[error("must be at most {max} characters; got {len}")]
    TooLong { max: usize, len: usize },
    #[error("is required")]
    Missing,
    #[error("must not contain control characters or spaces")]
    BadCharacters,
    #[error("must be exactly 2 digits when present; got {0:?}")]
    BranchShape(String),
    #[error("must be 1–40 hexadecimal digits (the X.509 serial of the 利用者証明用電子証明書); got {0:?}")]
    SerialShape(String),
}

/// 保険者番号, stored in its 8-character wire form: 8 digits, or 2 spaces and 6 digits for 国保.
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, serde::Serialize, serde::Deserialize)]
#[serde(into = "String", try_from = "String")]
pub struct InsurerNumber([u8; 8]);

impl InsurerNumber {
    /// Parses `"01130012"`, `"131045"` or `"  131045"`.
    pub fn parse(s: &str, check: CheckDigits) -> Result<InsurerNumber, IdError> {
        let shape = || IdError::InsurerNumberShape(echo(s));
        let digits = s.strip_prefix("  ").unwrap_or(s);
        let b = digits.as_bytes();
        if !(b.len() == 8 || b.len() == 6) || !b.iter().all(u8::is_ascii_digit) {
            return Err(shape());
        }
        if b.len() == 8 && s.len() != 8 {
            return Err(shape());
        }
        if b.len() == 8 && &b[..2] == b"00" {
            return Err(IdError::InsurerNumberHoubetsu(echo(s)));
        }
        if check == CheckDigits::Strict && !check_digit::is_valid(b) {
            let expected = check_digit::compute(&b[..b.len() - 1]).unwrap_or(0);
            return Err(IdError::InsurerNumberCheckDigit(digits.to_owned(), expected));
        }
        let mut out = [b' '; 8];
        out[8 - b.len()..].copy_from_slice(b);
        Ok(InsurerNumber(out))
    }

    /// The 8-character wire form (`"  131045"` for a 6-digit 国保 number).
    pub fn as_str(&self) -> &str {
        // Only ASCII digits and spaces are ever stored.
        std::str::from_utf8(&self.0).unwrap_or("")
    }

    /// The 8 bytes of the wire form, for keys.
    pub fn as_bytes(&self) -> &[u8; 8] {
        &self.0
    }

    /// Whether this is a 6-digit 国民健康保険 number.
    pub fn is_kokuho(&self) -> bool {
        self.0[0] == b' '
    }

    /// 法別番号 of an 8-digit number; `None` for 国保.
    pub fn houbetsu(&self) -> Option<u8> {
        (!self.is_kokuho()).then(|| (self.0[0] - b'0') * 10 + (self.0[1] - b'0'))
    }
}

impl fmt::Debug for InsurerNumber {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "InsurerNumber({:?})", self.as_str())
    }
}

impl fmt::Display for InsurerNumber {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str().trim_start())
    }
}

/// 点数表番号: which fee table a facility bills under, hence what kind of facility it is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ScoreTable {
    /// 1 医科: clinics and hospitals.
    Medical,
    /// 3 歯科: dental clinics.
    Dental,
    /// 4 調剤: pharmacies.
    Pharmacy,
    /// 6 訪問看護: home-visit nursing stations.
    VisitingNursing,
}

impl ScoreTable {
    fn from_digit(d: u8) -> Option<ScoreTable> {
        match d {
            b'1' => Some(ScoreTable::Medical),
            b'3' => Some(ScoreTable::Dental),
            b'4' => Some(ScoreTable::Pharmacy),
            b'6' => Some(ScoreTable::VisitingNursing),
            _ => None,
        }
    }

    /// The digit used in the 10-digit code.
    pub fn digit(self) -> char {
        match self {
            ScoreTable::Medical => '1',
            ScoreTable::Dental => '3',
            ScoreTable::Pharmacy => '4',
            ScoreTable::VisitingNursing => '6',
        }
    }
}

/// The 10-digit 医療機関コード (also 薬局コード): 都道府県 2 + 点数表 1 + 郡市区 2 + 機関番号 4 + 検証番号 1.
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, serde::Serialize, serde::Deserialize)]
#[serde(into = "String", try_from = "String")]
pub struct MedicalInstitutionCode([u8; 10]);

impl MedicalInstitutionCode {
    pub fn parse(s: &str, check: CheckDigits) -> Result<MedicalInstitutionCode, IdError> {
        let b = s.as_bytes();
        if b.len() != 10 || !b.iter().all(u8::is_ascii_digit) {
            return Err(IdError::FacilityCodeShape(echo(s)));
        }
        let pref = (b[0] - b'0') * 10 + (b[1] - b'0');
        if !(1..=47).contains(&pref) {
            return Err(IdError::Prefecture(s[..2].to_owned()));
        }
        if ScoreTable::from_digit(b[2]).is_none() {
            return Err(IdError::ScoreTable(s[2..3].to_owned()));
        }
        if check == CheckDigits::Strict && !check_digit::is_valid(b) {
            let expected = check_digit::compute(&b[..9]).unwrap_or(0);
            return Err(IdError::FacilityCodeCheckDigit(s.to_owned(), expected));
        }
        let mut out = [0u8; 10];
        out.copy_from_slice(b);
        Ok(MedicalInstitutionCode(out))
    }

    pub fn as_str(&self) -> &str {
        std::str::from_utf8(&self.0).unwrap_or("")
    }

    pub fn as_bytes(&self) -> &[u8; 10] {
        &self.0
    }

    /// 都道府県番号, 1–47.
    pub fn prefecture(&self) -> u8 {
        (self.0[0] - b'0') * 10 + (self.0[1] - b'0')
    }

    pub fn score_table(&self) -> ScoreTable {
        ScoreTable::from_digit(self.0[2]).unwrap_or(ScoreTable::Medical)
    }
}

impl fmt::Debug for MedicalInstitutionCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "MedicalInstitutionCode({})", self.as_str())
    }
}

impl fmt::Display for MedicalInstitutionCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Checks a free-form card field: at most `max` characters, no control characters or spaces
/// (so it can be used in keys with a NUL separator).
fn card_field(s: &str, max: usize) -> Result<(), IdError> {
    let len = s.chars().count();
    if len > max {
        return Err(IdError::TooLong { max, len });
    }
    if s.chars().any(|c| c.is_control() || c.is_whitespace()) {
        return Err(IdError::BadCharacters);
    }
    Ok(())
}

/// 被保険者証記号: up to 20 characters; may be empty (後期高齢者医療 has none).
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Default, serde::Serialize, serde::Deserialize)]
#[serde(into = "String", try_from = "String")]
pub struct InsuredCardSymbol(String);

impl InsuredCardSymbol {
    pub const MAX_CHARS: usize = 20;

    pub fn parse(s: &str) -> Result<InsuredCardSymbol, IdError> {
        card_field(s, Self::MAX_CHARS)?;
        Ok(InsuredCardSymbol(s.to_owned()))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// 被保険者証番号: 1 to 20 characters.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, serde::Serialize, serde::Deserialize)]
#[serde(into = "String", try_from = "String")]
pub struct InsuredIdentificationNumber(String);

impl InsuredIdentificationNumber {
    pub const MAX_CHARS: usize = 20;

    pub fn parse(s: &str) -> Result<InsuredIdentificationNumber, IdError> {
        if s.is_empty() {
            return Err(IdError::Missing);
        }
        card_field(s, Self::MAX_CHARS)?;
        Ok(InsuredIdentificationNumber(s.to_owned()))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// 被保険者証枝番: exactly 2 digits.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, serde::Serialize, serde::Deserialize)]
#[serde(into = "String", try_from = "String")]
pub struct InsuredBranchNumber([u8; 2]);

impl InsuredBranchNumber {
    /// `Ok(None)` for an empty string: cards issued before 2021 carry no 枝番.
    pub fn parse_optional(s: &str) -> Result<Option<InsuredBranchNumber>, IdError> {
        match s.as_bytes() {
            [] => Ok(None),
            [a, b] if a.is_ascii_digit() && b.is_ascii_digit() => Ok(Some(InsuredBranchNumber([*a, *b]))),
            _ => Err(IdError::BranchShape(echo(s))),
        }
    }

    /// The branch number `n` (0–99).
    pub fn from_number(n: u8) -> InsuredBranchNumber {
        let n = n % 100;
        InsuredBranchNumber([b'0' + n / 10, b'0' + n % 10])
    }

    pub fn as_str(&self) -> &str {
        std::str::from_utf8(&self.0).unwrap_or("")
    }

    pub fn as_bytes(&self) -> &[u8; 2] {
        &self.0
    }
}

/// The serial number of a card's 利用者証明用電子証明書, as uppercase hexadecimal without leading
/// zeros. Opaque: the real format is not published, only that it is an X.509 serial.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, serde::Serialize, serde::Deserialize)]
#[serde(into = "String", try_from = "String")]
pub struct CertificateSerial(String);

impl CertificateSerial {
    /// An X.509 serial is at most 20 octets.
    pub const MAX_HEX_DIGITS: usize = 40;

    pub fn parse(s: &str) -> Result<CertificateSerial, IdError> {
        if s.is_empty() {
            return Err(IdError::Missing);
        }
        if s.len() > Self::MAX_HEX_DIGITS || !s.bytes().all(|b| b.is_ascii_hexdigit()) {
            return Err(IdError::SerialShape(echo(s)));
        }
        let trimmed = s.trim_start_matches('0');
        let canonical = if trimmed.is_empty() { "0" } else { trimmed };
        Ok(CertificateSerial(canonical.to_ascii_uppercase()))
    }

    /// The serial of a 64-bit number.
    pub fn from_u64(v: u64) -> CertificateSerial {
        CertificateSerial(format!("{v:X}"))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for CertificateSerial {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl From<InsurerNumber> for String {
    fn from(v: InsurerNumber) -> String {
        v.as_str().to_owned()
    }
}

impl TryFrom<String> for InsurerNumber {
    type Error = IdError;

    fn try_from(s: String) -> Result<InsurerNumber, IdError> {
        InsurerNumber::parse(&s, CheckDigits::Lenient)
    }
}

impl From<MedicalInstitutionCode> for String {
    fn from(v: MedicalInstitutionCode) -> String {
        v.as_str().to_owned()
    }
}

impl TryFrom<String> for MedicalInstitutionCode {
    type Error = IdError;

    fn try_from(s: String) -> Result<MedicalInstitutionCode, IdError> {
        MedicalInstitutionCode::parse(&s, CheckDigits::Lenient)
    }
}

impl From<InsuredCardSymbol> for String {
    fn from(v: InsuredCardSymbol) -> String {
        v.0
    }
}

impl TryFrom<String> for InsuredCardSymbol {
    type Error = IdError;

    fn try_from(s: String) -> Result<InsuredCardSymbol, IdError> {
        card_field(&s, Self::MAX_CHARS)?;
        Ok(InsuredCardSymbol(s))
    }
}

impl From<InsuredIdentificationNumber> for String {
    fn from(v: InsuredIdentificationNumber) -> String {
        v.0
    }
}

impl TryFrom<String> for InsuredIdentificationNumber {
    type Error = IdError;

    fn try_from(s: String) -> Result<InsuredIdentificationNumber, IdError> {
        if s.is_empty() {
            return Err(IdError::Missing);
        }
        card_field(&s, Self::MAX_CHARS)?;
        Ok(InsuredIdentificationNumber(s))
    }
}

impl From<InsuredBranchNumber> for String {
    fn from(v: InsuredBranchNumber) -> String {
        v.as_str().to_owned()
    }
}

impl TryFrom<String> for InsuredBranchNumber {
    type Error = IdError;

    fn try_from(s: String) -> Result<InsuredBranchNumber, IdError> {
        InsuredBranchNumber::parse_optional(&s)?.ok_or(IdError::Missing)
    }
}

impl From<CertificateSerial> for String {
    fn from(v: CertificateSerial) -> String {
        v.0
    }
}

impl TryFrom<String> for CertificateSerial {
    type Error = IdError;

    fn try_from(s: String) -> Result<CertificateSerial, IdError> {
        CertificateSerial::parse(&s)
    }
}
#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn insurer_numbers_normalise_to_the_wire_form() {
        let n = InsurerNumber::parse("01130012", CheckDigits::Strict).expect("valid");
        assert_eq!(n.as_str(), "01130012");
        assert_eq!(n.houbetsu(), Some(1));
        let k = InsurerNumber::parse("131045", CheckDigits::Strict).expect("valid");
        assert_eq!(k.as_str(), "  131045");
        assert!(k.is_kokuho());
        assert_eq!(InsurerNumber::parse("  131045", CheckDigits::Strict), Ok(k));
    }

    #[test]
    fn insurer_number_errors() {
        assert!(matches!(
            InsurerNumber::parse("01130013", CheckDigits::Strict),
            Err(IdError::InsurerNumberCheckDigit(_, 2))
        ));
        assert!(InsurerNumber::parse("01130013", CheckDigits::Lenient).is_ok());
        for bad in ["", "0113001", "011300120", "0113001a", "  01130012", " 131045", "１３１０４５"] {
            assert!(
                matches!(InsurerNumber::parse(bad, CheckDigits::Lenient), Err(IdError::InsurerNumberShape(_))),
                "{bad:?}"
            );
        }
        assert!(matches!(
            InsurerNumber::parse("00130013", CheckDigits::Lenient),
            Err(IdError::InsurerNumberHoubetsu(_))
        ));
    }

    #[test]
    fn facility_codes() {
        let c = MedicalInstitutionCode::parse("0110113719", CheckDigits::Strict).expect("valid");
        assert_eq!(c.prefecture(), 1);
        assert_eq!(c.score_table(), ScoreTable::Medical);
        assert!(matches!(
            MedicalInstitutionCode::parse("0110113718", CheckDigits::Strict),
            Err(IdError::FacilityCodeCheckDigit(_, 9))
        ));
        assert!(MedicalInstitutionCode::parse("0110113718", CheckDigits::Lenient).is_ok());
        assert!(matches!(
            MedicalInstitutionCode::parse("4810113719", CheckDigits::Lenient),
            Err(IdError::Prefecture(_))
        ));
        assert!(matches!(
            MedicalInstitutionCode::parse("0120113719", CheckDigits::Lenient),
            Err(IdError::ScoreTable(_))
        ));
        assert!(matches!(
            MedicalInstitutionCode::parse("011011371", CheckDigits::Lenient),
            Err(IdError::FacilityCodeShape(_))
        ));
    }

    #[test]
    fn card_fields() {
        assert!(InsuredCardSymbol::parse("").is_ok());
        assert!(InsuredCardSymbol::parse("あ１２").is_ok());
        assert_eq!(InsuredCardSymbol::parse(&"1".repeat(21)), Err(IdError::TooLong { max: 20, len: 21 }));
        assert_eq!(InsuredCardSymbol::parse("12\u{0}3"), Err(IdError::BadCharacters));
        assert_eq!(InsuredIdentificationNumber::parse(""), Err(IdError::Missing));
        assert_eq!(InsuredBranchNumber::parse_optional(""), Ok(None));
        assert_eq!(
            InsuredBranchNumber::parse_optional("01").map(|b| b.map(|b| b.as_str().to_owned())),
            Ok(Some("01".into()))
        );
        assert!(InsuredBranchNumber::parse_optional("1").is_err());
        assert!(InsuredBranchNumber::parse_optional("0a").is_err());
    }

    #[test]
    fn serials_are_canonical_uppercase_hex() {
        assert_eq!(CertificateSerial::parse("00ab12").map(|s| s.as_str().to_owned()), Ok("AB12".into()));
        assert_eq!(CertificateSerial::parse("AB12"), CertificateSerial::parse("ab12"));
        assert!(CertificateSerial::parse("xyz").is_err());
        assert!(CertificateSerial::parse(&"A".repeat(41)).is_err());
        assert_eq!(CertificateSerial::parse(""), Err(IdError::Missing));
    }
}
