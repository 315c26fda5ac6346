//! Finding a patient to put on the reader: the scenario people (one per awkward case, with the
//! card serials each case is asked with, unknown ones included) and the seeded population
//! (person i of seed s, computed the same way the server seeded it, so no store is read), by
//! name, kana, insured numbers or card serial.

use onshi_domain::date::Date;
use onshi_domain::ids::{CheckDigits, InsurerNumber};
use onshi_domain::kana::to_half_width;
use onshi_domain::population::Population;
use onshi_domain::population::scenarios::{self, Ask};
use onshi_domain::qualification::{Person, card_choice};

/// The population the server was seeded with (the screen's `--population SEED:PERSONS`).
#[derive(Debug, Clone, Copy)]
pub struct PopulationRef {
    pub seed: u64,
    pub persons: u64,
}

/// What the search form asked.
#[derive(Debug, Clone, Default, serde::Deserialize)]
pub struct Query {
    #[serde(default)]
    pub name: String,
    #[serde(default)]
    pub insurer: String,
    #[serde(default)]
    pub symbol: String,
    #[serde(default)]
    pub number: String,
    #[serde(default)]
    pub serial: String,
}

/// A field the form must correct, and why.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FieldError {
    pub field: &'static str,
    pub message: String,
}

/// A card a found person can put on the reader.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CardChoice {
    pub serial: String,
    /// "有効", "失効（再発行済み）", "未登録のカード", …
    pub state: String,
}

/// A person found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Hit {
    /// "シナリオ valid" or "人口 #123".
    pub origin: String,
    pub description: String,
    pub name: String,
    pub kana: String,
    pub birthdate: String,
    pub insurer: String,
    pub symbol: String,
    pub number: String,
    pub branch: String,
    /// 資格有効性 on the day, by name.
    pub validity: String,
    pub cards: Vec<CardChoice>,
}

/// The most hits shown.
pub const MAX_HITS: usize = 20;
/// How many population persons a name search looks through at most.
pub const MAX_SCANNED: u64 = 2_000_000;

impl Query {
    pub fn is_empty(&self) -> bool {
        [&self.name, &self.insurer, &self.symbol, &self.number, &self.serial].iter().all(|s| s.trim().is_empty())
    }

    /// The fields that cannot match anything as written.
    pub fn check(&self) -> Vec<FieldError> {
        let mut errors = Vec::new();
        let insurer = self.insurer.trim();
        if !insurer.is_empty()
            && let Err(e) = InsurerNumber::parse(insurer, CheckDigits::Strict)
        {
            errors.push(FieldError {
                field: "insurer",
                message: format!("保険者番号は6桁または8桁の数字です（検証番号を含む）: {e}"),
            });
        }
        let number = self.number.trim();
        if number.chars().count() > 20 {
            errors.push(FieldError { field: "number", message: "被保険者証番号は20文字までです".into() });
        }
        if self.symbol.trim().chars().count() > 20 {
            errors.push(FieldError { field: "symbol", message: "被保険者証記号は20文字までです".into() });
        }
        let serial = self.serial.trim();
        let hex = serial.len() <= 32 && serial.bytes().all(|b| b.is_ascii_hexdigit());
        if !serial.is_empty() && !hex {
            errors.push(FieldError {
                field: "serial", message: "シリアル番号は16進数（32桁まで）です".into()
            });
        }
        errors
    }

    fn matches(&self, p: &Person, insurer: &str, symbol: &str, number: &str, serials: &[String]) -> bool {
        let name = self.name.trim();
        if !name.is_empty() {
            let squeezed: String = name.chars().filter(|c| !c.is_whitespace()).collect();
            let katakana: String = squeezed
                .chars()
                .map(|c| {
                    if ('\u{3041}'..='\u{3096}').contains(&c) {
                        char::from_u32(c as u32 + 0x60).unwrap_or(c)
                    } else {
                        c
                    }
                })
                .collect();
            let kana_query: String = to_half_width(&katakana).chars().filter(|c| *c != ' ').collect();
            let person_name: String = p.name.chars().filter(|c| !c.is_whitespace()).collect();
            let person_kana: String = p.name_kana.chars().filter(|c| *c != ' ').collect();
            if !person_name.contains(&squeezed) && !person_kana.contains(&kana_query) {
                return false;
            }
        }
        let field = |q: &str, v: &str| q.trim().is_empty() || q.trim() == v.trim();
        field(&self.insurer, insurer)
            && field(&self.symbol, symbol)
            && field(&self.number, number)
            && (self.serial.trim().is_empty() || serials.iter().any(|s| s.eq_ignore_ascii_case(self.serial.trim())))
    }
}

