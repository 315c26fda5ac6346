//! The deterministic synthetic population: person `i` of seed `s` is a pure function, so the
//! loader, the load generator and the tests agree on who exists without sharing files.
//!
//! Identifiers (card serial, insurer number, 記号, 番号, 枝番, birthdate) depend only on the seed and
//! the index. Attributes that the real system keeps "as currently registered" — the co-payment
//! ratio, 未就学, the 高齢受給者証, certificate dates, the move to 後期高齢者医療 — are evaluated on the
//! population's reference date `as_of` (the day the store was seeded).
//!
//! Layout guarantees the seeder relies on:
//! - card serials are 16 uppercase hex digits whose first four encode a bijection of the block
//!   `i >> 16`, so all serials of one block sort together and blocks sort in
//!   [`Population::block_order`];
//! - `(記号, 番号)` is an injective function of `i` (and of which qualification in the chain), so no
//!   two population people share insured numbers.

mod insurers;
mod names;
mod places;
mod rng;
pub mod scenarios;

use std::sync::LazyLock;

pub use insurers::InsurerKind;
pub use places::{PLACES, Place};
pub use rng::{Rng, Stream, mix64};

use crate::age::fifth_birthday_after;
use crate::age::{self, AgeBand, IncomeLevel};
use crate::codes::{
    InsuredCardClassification, LimitBracket, LimitCertificateClassification, PersonalFamily, ReasonOfLoss, Sex,
    SpecificDisease,
};
use crate::date::Date;
use crate::digits::Decimal;
use crate::ids::{
    CertificateSerial, CheckDigits, InsuredBranchNumber, InsuredCardSymbol, InsuredIdentificationNumber, InsurerNumber,
};
use crate::kana::to_half_width;
use crate::qualification::{
    AgeTerms, Card, LimitCertificate, Loss, Person, PersonId, Qualification, SpecificDiseaseCertificate, age_terms,
    last_august_1, next_july_31,
};

/// Person ids at and above this are scenario people, never population indices.
pub const SCENARIO_ID_BASE: u64 = 1 << 40;

/// The largest population: insured numbers are drawn from a permutation of 10^9 values and card
/// serials from 2^15 blocks of 2^16 people.
pub const MAX_PERSONS: u64 = 500_000_000;

/// People per block: the unit in which card serials sort together (and the seeder's chunk).
pub const BLOCK_SIZE: u64 = 1 << 16;

/// Birthdates are spread over the age pyramid as it stood on this day.
const PYRAMID_DATE: (u16, u8, u8) = (2026, 4, 1);

/// The online qualification system started on this day; qualifications lost earlier are not kept.
const SYSTEM_START: (u16, u8, u8) = (2021, 3, 1);

/// 後期高齢者医療 began on this day.
const LATE_ELDERLY_SYSTEM_START: (u16, u8, u8) = (2008, 4, 1);

/// Japan's population in millions by 5-year age band (0–4 … 100–104), 2024.
const AGE_PYRAMID: [u32; 21] = [42, 49, 53, 55, 62, 64, 64, 71, 79, 92, 96, 84, 75, 76, 92, 77, 64, 43, 21, 6, 1];

/// Days in a 5-year age band.
const BAND_DAYS: u64 = 1826;

fn ymd((y, m, d): (u16, u8, u8)) -> Date {
    Date::new(y, m, d).expect("the date constants of this module are calendar dates")
}

/// Half-width readings of the name tables, converted once.
struct Readings {
    surnames: Vec<String>,
    male: Vec<String>,
    female: Vec<String>,
}

static READINGS: LazyLock<Readings> = LazyLock::new(|| Readings {
    surnames: names::SURNAMES.iter().map(|(_, r, _)| to_half_width(r)).collect(),
    male: names::MALE_GIVEN.iter().map(|(_, r, _)| to_half_width(r)).collect(),
    female: names::FEMALE_GIVEN.iter().map(|(_, r, _)| to_half_width(r)).collect(),
});

