//! The clinics and pharmacies that appear in generated medical histories: fictional names with
//! well-formed 10-digit codes (valid check digits).

use crate::check_digit;
use crate::population::{Rng, Stream};
use crate::qualification::PersonId;

/// A facility as a history record shows it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct NamedFacility {
    /// 9 digits before the check digit; see [`NamedFacility::code`].
    body: &'static str,
    pub name: &'static str,
}

impl NamedFacility {
    /// The 10-digit 医療機関コード.
    pub fn code(&self) -> String {
        check_digit::append(self.body)
    }
}

const fn f(body: &'static str, name: &'static str) -> NamedFacility {
    NamedFacility { body, name }
}

pub const PHARMACIES: &[NamedFacility] = &[
    f("134110021", "さくら調剤薬局 新宿店"),
    f("134120033", "みどり薬局 世田谷店"),
    f("144010045", "ひまわり調剤薬局 横浜中央店"),
    f("274010057", "なにわ薬局 梅田店"),
    f("234010069", "あおい調剤薬局 栄店"),
    f("014010071", "すずらん薬局 札幌店"),
    f("404010083", "はかた調剤薬局 駅前店"),
    f("114010095", "けやき薬局 浦和店"),
];

pub const CLINICS: &[NamedFacility] = &[
    f("131100107", "新宿内科クリニック"),
    f("131200119", "三軒茶屋ファミリークリニック"),
    f("141100121", "みなとみらい内科"),
    f("271100133", "梅田総合クリニック"),
    f("231100145", "栄整形外科"),
    f("011100157", "大通り耳鼻咽喉科"),
    f("401100169", "博多こどもクリニック"),
    f("111100171", "浦和駅前医院"),
];

/// The pharmacy a person usually goes to.
pub fn pharmacy_of(seed: u64, person: PersonId) -> NamedFacility {
    PHARMACIES[Rng::new(seed, Stream::Facilities, person.0).below(PHARMACIES.len() as u64) as usize]
}

/// The clinic that prescribes a person's regular medicines.
pub fn clinic_of(seed: u64, person: PersonId) -> NamedFacility {
    let mut r = Rng::new(seed, Stream::Facilities, person.0);
    r.next_u64();
    CLINICS[r.below(CLINICS.len() as u64) as usize]
}

pub fn other_pharmacy(r: &mut Rng) -> NamedFacility {
    PHARMACIES[r.below(PHARMACIES.len() as u64) as usize]
}

pub fn other_clinic(r: &mut Rng) -> NamedFacility {
    CLINICS[r.below(CLINICS.len() as u64) as usize]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_are_well_formed() {
        for fac in PHARMACIES.iter().chain(CLINICS) {
            let code = fac.code();
            assert_eq!(code.len(), 10);
            assert!(check_digit::is_valid(code.as_bytes()));
        }
        assert!(PHARMACIES.iter().all(|p| &p.code()[2..3] == "4"));
        assert!(CLINICS.iter().all(|p| &p.code()[2..3] == "1"));
    }
}
