//! `onshi-server people`: JSON lines with what a client needs to ask about each person and the
//! answer to expect, computed from the deterministic population (no store needed), so anyone can
//! find valid patients and every scenario without reading the store.

use std::io::Write;

use onshi_domain::date::Date;
use onshi_domain::population::scenarios::{self, Ask};
use onshi_domain::population::{InsuredKeys, Population};
use onshi_domain::qualification::card_choice;
use onshi_domain::result_codes::{ResultCodes, ResultKey};
use serde_json::{Map, Value, json};

fn insured_fields(m: &mut Map<String, Value>, k: &InsuredKeys, birthdate: Date) {
    m.insert("insurer_number".into(), k.insurer_number.as_str().into());
    m.insert("insured_card_symbol".into(), k.symbol.as_str().into());
    m.insert("insured_identification_number".into(), k.number.as_str().into());
    m.insert("insured_branch_number".into(), k.branch.map(|b| b.as_str().to_owned()).unwrap_or_default().into());
    m.insert("birthdate".into(), birthdate.yyyymmdd().into());
}

/// One line per population person `from..from+count`, evaluated on `as_of`.
pub fn write_population(out: &mut impl Write, seed: u64, as_of: Date, from: u64, count: u64) -> std::io::Result<()> {
    let pop = Population::new(seed, as_of);
    for i in from..from.saturating_add(count) {
        let person = pop.person(i);
        let keys = pop.keys(i);
        let spans = person.spans();
        let validity = card_choice(&spans, as_of).map(|(_, v)| v.code()).unwrap_or("4");
        let mut m = Map::new();
        m.insert("index".into(), i.into());
        m.insert("card_serial".into(), keys.card_serial.as_ref().map(|s| s.as_str().to_owned()).into());
        insured_fields(&mut m, &keys.current, keys.birthdate);
        m.insert("expected_validity".into(), validity.into());
        let notice = person
            .cards
            .iter()
            .find(|c| c.revoked.is_none())
            .filter(|c| as_of.add_months(3).is_some_and(|d| c.expires <= d))
            .map(|_| ResultCodes::default().get(ResultKey::CertificateExpiresSoon).code.clone());
        m.insert("expected_card_result_code".into(), notice.into());
        m.insert("name".into(), person.name.into());
        serde_json::to_writer(&mut *out, &Value::Object(m))?;
        out.write_all(b"\n")?;
    }
    Ok(())
}

/// One line per question of every scenario, evaluated on `as_of`.
pub fn write_scenarios(out: &mut impl Write, as_of: Date) -> std::io::Result<()> {
    for s in scenarios::all(as_of) {
        for e in &s.expectations {
            let mut m = Map::new();
            m.insert("scenario".into(), s.key.into());
            match &e.ask {
                Ask::Card(serial) => {
                    m.insert("ask".into(), "ConfirmByCard".into());
                    m.insert("card_serial".into(), serial.as_str().into());
                }
                Ask::Insured(k, birthdate) => {
                    m.insert("ask".into(), "ConfirmByInsuredNumber".into());
                    insured_fields(&mut m, k, *birthdate);
                }
            }
            m.insert("expected_validity".into(), e.validity.code().into());
            m.insert(
                "expected_result_code".into(),
                e.result_code.map(|k| ResultCodes::default().get(k).code.clone()).into(),
            );
            m.insert("expected_results".into(), json!(e.results));
            m.insert("description".into(), s.description.into());
            serde_json::to_writer(&mut *out, &Value::Object(m))?;
            out.write_all(b"\n")?;
        }
    }
    Ok(())
}