/// Insurer numbers and names that depend only on where a person lives or which employer insurer
/// they belong to, worked out once instead of for every person.
struct InsurerTable {
    /// By place (the index into [`PLACES`]).
    places: Vec<PlaceInsurers>,
    kumiai: Vec<InsurerNumber>,
    kyosai: Vec<InsurerNumber>,
}

struct PlaceInsurers {
    kyokai_kenpo: InsurerNumber,
    kyokai_kenpo_name: String,
    kokuho: InsurerNumber,
    late_elderly: InsurerNumber,
    late_elderly_name: String,
}

static INSURERS: LazyLock<InsurerTable> = LazyLock::new(|| InsurerTable {
    places: PLACES
        .iter()
        .map(|place| PlaceInsurers {
            kyokai_kenpo: valid_insurer(&insurers::kyokai_kenpo_number(place.prefecture)),
            kyokai_kenpo_name: format!(
                "全国健康保険協会{}支部",
                place.prefecture_name.trim_end_matches(['都', '府', '県'])
            ),
            kokuho: valid_insurer(&insurers::kokuho_number(place.prefecture, place.kokuho_code)),
            late_elderly: valid_insurer(&insurers::late_elderly_number(place.prefecture)),
            late_elderly_name: format!("{}後期高齢者医療広域連合", place.prefecture_name),
        })
        .collect(),
    kumiai: insurers::KENPO_KUMIAI.iter().map(|i| valid_insurer(&insurers::named_number(i))).collect(),
    kyosai: insurers::KYOSAI.iter().map(|i| valid_insurer(&insurers::named_number(i))).collect(),
});

/// Appends `n` in decimal, zero-padded to `width` digits.
fn push_decimal(s: &mut String, n: u64, width: usize) {
    s.push_str(Decimal::new(n, width).as_str());
}

/// A seeded population evaluated on a reference date.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Population {
    pub seed: u64,
    /// The reference date of "currently registered" attributes (see the module docs).
    pub as_of: Date,
}

/// The identifiers of one qualification: what a facility types from an insurance card.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InsuredKeys {
    pub insurer_number: InsurerNumber,
    pub symbol: InsuredCardSymbol,
    pub number: InsuredIdentificationNumber,
    pub branch: Option<InsuredBranchNumber>,
}

/// What a client needs to ask about a person, computed without the rest of the record.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PersonKeys {
    pub id: PersonId,
    pub birthdate: Date,
    /// The active card's certificate serial, if the person holds a card.
    pub card_serial: Option<CertificateSerial>,
    /// The qualification in force on `as_of`.
    pub current: InsuredKeys,
}

/// The choices that decide a person's identifiers.
#[derive(Debug, Clone, Copy)]
struct Skeleton {
    index: u64,
    birthdate: Date,
    sex: Sex,
    place: &'static Place,
    /// The index of `place` in [`PLACES`].
    place_index: usize,
    /// The insurer before 後期高齢者医療 (or the only one).
    insurer: Insurer,
    family: PersonalFamily,
    branch: u8,
    has_card: bool,
    /// Whether the person has moved to 後期高齢者医療 by `as_of` (and since when).
    late_elderly_from: Option<Date>,
    /// Whether the pre-75 qualification is still kept (lost after the online system started).
    keeps_previous: bool,
}

#[derive(Debug, Clone, Copy)]
enum Insurer {
    KyokaiKenpo,
    Kumiai(usize),
    Kyosai(usize),
    Kokuho,
}

impl Population {
    pub fn new(seed: u64, as_of: Date) -> Population {
        Population { seed, as_of }
    }

    /// The keys of person `index` (< [`MAX_PERSONS`]).
    pub fn keys(&self, index: u64) -> PersonKeys {
        let sk = self.skeleton(index);
        PersonKeys {
            id: PersonId(index),
            birthdate: sk.birthdate,
            card_serial: sk.has_card.then(|| self.card_serial(index)),
            current: match sk.late_elderly_from {
                Some(_) => self.late_elderly_keys(&sk),
                None => self.employee_keys(&sk),
            },
        }
    }

    /// The blocks `0..blocks` in the order their card serials sort.
    pub fn block_order(&self, blocks: u64) -> Vec<u64> {
        let mut order: Vec<u64> = (0..blocks).collect();
        order.sort_by_key(|b| self.block_prefix(*b));
        order
    }

