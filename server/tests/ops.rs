//! The operations in process: a real RocksDB store in a temporary directory, seeded with a small
//! population, and the use cases of `onshi_server::ops` called directly — no TLS, no sockets, no
//! protobuf. The many cases of a rule are checked here; `tests/integration` keeps what needs the
//! whole server.

use onshi_domain::codes::{ConsentKind, ReasonOfLoss};
use onshi_domain::date::{Date, JstDateTime};
use onshi_domain::ids::{CheckDigits, MedicalInstitutionCode};
use onshi_domain::population::Population;
use onshi_domain::qualification::{Person, PersonId};
use onshi_server::errors::ServiceError;
use onshi_server::ops::confirm::{PersonMatch, resolve_person};
use onshi_server::ops::people::{self, CardOwner};
use onshi_server::ops::records;
use onshi_server::ops::reference::{self, Registered};
use onshi_store::seed::{SeedSpec, seed};
use onshi_store::{InsuredQuery, Store, StoreOptions};

const SEED: u64 = 5;
const PERSONS: u64 = 2_000;

fn today() -> Date {
    Date::new(2026, 12, 1).expect("date")
}

fn seeded() -> (tempfile::TempDir, Store, Population) {
    let dir = tempfile::tempdir().expect("tempdir");
    let store = Store::open(&dir.path().join("store"), StoreOptions::default()).expect("opens");
    seed(&store, SeedSpec { seed: SEED, persons: PERSONS, as_of: today() }, |_| {}).expect("seeds");
    (dir, store, Population::new(SEED, today()))
}

/// A population person whose current qualification is not lost.
fn insured_person(pop: &Population) -> Person {
    (0..PERSONS)
        .map(|i| pop.person(i))
        .find(|p| p.qualifications.last().is_some_and(|q| q.loss.is_none()) && p.cards.len() == 1)
        .expect("someone is insured")
}

fn query_of(p: &Person) -> InsuredQuery {
    let q = p.qualifications.last().expect("a qualification");
    InsuredQuery {
        insurer: q.insurer_number,
        symbol: q.symbol.clone(),
        number: q.number.clone(),
        birthdate: p.birthdate,
        branch: q.branch,
    }
}

fn field_of(e: &ServiceError) -> Vec<&str> {
    match e {
        ServiceError::BadRequest(v) => v.iter().map(|(f, _)| f.as_str()).collect(),
        other => panic!("not a bad request: {other:?}"),
    }
}

#[test]
fn a_population_person_loads_and_a_stranger_is_not_found() {
    let (_dir, store, pop) = seeded();
    assert_eq!(people::load(&store, PersonId(7), today()).expect("loads"), pop.person(7));
    let e = people::load(&store, PersonId(PERSONS + 10), today()).expect_err("nobody");
    assert!(matches!(e, ServiceError::NotFound { reason: "PERSON_NOT_FOUND", .. }), "{e:?}");
}

#[test]
fn changing_insurer_ends_the_current_qualification_the_day_the_next_begins() {
    let (_dir, store, pop) = seeded();
    let person = insured_person(&pop);
    let begins = today().add_days(3).expect("date");
    let changed = people::change_insurer(&store, person.id, today(), |old| {
        let mut next = old.qualifications.last().expect("current").clone();
        next.qualification_date = begins;
        next.insurer_name = "次の保険者".into();
        Ok(next)
    })
    .expect("changed");
    assert_eq!(changed.qualifications.len(), person.qualifications.len() + 1);
    let ended = &changed.qualifications[changed.qualifications.len() - 2];
    assert_eq!(ended.loss.map(|l| (l.date, l.reason)), Some((begins, ReasonOfLoss::OtherInsurance)));
    assert_eq!(people::load(&store, person.id, today()).expect("stored"), changed, "the change is what is stored");
}

#[test]
fn losing_a_qualification_is_refused_before_it_began_and_twice() {
    let (_dir, store, pop) = seeded();
    let person = insured_person(&pop);
    let began = person.qualifications.last().expect("current").qualification_date;
    let e = people::lose_qualification(&store, person.id, today(), began, ReasonOfLoss::Other).expect_err("too early");
    assert_eq!(field_of(&e), ["disqualification_date"]);
    let after = began.add_days(1).expect("date");
    people::lose_qualification(&store, person.id, today(), after, ReasonOfLoss::Death).expect("lost");
    let e = people::lose_qualification(&store, person.id, today(), after, ReasonOfLoss::Death).expect_err("twice");
    assert_eq!(field_of(&e), ["person"]);
}

