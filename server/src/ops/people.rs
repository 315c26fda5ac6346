//! People: reading a person's full record, and the read-modify-writes that change one — create
//! or replace, lose the current qualification, change insurer, issue or revoke a card. Each takes
//! the person's lock (and those of the card serials it claims), reads the current record under
//! it, and writes the new one in one batch before letting go, so concurrent changes of one person
//! never lose each other and a card serial never belongs to two people.

use onshi_domain::age::fifth_birthday_after;
use onshi_domain::codes::ReasonOfLoss;
use onshi_domain::date::Date;
use onshi_domain::ids::CertificateSerial;
use onshi_domain::population::Population;
use onshi_domain::qualification::{Card, Loss, Person, PersonId, Qualification};
use onshi_store::locks::PersonGuard;
use onshi_store::seed::person_entries;
use onshi_store::sequence::Allocated;
use onshi_store::values::CardValue;
use onshi_store::{CardLookup, Store, StoreError};

use crate::errors::ServiceError;

/// Person ids handed out by the admin API start here (population and scenario ids are below).
pub const ADMIN_ID_BASE: u64 = 1 << 41;

/// Whose card `serial` is, and whether it is still active.
pub enum CardOwner {
    Active(PersonId),
    Revoked(PersonId),
}

impl CardOwner {
    pub fn person(&self) -> PersonId {
        match self {
            CardOwner::Active(p) | CardOwner::Revoked(p) => *p,
        }
    }
}

/// The holder of a card serial, active or revoked; NOT_FOUND (CARD_NOT_FOUND) for an unknown one.
pub fn card_owner(store: &Store, serial: &CertificateSerial) -> Result<CardOwner, ServiceError> {
    match store.card(serial)? {
        CardLookup::Active(v) => Ok(CardOwner::Active(CardValue::decode(&v).map_err(StoreError::from)?.person)),
        CardLookup::Revoked(r) => Ok(CardOwner::Revoked(r.person)),
        CardLookup::Unknown => Err(ServiceError::not_found("card", "CARD_NOT_FOUND")),
    }
}

/// A person's full record: the stored one (scenario and admin-made people, and anyone changed),
/// or the population's. `today` stands in for a store that does not say its reference date.
pub fn load(store: &Store, id: PersonId, today: Date) -> Result<Person, ServiceError> {
    if let Some(p) = store.person_record(id)? {
        return Ok(p);
    }
    match store.population()? {
        Some(meta) if id.0 < meta.persons => {
            Ok(Population::new(meta.seed, meta.as_of_date().unwrap_or(today)).person(id.0))
        }
        _ => Err(ServiceError::not_found("person", "PERSON_NOT_FOUND")),
    }
}

/// Writes `new` under `guard` in place of `old`, with the marks of the numbers it `used`.
fn save(
    store: &Store,
    guard: &PersonGuard<'_>,
    old: Option<&Person>,
    new: &Person,
    used: &[Allocated],
) -> Result<(), ServiceError> {
    // The guard covers the serials being claimed, so no other writer can claim one between this
    // check and the write.
    for card in &new.cards {
        if store.card_owner(&card.serial)?.is_some_and(|o| o != new.id) {
            return Err(ServiceError::bad(
                "certificate_serial_number",
                format!("{} belongs to another person", card.serial),
            ));
        }
    }
    let old_entries = old.map(person_entries).unwrap_or_default();
    store.replace_person(guard, &old_entries, &person_entries(new), new, used)?;
    Ok(())
}

/// The read-modify-write of an existing person: `change` makes the new record from the current
/// one, read under the person's lock (and those of the serials in `claims`).
pub fn change(
    store: &Store,
    id: PersonId,
    today: Date,
    claims: &[&CertificateSerial],
    used: &[Allocated],
    change: impl FnOnce(&Person) -> Result<Person, ServiceError>,
) -> Result<Person, ServiceError> {
    let guard = store.locks().person(id, claims);
    let old = load(store, id, today)?;
    let new = change(&old)?;
    save(store, &guard, Some(&old), &new, used)?;
    Ok(new)
}

/// A person to create or replace, as the admin API describes one.
pub struct PersonSpec {
    /// `None`: a new person, with an id from the store's sequence.
    pub id: Option<PersonId>,
    pub name: String,
    pub name_kana: String,
    pub sex: onshi_domain::codes::Sex,
    pub birthdate: Date,
    pub address: String,
    pub post_number: String,
    /// A card issued today, if given.
    pub card: Option<CertificateSerial>,
}