    fn block_prefix(&self, block: u64) -> u64 {
        0x8000 | rng::permute15(block ^ (self.seed & 0x7FFF))
    }

    /// The active card serial of person `index`: 16 hex digits, the block's prefix first.
    pub fn card_serial(&self, index: u64) -> CertificateSerial {
        let low = rng::permute48(index ^ (mix64(self.seed) & ((1 << 48) - 1)));
        CertificateSerial::from_u64((self.block_prefix(index / BLOCK_SIZE) << 48) | low)
    }

    /// Person `index` in full.
    pub fn person(&self, index: u64) -> Person {
        let sk = self.skeleton(index);
        let mut r = Rng::new(self.seed, Stream::Details, index);
        let readings = &*READINGS;

        let s = r.weighted(names::SURNAMES.iter().map(|n| n.2));
        let (given_table, given_readings) = match sk.sex {
            Sex::Female => (names::FEMALE_GIVEN, &readings.female),
            _ => (names::MALE_GIVEN, &readings.male),
        };
        let g = r.weighted(given_table.iter().map(|n| n.2));
        let name = [names::SURNAMES[s].0, "\u{3000}", given_table[g].0].concat();
        let name_kana = [readings.surnames[s].as_str(), " ", given_readings[g].as_str()].concat();
        let insured_name = match sk.family {
            PersonalFamily::Insured => name.clone(),
            PersonalFamily::Dependent => {
                // The head of household: same surname, a given name of the other sex for a
                // spouse, either for a parent.
                let table =
                    if sk.sex == Sex::Female || r.chance(500) { names::MALE_GIVEN } else { names::FEMALE_GIVEN };
                let h = r.weighted(table.iter().map(|n| n.2));
                [names::SURNAMES[s].0, "\u{3000}", table[h].0].concat()
            }
        };
        let place = sk.place;
        let address = {
            let chome = r.between(1, 5);
            let ban = r.between(1, 30);
            let go = r.between(1, 20);
            let mut a = String::with_capacity(128);
            for (part, number) in [
                (place.prefecture_name, None),
                (place.municipality, None),
                (place.town, Some(chome)),
                ("丁目", Some(ban)),
                ("番", Some(go)),
                ("号", None),
            ] {
                a.push_str(part);
                if let Some(n) = number {
                    push_decimal(&mut a, n, 1);
                }
            }
            if r.chance(350) {
                a.push('　');
                a.push_str(["メゾン", "コーポ", "ハイツ", "レジデンス"][r.below(4) as usize]);
                push_decimal(&mut a, r.between(1, 12) * 100 + r.between(1, 9), 1);
            }
            a
        };

        let income = match age::age_band(sk.birthdate, self.as_of) {
            AgeBand::Elderly if r.chance(100) => IncomeLevel::WorkingLevel,
            AgeBand::LateElderly if r.chance(70) => IncomeLevel::WorkingLevel,
            AgeBand::LateElderly if r.chance(215) => IncomeLevel::Middle,
            _ => IncomeLevel::General,
        };

        let mut qualifications = Vec::with_capacity(2);
        let pre75 = self.pre75_qualification(&sk, &mut r, &insured_name, income);
        match sk.late_elderly_from {
            Some(from) => {
                if sk.keeps_previous {
                    let mut prev = pre75;
                    prev.loss = Some(Loss { date: from, reason: ReasonOfLoss::OtherInsurance });
                    prev.contribution_percent =
                        age::contribution_percent(sk.birthdate, from.pred().unwrap_or(from), income);
                    prev.elderly = None;
                    prev.limit_certificate = None;
                    prev.specific_diseases.clear();
                    qualifications.push(prev);
                }
                qualifications.push(self.late_elderly_qualification(&sk, &mut r, &name, from, income));
            }
            None => qualifications.push(pre75),
        }

        let cards = if sk.has_card {
            // The certificate was issued (or last renewed) within the four years before as_of and
            // runs to the 5th birthday after issue, so it is valid on as_of; a few percent expire
            // within three months.
            let issued = self.as_of.add_days(-(r.between(30, 4 * 365) as i64)).unwrap_or(self.as_of);
            vec![Card {
                serial: self.card_serial(index),
                issued,
                expires: fifth_birthday_after(sk.birthdate, issued),
                revoked: None,
            }]
        } else {
            Vec::new()
        };

        Person {
            id: PersonId(index),
            name,
            name_kana,
            sex: sk.sex,
            birthdate: sk.birthdate,
            address,
            post_number: place.post_number.to_owned(),
            cards,
            qualifications,
        }
    }