fn hit(origin: String, description: String, p: &Person, on: Date, extra_cards: Vec<CardChoice>) -> Hit {
    let spans = p.spans();
    let choice = card_choice(&spans, on);
    let q = choice.and_then(|(i, _)| p.qualifications.get(i)).or(p.qualifications.last());
    let mut cards: Vec<CardChoice> = p
        .cards
        .iter()
        .rev()
        .map(|c| CardChoice {
            serial: c.serial.as_str().to_owned(),
            state: match c.revoked {
                Some(_) => "失効（再発行・更新済み）".into(),
                None if c.expires < on => "有効期限切れ".into(),
                None if on.add_months(3).is_some_and(|d| c.expires <= d) => {
                    format!("有効（{} 期限・3か月以内）", c.expires.yyyymmdd())
                }
                None => "有効".into(),
            },
        })
        .collect();
    cards.extend(extra_cards);
    Hit {
        origin,
        description,
        name: p.name.clone(),
        kana: p.name_kana.clone(),
        birthdate: p.birthdate.yyyymmdd(),
        insurer: q.map(|q| q.insurer_number.as_str().to_owned()).unwrap_or_default(),
        symbol: q.map(|q| q.symbol.as_str().to_owned()).unwrap_or_default(),
        number: q.map(|q| q.number.as_str().to_owned()).unwrap_or_default(),
        branch: q.and_then(|q| q.branch.map(|b| b.as_str().to_owned())).unwrap_or_default(),
        validity: choice.map_or("該当資格なし", |(_, v)| v.name()).to_owned(),
        cards,
    }
}

/// Every scenario person, by case (also the unknown card serials the cases are asked with).
pub fn scenario_people(on: Date) -> Vec<Hit> {
    let mut out = Vec::new();
    for s in scenarios::all(on) {
        let owned: Vec<String> =
            s.persons.iter().flat_map(|p| p.cards.iter().map(|c| c.serial.as_str().to_owned())).collect();
        let unknown: Vec<CardChoice> = s
            .expectations
            .iter()
            .filter_map(|e| match &e.ask {
                Ask::Card(serial) if !owned.iter().any(|o| o == serial.as_str()) => {
                    Some(CardChoice { serial: serial.as_str().to_owned(), state: "未登録のカード".into() })
                }
                _ => None,
            })
            .collect();
        for (i, p) in s.persons.iter().enumerate() {
            let extra = if i == 0 { unknown.clone() } else { Vec::new() };
            out.push(hit(format!("シナリオ {}", s.key), s.description.to_owned(), p, on, extra));
        }
    }
    out
}

/// The people matching `q`: scenario people first, then the population's, at most [`MAX_HITS`].
/// Runs on a blocking thread: a name search looks through the population.
pub fn find(q: &Query, population: Option<PopulationRef>, on: Date) -> Vec<Hit> {
    let mut hits: Vec<Hit> = Vec::new();
    for s in scenarios::all(on) {
        for p in &s.persons {
            let q0 = p.qualifications.last();
            let serials: Vec<String> = p.cards.iter().map(|c| c.serial.as_str().to_owned()).collect();
            let matched = p.qualifications.iter().any(|qual| {
                q.matches(p, qual.insurer_number.as_str(), qual.symbol.as_str(), qual.number.as_str(), &serials)
            });
            if matched && q0.is_some() && hits.len() < MAX_HITS {
                hits.push(hit(format!("シナリオ {}", s.key), s.description.to_owned(), p, on, Vec::new()));
            }
        }
    }
    let Some(pop) = population else { return hits };
    let population = Population::new(pop.seed, on);
    let needs_person = !q.name.trim().is_empty();
    for i in 0..pop.persons.min(MAX_SCANNED) {
        if hits.len() >= MAX_HITS {
            break;
        }
        // The keys are cheap; the whole person only when the name is asked for or the keys match.
        let keys = population.keys(i);
        let serial = keys.card_serial.as_ref().map(|s| s.as_str().to_owned());
        let keys_match = (q.insurer.trim().is_empty() || q.insurer.trim() == keys.current.insurer_number.as_str())
            && (q.symbol.trim().is_empty() || q.symbol.trim() == keys.current.symbol.as_str())
            && (q.number.trim().is_empty() || q.number.trim() == keys.current.number.as_str())
            && (q.serial.trim().is_empty()
                || serial.as_deref().is_some_and(|s| s.eq_ignore_ascii_case(q.serial.trim())));
        if !keys_match {
            continue;
        }
        let p = population.person(i);
        if needs_person {
            let serials: Vec<String> = p.cards.iter().map(|c| c.serial.as_str().to_owned()).collect();
            if !q.matches(
                &p,
                keys.current.insurer_number.as_str(),
                keys.current.symbol.as_str(),
                keys.current.number.as_str(),
                &serials,
            ) {
                continue;
            }
        }
        hits.push(hit(format!("人口 #{i}"), String::new(), &p, on, Vec::new()));
    }
    hits
}