/// Creates a person (or replaces one's record): `qualification` makes their qualification from
/// the person as built so far (its age rules need the birthdate).
pub fn upsert(
    store: &Store,
    spec: PersonSpec,
    today: Date,
    qualification: impl FnOnce(&Person) -> Result<Qualification, ServiceError>,
) -> Result<Person, ServiceError> {
    let allocated = spec.id.is_none().then(|| store.admin_ids().allocate());
    let id = spec.id.unwrap_or_else(|| PersonId(ADMIN_ID_BASE + allocated.map_or(0, |a| a.value)));
    let guard = store.locks().person(id, &spec.card.iter().collect::<Vec<_>>());
    let old = if allocated.is_none() { Some(load(store, id, today)?) } else { None };
    let mut person = Person {
        id,
        name: spec.name,
        name_kana: spec.name_kana,
        sex: spec.sex,
        birthdate: spec.birthdate,
        address: spec.address,
        post_number: spec.post_number,
        cards: Vec::new(),
        qualifications: Vec::new(),
    };
    if let Some(serial) = spec.card {
        let expires = fifth_birthday_after(spec.birthdate, today);
        person.cards.push(Card { serial, issued: today, expires, revoked: None });
    }
    person.qualifications.push(qualification(&person)?);
    save(store, &guard, old.as_ref(), &person, allocated.as_slice())?;
    Ok(person)
}

/// Ends the person's current qualification on `date` for `reason`.
pub fn lose_qualification(
    store: &Store,
    id: PersonId,
    today: Date,
    date: Date,
    reason: ReasonOfLoss,
) -> Result<Person, ServiceError> {
    change(store, id, today, &[], &[], |old| {
        let mut new = old.clone();
        let current =
            new.qualifications.last_mut().ok_or_else(|| ServiceError::bad("person", "has no qualification"))?;
        if current.loss.is_some() {
            return Err(ServiceError::bad("person", "the current qualification is already lost"));
        }
        if date <= current.qualification_date {
            return Err(ServiceError::bad("disqualification_date", "must be after the qualification date"));
        }
        current.loss = Some(Loss { date, reason });
        Ok(new)
    })
}

/// Moves the person to the qualification `next` makes from their current record: the current
/// one, if not lost, ends the day the next begins (他保険加入).
pub fn change_insurer(
    store: &Store,
    id: PersonId,
    today: Date,
    next: impl FnOnce(&Person) -> Result<Qualification, ServiceError>,
) -> Result<Person, ServiceError> {
    change(store, id, today, &[], &[], |old| {
        let next = next(old)?;
        let mut new = old.clone();
        if let Some(current) = new.qualifications.last_mut()
            && current.loss.is_none()
        {
            current.loss = Some(Loss { date: next.qualification_date, reason: ReasonOfLoss::OtherInsurance });
        }
        new.qualifications.push(next);
        Ok(new)
    })
}

/// Issues a card (reissue: the active ones are revoked on `issued`). Without a serial, one is
/// generated from the admin sequence: "AD" and 16 hex digits, a length no population (16 digits)
/// or scenario (20 digits) serial has. `expires` defaults to the fifth birthday after issue.
pub fn issue_card(
    store: &Store,
    id: PersonId,
    today: Date,
    serial: Option<CertificateSerial>,
    issued: Date,
    expires: Option<Date>,
) -> Result<Person, ServiceError> {
    let allocated = serial.is_none().then(|| store.admin_ids().allocate());
    let serial = match (serial, allocated) {
        (Some(s), _) => s,
        (None, Some(n)) => {
            CertificateSerial::parse(&format!("AD{:016X}", n.value)).map_err(|_| ServiceError::Unvalidated)?
        }
        (None, None) => return Err(ServiceError::Unvalidated),
    };
    change(store, id, today, &[&serial], allocated.as_slice(), |old| {
        let mut new = old.clone();
        for card in new.cards.iter_mut().filter(|c| c.revoked.is_none()) {
            card.revoked = Some(issued);
        }
        let expires = expires.unwrap_or_else(|| fifth_birthday_after(old.birthdate, issued));
        new.cards.push(Card { serial: serial.clone(), issued, expires, revoked: None });
        Ok(new)
    })
}

/// Revokes an active card today.
pub fn revoke_card(store: &Store, serial: &CertificateSerial, today: Date) -> Result<Person, ServiceError> {
    let id = match card_owner(store, serial)? {
        CardOwner::Active(id) => id,
        CardOwner::Revoked(_) => return Err(ServiceError::bad("certificate_serial_number", "is already revoked")),
    };
    change(store, id, today, &[], &[], |old| {
        let mut new = old.clone();
        let mut found = false;
        for card in new.cards.iter_mut().filter(|c| c.serial == *serial) {
            // Revoked meanwhile by another call: say so rather than revoke it twice.
            if card.revoked.is_some() {
                return Err(ServiceError::bad("certificate_serial_number", "is already revoked"));
            }
            card.revoked = Some(today);
            found = true;
        }
        if !found {
            return Err(ServiceError::not_found("card", "CARD_NOT_FOUND"));
        }
        Ok(new)
    })
}