    fn skeleton(&self, index: u64) -> Skeleton {
        let mut r = Rng::new(self.seed, Stream::Skeleton, index);
        let band = r.weighted(AGE_PYRAMID.iter().copied()) as u64;
        let age_days = band * BAND_DAYS + r.below(BAND_DAYS);
        let birthdate = ymd(PYRAMID_DATE).add_days(-(age_days as i64)).unwrap_or_else(|| ymd(PYRAMID_DATE));
        let female_per_mille = if band >= 16 { 600 } else { 505 };
        let sex = if r.chance(female_per_mille) { Sex::Female } else { Sex::Male };
        let place_index = r.weighted(PLACES.iter().map(|p| p.weight));
        let place = &PLACES[place_index];

        // The insurer before 75, by age at the pyramid date: retirees move to 国保.
        let age_years = age_days / 365;
        let kokuho_per_mille = match age_years {
            0..=19 => 180,
            20..=59 => 200,
            60..=64 => 350,
            _ => 650,
        };
        let insurer = if r.chance(kokuho_per_mille) {
            Insurer::Kokuho
        } else {
            match r.weighted([52u32, 36, 12].into_iter()) {
                0 => Insurer::KyokaiKenpo,
                1 => Insurer::Kumiai(r.weighted(insurers::KENPO_KUMIAI.iter().map(|i| i.weight))),
                _ => Insurer::Kyosai(r.weighted(insurers::KYOSAI.iter().map(|i| i.weight))),
            }
        };
        let dependent_per_mille = match age_years {
            0..=17 => 1000,
            18..=22 => 600,
            23..=64 if sex == Sex::Female => 330,
            23..=64 => 40,
            _ if sex == Sex::Female => 400,
            _ => 60,
        };
        let family = if r.chance(dependent_per_mille) { PersonalFamily::Dependent } else { PersonalFamily::Insured };
        let branch = match family {
            PersonalFamily::Insured => 0,
            PersonalFamily::Dependent => r.between(1, 4) as u8,
        };
        let card_per_mille = match age_years {
            0..=14 => 650,
            15..=79 => 830,
            _ => 700,
        };
        let has_card = r.chance(card_per_mille);

        let late_elderly_start = age::late_elderly_start(birthdate);
        let late_elderly_from =
            late_elderly_start.filter(|d| *d <= self.as_of).map(|d| d.max(ymd(LATE_ELDERLY_SYSTEM_START)));
        let keeps_previous = late_elderly_start.is_some_and(|d| d >= ymd(SYSTEM_START));

        Skeleton {
            index,
            birthdate,
            sex,
            place,
            place_index,
            insurer,
            family,
            branch,
            has_card,
            late_elderly_from,
            keeps_previous,
        }
    }

    /// An injective map of the index into 0..10^9 (3^18 is coprime to 10), offset per seed.
    fn n9(&self, index: u64) -> u64 {
        let offset = Rng::new(self.seed, Stream::Layout, 9).below(1_000_000_000);
        (index.wrapping_mul(387_420_489) + offset) % 1_000_000_000
    }