#[test]
fn a_reissued_card_answers_and_the_old_serial_answers_as_revoked() {
    let (_dir, store, pop) = seeded();
    let person = insured_person(&pop);
    let old = person.cards[0].serial.clone();
    let reissued = people::issue_card(&store, person.id, today(), None, today(), None).expect("issued");
    let new = reissued.cards.last().expect("a new card").serial.clone();
    assert!(new.as_str().starts_with("AD") && new != old, "{new}");
    assert!(matches!(people::card_owner(&store, &new).expect("found"), CardOwner::Active(id) if id == person.id));
    assert!(matches!(people::card_owner(&store, &old).expect("found"), CardOwner::Revoked(id) if id == person.id));
    // A second generated serial is another number.
    let again = people::issue_card(&store, person.id, today(), None, today(), None).expect("issued");
    assert_ne!(again.cards.last().expect("card").serial, new);
}

#[test]
fn a_serial_belongs_to_one_person_and_a_revoked_card_cannot_be_revoked_again() {
    let (_dir, store, pop) = seeded();
    let a = insured_person(&pop);
    let b = pop.person(if a.id.0 == 0 { 1 } else { 0 });
    let e =
        people::issue_card(&store, b.id, today(), Some(a.cards[0].serial.clone()), today(), None).expect_err("taken");
    assert_eq!(field_of(&e), ["certificate_serial_number"]);
    people::revoke_card(&store, &a.cards[0].serial, today()).expect("revoked");
    let e = people::revoke_card(&store, &a.cards[0].serial, today()).expect_err("twice");
    assert_eq!(field_of(&e), ["certificate_serial_number"]);
}

#[test]
fn reference_numbers_are_set_removed_and_refused_for_nobody() {
    let (_dir, store, pop) = seeded();
    let person = insured_person(&pop);
    let clinic = MedicalInstitutionCode::parse("1312345679", CheckDigits::Strict).expect("code");
    assert!(
        matches!(resolve_person(&store, &query_of(&person)).expect("reads"), PersonMatch::One(id, _) if id == person.id)
    );
    let mut nobody = query_of(&person);
    nobody.birthdate = nobody.birthdate.add_days(1).expect("date");
    let done = reference::register(&store, clinic, [(query_of(&person), "KARTE-1"), (nobody, "KARTE-2")]).expect("ok");
    assert_eq!(done, [Registered::Done, Registered::NoMatch]);
    assert_eq!(store.reference_number(&clinic, person.id).expect("reads").as_deref(), Some("KARTE-1"));
    reference::register(&store, clinic, [(query_of(&person), "")]).expect("removed");
    assert_eq!(store.reference_number(&clinic, person.id).expect("reads"), None);
}

#[test]
fn a_consent_set_through_the_admin_api_lasts_a_day_and_can_be_withdrawn() {
    let (_dir, store, pop) = seeded();
    let person = insured_person(&pop);
    let clinic = MedicalInstitutionCode::parse("1312345679", CheckDigits::Strict).expect("code");
    let now = JstDateTime::new(today(), 10, 0, 0).expect("time");
    let (at, until) = records::set_consent(&store, clinic, person.id, ConsentKind::Pharmacists, true, now)
        .expect("set")
        .expect("given");
    assert_eq!((at, until.unix_seconds() - at.unix_seconds()), (now, records::CONSENT_WINDOW_SECS));
    let stored = store.consent(&clinic, person.id, ConsentKind::Pharmacists).expect("reads").expect("held");
    assert_eq!(stored.available_until, until.unix_seconds());
    assert_eq!(
        records::set_consent(&store, clinic, person.id, ConsentKind::Pharmacists, false, now).expect("ok"),
        None
    );
    assert!(store.consent(&clinic, person.id, ConsentKind::Pharmacists).expect("reads").is_none());
}

#[test]
fn a_live_consent_is_missing_held_then_expired_at_the_end_of_its_window() {
    let (_dir, store, pop) = seeded();
    let person = insured_person(&pop);
    let clinic = MedicalInstitutionCode::parse("1312345679", CheckDigits::Strict).expect("code");
    let now = JstDateTime::new(today(), 10, 0, 0).expect("time");
    let kind = ConsentKind::SpecificHealthCheckups;
    let e = records::live_consent(&store, &clinic, person.id, kind, now).expect_err("none yet");
    assert!(matches!(e, ServiceError::ConsentMissing("specific_health_checkups_info")), "{e:?}");
    records::set_consent(&store, clinic, person.id, kind, true, now).expect("set");
    let last_second = now.add_seconds(records::CONSENT_WINDOW_SECS - 1).expect("time");
    assert!(records::live_consent(&store, &clinic, person.id, kind, last_second).is_ok());
    let ended = now.add_seconds(records::CONSENT_WINDOW_SECS).expect("time");
    let e = records::live_consent(&store, &clinic, person.id, kind, ended).expect_err("over");
    assert!(matches!(e, ServiceError::ConsentExpired { kind: "specific_health_checkups_info", .. }), "{e:?}");
}
