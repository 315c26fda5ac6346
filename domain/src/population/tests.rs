//! Determinism and consistency of the synthetic population.

use std::collections::HashSet;

use super::*;
use crate::check_digit;
use crate::qualification::card_choice;

fn pop() -> Population {
    Population::new(42, Date::new(2026, 11, 23).expect("date"))
}

#[test]
fn person_i_is_a_pure_function() {
    let p = pop();
    for i in [0, 1, 17, 65_535, 65_536, 1_234_567, MAX_PERSONS - 1] {
        assert_eq!(p.person(i), p.person(i), "person {i}");
        assert_eq!(p.keys(i), p.keys(i));
    }
    // Another population object with the same seed agrees; another seed does not.
    let again = Population::new(42, p.as_of);
    assert_eq!(p.person(99), again.person(99));
    let other = Population::new(43, p.as_of);
    assert_ne!(p.keys(99), other.keys(99));
}

#[test]
fn keys_agree_with_the_full_record() {
    let p = pop();
    for i in 0..5_000 {
        let person = p.person(i);
        let keys = p.keys(i);
        assert_eq!(keys.birthdate, person.birthdate);
        assert_eq!(keys.card_serial, person.cards.iter().find(|c| c.revoked.is_none()).map(|c| c.serial.clone()));
        let current = person.qualifications.last().expect("everyone is insured");
        assert_eq!(keys.current.insurer_number, current.insurer_number);
        assert_eq!(keys.current.symbol, current.symbol);
        assert_eq!(keys.current.number, current.number);
        assert_eq!(keys.current.branch, current.branch);
        // The card's certificate is valid on the reference date.
        if let Some(card) = person.cards.first() {
            assert!(card.expires >= p.as_of, "person {i}: certificate expired {}", card.expires);
        }
        // The current qualification is in force on the reference date.
        let spans = person.spans();
        assert_eq!(card_choice(&spans, p.as_of).map(|c| c.0), Some(person.qualifications.len() - 1), "person {i}");
    }
}

#[test]
fn identifiers_never_repeat() {
    let p = pop();
    let mut serials = HashSet::new();
    let mut insured = HashSet::new();
    for i in 0..200_000 {
        let person = p.person(i);
        for c in &person.cards {
            assert!(serials.insert(c.serial.clone()), "serial repeats at {i}");
        }
        for q in &person.qualifications {
            let key = (q.insurer_number, q.symbol.clone(), q.number.clone(), q.branch);
            assert!(insured.insert(key), "insured numbers repeat at {i}");
        }
    }
}

#[test]
fn serials_of_a_block_sort_together_in_block_order() {
    let p = pop();
    let blocks = 4;
    let order = p.block_order(blocks);
    let mut last: Option<String> = None;
    for b in order {
        let mut serials: Vec<String> =
            (b * BLOCK_SIZE..(b + 1) * BLOCK_SIZE).step_by(97).map(|i| p.card_serial(i).as_str().to_owned()).collect();
        serials.sort();
        for s in &serials {
            assert_eq!(s.len(), 16, "{s}");
        }
        if let Some(prev) = &last {
            assert!(serials[0] > *prev, "block {b} does not sort after the previous block");
        }
        last = serials.last().cloned();
    }
}

#[test]
fn generated_numbers_carry_valid_check_digits_and_follow_the_age_rules() {
    let p = pop();
    let mut late = 0;
    let mut cards = 0;
    let n = 20_000;
    for i in 0..n {
        let person = p.person(i);
        cards += usize::from(!person.cards.is_empty());
        let current = person.qualifications.last().expect("insured");
        let digits = current.insurer_number.as_str().trim_start();
        assert!(check_digit::is_valid(digits.as_bytes()), "{digits}");
        let band = age::age_band(person.birthdate, p.as_of);
        match band {
            AgeBand::LateElderly => {
                late += 1;
                assert_eq!(current.insurer_number.houbetsu(), Some(39));
                assert!(current.branch.is_none());
                assert!(check_digit::is_valid(current.number.as_str().as_bytes()));
                assert!([10, 20, 30].contains(&current.contribution_percent));
            }
            AgeBand::Elderly => {
                assert!(current.elderly.is_some(), "70–74 carry elderly-recipient info");
                assert!([20, 30].contains(&current.contribution_percent));
            }
            AgeBand::Preschool => {
                assert!(current.preschool);
                assert_eq!(current.contribution_percent, 20);
            }
            AgeBand::Working => assert_eq!(current.contribution_percent, 30),
        }
        if let Some(prev) = person.qualifications.iter().rev().nth(1) {
            assert_eq!(prev.loss.map(|l| l.reason), Some(ReasonOfLoss::OtherInsurance));
            assert_eq!(prev.loss.map(|l| l.date), Some(current.qualification_date));
        }
    }
    // About 15 % are 後期高齢者 and about 80 % hold a card.
    let late_share = late as f64 / n as f64;
    let card_share = cards as f64 / n as f64;
    assert!((0.11..0.20).contains(&late_share), "後期高齢者 share {late_share}");
    assert!((0.74..0.86).contains(&card_share), "card share {card_share}");
}

#[test]
fn scenarios_have_distinct_ids_serials_and_keys() {
    let scenarios = scenarios::all(pop().as_of);
    assert_eq!(scenarios.len(), 12);
    let mut ids = HashSet::new();
    let mut serials = HashSet::new();
    for s in &scenarios {
        for person in &s.persons {
            assert!(person.id.0 >= SCENARIO_ID_BASE);
            assert!(ids.insert(person.id), "{}", s.key);
            for c in &person.cards {
                assert!(serials.insert(c.serial.clone()));
                assert_eq!(c.serial.as_str().len(), 20);
            }
        }
        assert!(!s.expectations.is_empty(), "{}", s.key);
    }
}