    /// The insured numbers of the pre-75 qualification. `(n9 / 10^5, n9 % 10^5)` recovers n9 from
    /// (記号, 番号), so numbers never repeat.
    fn employee_keys(&self, sk: &Skeleton) -> InsuredKeys {
        let n9 = self.n9(sk.index);
        let (hi, lo) = (n9 / 100_000, n9 % 100_000);
        // Office codes stay below 9000: 記号 starting with 9 belong to the scenario people.
        let office = 1000 + (mix64(self.seed ^ sk.index) % 8000);
        let table = &*INSURERS;
        let mut symbol = String::with_capacity(8);
        let mut number = String::with_capacity(5);
        let insurer_number = match sk.insurer {
            Insurer::KyokaiKenpo => {
                push_decimal(&mut symbol, office, 4);
                push_decimal(&mut symbol, hi, 4);
                push_decimal(&mut number, lo + 1, 1);
                table.places[sk.place_index].kyokai_kenpo
            }
            Insurer::Kumiai(k) => {
                push_decimal(&mut symbol, hi + 1, 1);
                push_decimal(&mut number, lo + 1, 1);
                table.kumiai[k]
            }
            Insurer::Kyosai(k) => {
                push_decimal(&mut symbol, u64::from(sk.place.prefecture), 2);
                symbol.push('-');
                push_decimal(&mut symbol, hi, 4);
                push_decimal(&mut number, lo, 5);
                table.kyosai[k]
            }
            Insurer::Kokuho => {
                push_decimal(&mut symbol, hi, 4);
                push_decimal(&mut number, lo, 5);
                table.places[sk.place_index].kokuho
            }
        };
        InsuredKeys {
            insurer_number,
            symbol: InsuredCardSymbol::try_from(symbol).unwrap_or_default(),
            number: valid_number(number),
            branch: Some(InsuredBranchNumber::from_number(sk.branch)),
        }
    }

    /// 後期高齢者医療: no 記号 or 枝番; the 被保険者番号 is 7 digits and a check digit.
    fn late_elderly_keys(&self, sk: &Skeleton) -> InsuredKeys {
        let offset = Rng::new(self.seed, Stream::Layout, 7).below(10_000_000);
        let n7 = (sk.index.wrapping_mul(4_782_969) + offset) % 10_000_000;
        let mut number = String::with_capacity(8);
        push_decimal(&mut number, n7, 7);
        let check = crate::check_digit::compute(number.as_bytes()).unwrap_or(0);
        number.push(char::from(b'0' + check));
        InsuredKeys {
            insurer_number: INSURERS.places[sk.place_index].late_elderly,
            symbol: InsuredCardSymbol::default(),
            number: valid_number(number),
            branch: None,
        }
    }

    fn insurer_name(&self, sk: &Skeleton) -> String {
        match sk.insurer {
            Insurer::KyokaiKenpo => INSURERS.places[sk.place_index].kyokai_kenpo_name.clone(),
            Insurer::Kumiai(k) => insurers::KENPO_KUMIAI[k].name.to_owned(),
            Insurer::Kyosai(k) => insurers::KYOSAI[k].name.to_owned(),
            Insurer::Kokuho => sk.place.municipality.to_owned(),
        }
    }

    fn pre75_qualification(
        &self,
        sk: &Skeleton,
        r: &mut Rng,
        insured_name: &str,
        income: IncomeLevel,
    ) -> Qualification {
        let keys = self.employee_keys(sk);
        let earliest = match sk.family {
            PersonalFamily::Insured => sk.birthdate.add_years(18).unwrap_or(sk.birthdate),
            PersonalFamily::Dependent => sk.birthdate,
        };
        let back = r.between(30, 25 * 365) as i64;
        let qualification_date = self.as_of.add_days(-back).unwrap_or(self.as_of).max(earliest).min(self.as_of);
        let AgeTerms { contribution_percent, preschool, elderly } =
            age_terms(sk.birthdate, self.as_of, age::contribution_percent(sk.birthdate, self.as_of, income));
        let kokuho = matches!(sk.insurer, Insurer::Kokuho);
        let mut q = Qualification {
            insurer_number: keys.insurer_number,
            insurer_name: self.insurer_name(sk),
            card_classification: InsuredCardClassification::General,
            symbol: keys.symbol,
            number: keys.number,
            branch: keys.branch,
            family: sk.family,
            insured_name: insured_name.to_owned(),
            qualification_date,
            loss: None,
            card_issued: qualification_date,
            card_valid_from: qualification_date,
            card_valid_until: kokuho.then(|| next_july_31(self.as_of)),
            contribution_percent,
            preschool,
            elderly,
            limit_certificate: None,
            specific_diseases: Vec::new(),
        };
        if r.chance(20) {
            let age = age::age_on(sk.birthdate, self.as_of);
            let (classification, bracket) = if age < 70 {
                (LimitCertificateClassification::Limit, LimitBracket::A(r.between(1, 5) as u8))
            } else if income == IncomeLevel::WorkingLevel {
                (LimitCertificateClassification::Limit, LimitBracket::B(r.between(2, 3) as u8))
            } else {
                (LimitCertificateClassification::LimitAndMealReduction, LimitBracket::B(r.between(5, 6) as u8))
            };
            q.limit_certificate = Some(limit_certificate(classification, bracket, qualification_date, self.as_of));
        }
        if r.chance(3) {
            let high_income = matches!(q.limit_certificate.map(|l| l.bracket), Some(LimitBracket::A(1 | 2)));
            q.specific_diseases.push(dialysis(
                qualification_date,
                self.as_of,
                high_income && age::age_on(sk.birthdate, self.as_of) < 70,
            ));
        }
        q
    }

    fn late_elderly_qualification(
        &self,
        sk: &Skeleton,
        r: &mut Rng,
        name: &str,
        from: Date,
        income: IncomeLevel,
    ) -> Qualification {
        let keys = self.late_elderly_keys(sk);
        let mut q = Qualification {
            insurer_number: keys.insurer_number,
            insurer_name: INSURERS.places[sk.place_index].late_elderly_name.clone(),
            card_classification: InsuredCardClassification::General,
            symbol: keys.symbol,
            number: keys.number,
            branch: None,
            family: PersonalFamily::Insured,
            insured_name: name.to_owned(),
            qualification_date: from,
            loss: None,
            card_issued: from.max(last_august_1(self.as_of)),
            card_valid_from: from,
            card_valid_until: Some(next_july_31(self.as_of)),
            contribution_percent: age::contribution_percent(sk.birthdate, self.as_of, income),
            preschool: false,
            elderly: None,
            limit_certificate: None,
            specific_diseases: Vec::new(),
        };
        if income == IncomeLevel::General && r.chance(60) {
            q.limit_certificate = Some(limit_certificate(
                LimitCertificateClassification::LateElderlyLimitAndMealReduction,
                LimitBracket::B(r.between(5, 6) as u8),
                from,
                self.as_of,
            ));
        }
        if r.chance(5) {
            q.specific_diseases.push(dialysis(from, self.as_of, false));
        }
        q
    }
}

fn limit_certificate(
    classification: LimitCertificateClassification,
    bracket: LimitBracket,
    qualified: Date,
    as_of: Date,
) -> LimitCertificate {
    let valid_from = qualified.max(last_august_1(as_of));
    LimitCertificate {
        classification,
        bracket,
        certificate_date: valid_from,
        valid_from,
        valid_until: next_july_31(as_of),
        long_term_date: None,
    }
}

fn dialysis(qualified: Date, as_of: Date, high_income_under_70: bool) -> SpecificDiseaseCertificate {
    let valid_from = qualified.max(as_of.add_days(-3 * 365).unwrap_or(as_of));
    SpecificDiseaseCertificate {
        disease: SpecificDisease::ChronicRenalFailureOnDialysis,
        certificate_date: valid_from,
        valid_from,
        valid_until: None,
        self_pay_yen: if high_income_under_70 { 20_000 } else { 10_000 },
    }
}

fn valid_insurer(s: &str) -> InsurerNumber {
    // Generated numbers always carry a valid check digit; Lenient only guards the shape.
    InsurerNumber::parse(s, CheckDigits::Lenient).unwrap_or_else(|e| panic!("generated insurer number {s:?}: {e}"))
}

fn valid_number(s: String) -> InsuredIdentificationNumber {
    InsuredIdentificationNumber::try_from(s).unwrap_or_else(|e| panic!("generated insured number: {e}"))
}

#[cfg(test)]
mod tests;
