//! AdminService: the controls a test suite uses — seed, reset, snapshots; people, qualifications
//! and cards; medical records and consents; the allow-list; faults; the journal; the clock. Served
//! only on the admin listener, to a plaintext loopback client or the "onshi-admin" certificate.

use std::pin::Pin;
use std::time::Instant;

use futures_util::Stream;
use onshi_domain::age;
use onshi_domain::codes::{
    ConsentKind, InsuredCardClassification, LimitBracket, LimitCertificateClassification, PersonalFamily, ReasonOfLoss,
    Sex, SpecificDisease,
};
use onshi_domain::date::{Date, JstDateTime};
use onshi_domain::facility::{Facility, FacilityKind, FacilityStatus};
use onshi_domain::ids::{
    CertificateSerial, CheckDigits, InsuredBranchNumber, InsuredCardSymbol, InsuredIdentificationNumber, InsurerNumber,
    MedicalInstitutionCode,
};
use onshi_domain::kana::to_half_width;
use onshi_domain::population::{Population, fifth_birthday_after};
use onshi_domain::qualification::{
    Card, LimitCertificate, Loss, Person, PersonId, Qualification, SpecificDiseaseCertificate,
};
use onshi_proto::served::admin_service_server::AdminService;
use onshi_proto::served::{self as pb, fault::Kind as FaultKindPb, person_ref::By};
use prost::Message;
use tonic::{Request, Response, Status};

use super::App;
use super::qualification::{PersonMatch, SearchFields, parse_search};
use crate::auth::revocation::Revoked;
use crate::auth::{ADMIN_COMMON_NAME, Caller, ConnIdentity};
use crate::errors::{ServiceError, Violations};
use crate::faults::FaultKind;
use onshi_store::handle::valid_snapshot_name;
use onshi_store::locks::PersonGuard;
use onshi_store::seed::{self, SeedSpec, person_entries};
use onshi_store::sequence::Allocated;
use onshi_store::values::{CardValue, ConsentValue};
use onshi_store::{CardLookup, ChangeSet, MedicalKind, Store, StoreError};

/// Person ids handed out by the admin API start here (population and scenario ids are below).
pub const ADMIN_ID_BASE: u64 = 1 << 41;

fn bad(field: &str, description: impl Into<String>) -> ServiceError {
    ServiceError::BadRequest(vec![(field.to_owned(), description.into())])
}

fn not_found(what: &'static str, reason: &'static str) -> ServiceError {
    ServiceError::NotFound { what, reason }
}

fn failed_precondition(reason: &'static str, message: impl Into<String>) -> ServiceError {
    ServiceError::FailedPrecondition { reason, message: message.into() }
}

fn date_or(v: &mut Violations, field: &str, s: &str, default: Date) -> Date {
    if s.is_empty() { default } else { v.check(field, Date::parse_yyyymmdd(s)).unwrap_or(default) }
}

/// Everything a check-digit-lenient admin caller may name.
fn admin_caller() -> Caller {
    Caller {
        code: MedicalInstitutionCode::parse("0110113719", CheckDigits::Lenient).unwrap_or_else(|_| unreachable!()),
        check_digits: CheckDigits::Lenient,
    }
}

impl App {
    /// Admin calls come from a plaintext loopback client or the admin certificate only.
    fn admin_allowed<T>(&self, request: &Request<T>) -> Result<(), Status> {
        match request.extensions().get::<ConnIdentity>().and_then(|id| id.0.certificate.as_ref()) {
            None => Ok(()),
            Some(cert) if cert.common_name.as_deref() == Some(ADMIN_COMMON_NAME) => Ok(()),
            Some(_) => Err(ServiceError::NotAdmin.into()),
        }
    }

    fn today(&self) -> Date {
        self.clock.now().date()
    }

    fn population_meta(&self) -> Result<Option<onshi_store::PopulationMeta>, ServiceError> {
        Ok(self.store.get().population()?)
    }

    /// Resolves a person reference to an id.
    fn resolve(&self, r: Option<&pb::PersonRef>) -> Result<PersonId, ServiceError> {
        match r.and_then(|r| r.by.as_ref()) {
            None => Err(bad("person", "name a person_id, a certificate_serial_number or insured numbers")),
            Some(By::PersonId(id)) => Ok(PersonId(*id)),
            Some(By::CertificateSerialNumber(s)) => {
                let serial =
                    CertificateSerial::parse(s).map_err(|e| bad("person.certificate_serial_number", e.to_string()))?;
                self.store.get().card_owner(&serial)?.ok_or_else(|| not_found("card", "CARD_NOT_FOUND"))
            }
            Some(By::Insured(s)) => {
                let mut v = Violations::default();
                let q = parse_search(&admin_caller(), SearchFields::from(s), "person.insured", &mut v);
                let (q, _) = v.finish_with(q)?;
                match self.resolve_person(&q)? {
                    PersonMatch::One(p, _) => Ok(p),
                    PersonMatch::None => Err(not_found("person", "PERSON_NOT_FOUND")),
                    PersonMatch::Several => Err(bad("person.insured", "several people match; give the 枝番")),
                }
            }
        }
    }

    /// A person's full record: the stored one, or the population's. Read it under the person's
    /// lock when it is to be changed (see [`App::change_person`]).
    fn load_person(&self, store: &Store, id: PersonId) -> Result<Person, ServiceError> {
        if let Some(p) = store.person_record(id)? {
            return Ok(p);
        }
        match self.population_meta()? {
            Some(meta) if id.0 < meta.persons => {
                Ok(Population::new(meta.seed, meta.as_of_date().unwrap_or(self.today())).person(id.0))
            }
            _ => Err(not_found("person", "PERSON_NOT_FOUND")),
        }
    }

    /// Writes a changed person under its lock: the old entries go, the new come, with the marks
    /// of the numbers it `used`, in one write.
    fn save_person(
        &self,
        store: &Store,
        guard: &PersonGuard<'_>,
        old: Option<&Person>,
        new: &Person,
        used: &[Allocated],
    ) -> Result<pb::PersonResponse, ServiceError> {
        // A card serial belongs to one person only; the guard covers the serials being claimed,
        // so no other writer can claim one between this check and the write.
        for card in &new.cards {
            if store.card_owner(&card.serial)?.is_some_and(|o| o != new.id) {
                return Err(bad("certificate_serial_number", format!("{} belongs to another person", card.serial)));
            }
        }
        let old_entries = old.map(person_entries).unwrap_or_default();
        store.replace_person(guard, &old_entries, &person_entries(new), new, used)?;
        Ok(pb::PersonResponse { person_id: new.id.0, person_json: serde_json::to_string(new).unwrap_or_default() })
    }

    /// The read-modify-write of an existing person: takes the person's lock (and those of the
    /// card serials `claims` gives it), reads the current record, lets `change` make the new one
    /// and writes it before letting go, so concurrent changes of one person never lose each other.
    fn change_person(
        &self,
        id: PersonId,
        claims: &[&CertificateSerial],
        used: &[Allocated],
        change: impl FnOnce(&Person) -> Result<Person, ServiceError>,
    ) -> Result<pb::PersonResponse, ServiceError> {
        let store = self.store.get();
        let guard = store.locks().person(id, claims);
        let old = self.load_person(&store, id)?;
        let new = change(&old)?;
        self.save_person(&store, &guard, Some(&old), &new, used)
    }

    fn qualification_from(
        &self,
        spec: &pb::QualificationSpec,
        person: &Person,
        path: &str,
        v: &mut Violations,
    ) -> Option<Qualification> {
        let today = self.today();
        let insurer = v
            .check(&format!("{path}.insurer_number"), InsurerNumber::parse(&spec.insurer_number, CheckDigits::Lenient));
        let symbol =
            v.check(&format!("{path}.insured_card_symbol"), InsuredCardSymbol::parse(&spec.insured_card_symbol));
        let number = v.check(
            &format!("{path}.insured_identification_number"),
            InsuredIdentificationNumber::parse(&spec.insured_identification_number),
        );
        let branch = v.check(
            &format!("{path}.insured_branch_number"),
            InsuredBranchNumber::parse_optional(&spec.insured_branch_number),
        );
        let from = date_or(v, &format!("{path}.qualification_date"), &spec.qualification_date, today);
        let family = match spec.personal_family_classification.as_str() {
            "" => PersonalFamily::Insured,
            code => PersonalFamily::from_code(code).unwrap_or_else(|| {
                v.add(&format!("{path}.personal_family_classification"), "must be \"1\" or \"2\"");
                PersonalFamily::Insured
            }),
        };
        let classification = match spec.insured_card_classification.as_str() {
            "" => InsuredCardClassification::General,
            code => InsuredCardClassification::from_code(code).unwrap_or_else(|| {
                v.add(&format!("{path}.insured_card_classification"), "must be \"01\" to \"07\"");
                InsuredCardClassification::General
            }),
        };
        let on = today.max(from);
        let percent = match spec.insured_partial_contribution_ratio.as_str() {
            "" => age::contribution_percent(person.birthdate, on, age::IncomeLevel::General),
            "010" => 10,
            "020" => 20,
            "030" => 30,
            _ => {
                v.add(&format!("{path}.insured_partial_contribution_ratio"), "must be \"010\", \"020\" or \"030\"");
                30
            }
        };
        let band = age::age_band(person.birthdate, on);
        let limit = spec.limit_application_certificate_related_info.as_ref().map(|l| {
            let p = format!("{path}.limit_application_certificate_related_info");
            let classification = match l.limit_application_certificate_classification.as_str() {
                "02" => LimitCertificateClassification::LimitAndMealReduction,
                "03" => LimitCertificateClassification::LateElderlyLimitAndMealReduction,
                _ => LimitCertificateClassification::Limit,
            };
            let flag = &l.limit_application_certificate_classification_flag;
            let n = flag.get(1..).and_then(|d| d.parse::<u8>().ok()).unwrap_or(0);
            let bracket = match flag.chars().next() {
                Some('A') if (1..=6).contains(&n) => LimitBracket::A(n),
                Some('B') if (1..=10).contains(&n) => LimitBracket::B(n),
                _ => {
                    v.add(
                        &format!("{p}.limit_application_certificate_classification_flag"),
                        "must be A01–A06 or B01–B10",
                    );
                    LimitBracket::A(3)
                }
            };
            let start = date_or(
                v,
                &format!("{p}.limit_application_certificate_valid_start_date"),
                &l.limit_application_certificate_valid_start_date,
                from,
            );
            LimitCertificate {
                classification,
                bracket,
                certificate_date: date_or(
                    v,
                    &format!("{p}.limit_application_certificate_date"),
                    &l.limit_application_certificate_date,
                    start,
                ),
                valid_from: start,
                valid_until: date_or(
                    v,
                    &format!("{p}.limit_application_certificate_valid_end_date"),
                    &l.limit_application_certificate_valid_end_date,
                    onshi_domain::population::next_july_31(on),
                ),
                long_term_date: None,
            }
        });
        let diseases = spec
            .specific_diseases_certificate_info
            .iter()
            .enumerate()
            .map(|(i, d)| {
                let p = format!("{path}.specific_diseases_certificate_info[{i}]");
                let disease = match d.specific_diseases_disease_category.as_str() {
                    "2" => SpecificDisease::Hemophilia,
                    "3" => SpecificDisease::Hiv,
                    "" | "1" => SpecificDisease::ChronicRenalFailureOnDialysis,
                    _ => {
                        v.add(&format!("{p}.specific_diseases_disease_category"), "must be \"1\", \"2\" or \"3\"");
                        SpecificDisease::ChronicRenalFailureOnDialysis
                    }
                };
                let start = date_or(
                    v,
                    &format!("{p}.specific_diseases_valid_start_date"),
                    &d.specific_diseases_valid_start_date,
                    from,
                );
                SpecificDiseaseCertificate {
                    disease,
                    certificate_date: date_or(
                        v,
                        &format!("{p}.specific_diseases_certificate_date"),
                        &d.specific_diseases_certificate_date,
                        start,
                    ),
                    valid_from: start,
                    valid_until: (!d.specific_diseases_valid_end_date.is_empty()).then(|| {
                        date_or(
                            v,
                            &format!("{p}.specific_diseases_valid_end_date"),
                            &d.specific_diseases_valid_end_date,
                            start,
                        )
                    }),
                    self_pay_yen: d.specific_diseases_self_pay.parse().unwrap_or(10_000),
                }
            })
            .collect();
        Some(Qualification {
            insurer_number: insurer?,
            insurer_name: spec.insurer_name.clone(),
            card_classification: classification,
            symbol: symbol?,
            number: number?,
            branch: branch?,
            family,
            insured_name: if spec.insured_name.is_empty() { person.name.clone() } else { spec.insured_name.clone() },
            qualification_date: from,
            loss: None,
            card_issued: from,
            card_valid_from: from,
            card_valid_until: None,
            contribution_percent: percent,
            preschool: band == age::AgeBand::Preschool,
            elderly: (band == age::AgeBand::Elderly)
                .then(|| onshi_domain::population::elderly_recipient(person.birthdate, on, percent)),
            limit_certificate: limit,
            specific_diseases: diseases,
        })
    }

    fn upsert_person(&self, req: &pb::UpsertPersonRequest) -> Result<pb::PersonResponse, ServiceError> {
        let mut v = Violations::default();
        let birthdate = v.check("birthdate", Date::parse_yyyymmdd(&req.birthdate));
        let sex = match req.sex.as_str() {
            "" => Sex::Unset,
            code => Sex::from_code(code).unwrap_or_else(|| {
                v.add("sex", "must be \"1\", \"2\" or \"3\"");
                Sex::Unset
            }),
        };
        if req.name.is_empty() {
            v.add("name", "is required");
        }
        if req.qualification.is_none() {
            v.add("qualification", "is required");
        }
        let serial = (!req.certificate_serial_number.is_empty())
            .then(|| v.check("certificate_serial_number", CertificateSerial::parse(&req.certificate_serial_number)))
            .flatten();
        // A new person's id comes from the store's sequence (its mark is written with the
        // person); an existing person is read under its lock.
        let store = self.store.get();
        let allocated = (req.person_id == 0).then(|| store.admin_ids().allocate());
        let id = allocated.map_or(PersonId(req.person_id), |a| PersonId(ADMIN_ID_BASE + a.value));
        let guard = store.locks().person(id, &serial.iter().collect::<Vec<_>>());
        let old = if allocated.is_none() { Some(self.load_person(&store, id)?) } else { None };
        let birthdate = birthdate.unwrap_or(self.today());
        let mut person = Person {
            id,
            name: req.name.clone(),
            name_kana: to_half_width(&req.name_kana),
            sex,
            birthdate,
            address: req.address.clone(),
            post_number: req.post_number.clone(),
            cards: Vec::new(),
            qualifications: Vec::new(),
        };
        if let Some(serial) = serial {
            let issued = self.today();
            person.cards.push(Card { serial, issued, expires: fifth_birthday_after(birthdate, issued), revoked: None });
        }
        let empty = pb::QualificationSpec::default();
        let q = self.qualification_from(req.qualification.as_ref().unwrap_or(&empty), &person, "qualification", &mut v);
        v.finish()?;
        person.qualifications.extend(q);
        self.save_person(&store, &guard, old.as_ref(), &person, allocated.as_slice())
    }

    fn lose_qualification(&self, req: &pb::LoseQualificationRequest) -> Result<pb::PersonResponse, ServiceError> {
        let id = self.resolve(req.person.as_ref())?;
        let mut v = Violations::default();
        let date = date_or(&mut v, "disqualification_date", &req.disqualification_date, self.today());
        let reason = match req.reason_of_loss.as_str() {
            "" => ReasonOfLoss::Other,
            code => ReasonOfLoss::from_code(code).unwrap_or_else(|| {
                v.add("reason_of_loss", "must be \"01\", \"02\", \"03\" or \"99\"");
                ReasonOfLoss::Other
            }),
        };
        v.finish()?;
        self.change_person(id, &[], &[], |old| {
            let mut new = old.clone();
            let current = new.qualifications.last_mut().ok_or_else(|| bad("person", "has no qualification"))?;
            if current.loss.is_some() {
                return Err(bad("person", "the current qualification is already lost"));
            }
            if date <= current.qualification_date {
                return Err(bad("disqualification_date", "must be after the qualification date"));
            }
            current.loss = Some(Loss { date, reason });
            Ok(new)
        })
    }

    fn change_insurer(&self, req: &pb::ChangeInsurerRequest) -> Result<pb::PersonResponse, ServiceError> {
        let id = self.resolve(req.person.as_ref())?;
        let empty = pb::QualificationSpec::default();
        let spec = req.qualification.as_ref().unwrap_or(&empty);
        self.change_person(id, &[], &[], |old| {
            let mut v = Violations::default();
            let next = self.qualification_from(spec, old, "qualification", &mut v);
            let next = v.finish_with(next)?;
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

    fn issue_card(&self, req: &pb::IssueCardRequest) -> Result<pb::PersonResponse, ServiceError> {
        let id = self.resolve(req.person.as_ref())?;
        let mut v = Violations::default();
        let issued = date_or(&mut v, "issued", &req.issued, self.today());
        let expires = (!req.expires.is_empty()).then(|| date_or(&mut v, "expires", &req.expires, issued));
        // A generated serial comes from the admin sequence: "AD" and 16 hex digits, a length no
        // population (16 digits) or scenario (20 digits) serial has.
        let allocated = req.certificate_serial_number.is_empty().then(|| self.store.get().admin_ids().allocate());
        let serial = match allocated {
            Some(n) => CertificateSerial::parse(&format!("AD{:016X}", n.value)).ok(),
            None => v.check("certificate_serial_number", CertificateSerial::parse(&req.certificate_serial_number)),
        };
        let serial = v.finish_with(serial)?;
        self.change_person(id, &[&serial], allocated.as_slice(), |old| {
            let mut new = old.clone();
            for card in new.cards.iter_mut().filter(|c| c.revoked.is_none()) {
                card.revoked = Some(issued);
            }
            let expires = expires.unwrap_or_else(|| fifth_birthday_after(old.birthdate, issued));
            new.cards.push(Card { serial: serial.clone(), issued, expires, revoked: None });
            Ok(new)
        })
    }

    fn revoke_card(&self, req: &pb::RevokeCardRequest) -> Result<pb::PersonResponse, ServiceError> {
        let serial = CertificateSerial::parse(&req.certificate_serial_number)
            .map_err(|e| bad("certificate_serial_number", e.to_string()))?;
        let store = self.store.get();
        let id = match store.card(&serial)? {
            CardLookup::Active(v) => CardValue::decode(&v).map_err(StoreError::from)?.person,
            CardLookup::Revoked(_) => return Err(bad("certificate_serial_number", "is already revoked")),
            CardLookup::Unknown => return Err(not_found("card", "CARD_NOT_FOUND")),
        };
        let today = self.today();
        self.change_person(id, &[], &[], |old| {
            let mut new = old.clone();
            let mut found = false;
            for card in new.cards.iter_mut().filter(|c| c.serial == serial) {
                // Revoked meanwhile by another call: say so rather than revoke it twice.
                if card.revoked.is_some() {
                    return Err(bad("certificate_serial_number", "is already revoked"));
                }
                card.revoked = Some(today);
                found = true;
            }
            if !found {
                return Err(not_found("card", "CARD_NOT_FOUND"));
            }
            Ok(new)
        })
    }

    fn add_medical_record(
        &self,
        kind: MedicalKind,
        person: Option<&pb::PersonRef>,
        date: &str,
        record: Vec<u8>,
        field: &str,
    ) -> Result<pb::AddRecordResponse, ServiceError> {
        let id = self.resolve(person)?;
        self.load_person(&self.store.get(), id)?;
        let date = Date::parse_yyyymmdd(date).map_err(|e| bad(field, e.to_string()))?;
        self.store.get().add_medical_record(kind, id, date, &record)?;
        Ok(pb::AddRecordResponse { person_id: id.0 })
    }

    fn set_consent(&self, req: &pb::SetConsentRequest) -> Result<pb::SetConsentResponse, ServiceError> {
        let id = self.resolve(req.person.as_ref())?;
        let facility = MedicalInstitutionCode::parse(&req.medical_institution_code, CheckDigits::Lenient)
            .map_err(|e| bad("medical_institution_code", e.to_string()))?;
        let kind = match req.consent_kind.as_str() {
            "pharmacists_info" => ConsentKind::Pharmacists,
            "specific_health_checkups_info" => ConsentKind::SpecificHealthCheckups,
            "diagnosis_info" => ConsentKind::Diagnosis,
            "operation_info" => ConsentKind::Operation,
            _ => {
                return Err(bad(
                    "consent_kind",
                    "must be pharmacists_info, specific_health_checkups_info, diagnosis_info or operation_info",
                ));
            }
        };
        let now = self.clock.now();
        let mut changes = ChangeSet::default();
        let reply = if req.given {
            let until = now.add_seconds(super::qualification::CONSENT_WINDOW_SECS).unwrap_or(now);
            changes.consent(
                facility,
                id,
                kind,
                ConsentValue { given_at: now.unix_seconds(), available_until: until.unix_seconds() },
            );
            pb::SetConsentResponse { consent_time: now.compact(), consent_available_time: until.compact() }
        } else {
            changes.withdraw_consent(facility, id, kind);
            pb::SetConsentResponse::default()
        };
        self.store.get().commit(changes)?;
        Ok(reply)
    }

    fn put_facility(&self, req: &pb::PutFacilityRequest) -> Result<pb::FacilityResponse, ServiceError> {
        let empty = pb::FacilityEntry::default();
        let f = req.facility.as_ref().unwrap_or(&empty);
        let mut v = Violations::default();
        let code = v.check(
            "facility.medical_institution_code",
            MedicalInstitutionCode::parse(&f.medical_institution_code, CheckDigits::Strict),
        );
        let kind = match f.kind.as_str() {
            "" | "clinic" => FacilityKind::Clinic,
            "hospital" => FacilityKind::Hospital,
            "dental" => FacilityKind::Dental,
            "pharmacy" => FacilityKind::Pharmacy,
            _ => {
                v.add("facility.kind", "must be clinic, hospital, dental or pharmacy");
                FacilityKind::Clinic
            }
        };
        let status = match f.status.as_str() {
            "" | "active" => FacilityStatus::Active,
            "suspended" => FacilityStatus::Suspended,
            _ => {
                v.add("facility.status", "must be active or suspended");
                FacilityStatus::Active
            }
        };
        let check_digits = match f.check_digits.as_str() {
            "" => None,
            "strict" => Some(CheckDigits::Strict),
            "lenient" => Some(CheckDigits::Lenient),
            _ => {
                v.add("facility.check_digits", "must be strict, lenient or empty");
                None
            }
        };
        let sha = f.certificate_sha256.to_ascii_lowercase();
        if !sha.is_empty() && (sha.len() != 64 || !sha.bytes().all(|b| b.is_ascii_hexdigit())) {
            v.add("facility.certificate_sha256", "must be 64 hex digits (SHA-256 of the certificate's DER)");
        }
        let code = v.finish_with(code)?;
        let entry = Facility {
            code,
            name: f.name.clone(),
            kind,
            status,
            certificate_sha256: (!sha.is_empty()).then_some(sha),
            check_digits,
        };
        self.change_facilities(|store| Ok(store.put_facilities(std::slice::from_ref(&entry))?))?;
        Ok(pb::FacilityResponse { facility: Some(facility_entry(&entry)) })
    }

    fn remove_facility(&self, req: &pb::RemoveFacilityRequest) -> Result<pb::RemoveFacilityResponse, Status> {
        let code = MedicalInstitutionCode::parse(&req.medical_institution_code, CheckDigits::Lenient)
            .map_err(|e| Status::from(bad("medical_institution_code", e.to_string())))?;
        let mut refusal = None;
        self.change_facilities(|store| {
            // Checked and deleted under the allow-list's write lock: two removals at once cannot
            // both see a second facility and leave the list empty.
            let facilities = store.facilities()?;
            if !facilities.iter().any(|f| f.code == code) {
                refusal = Some(not_found("facility", "FACILITY_NOT_FOUND"));
            } else if facilities.len() == 1 {
                refusal = Some(failed_precondition(
                    "ALLOW_LIST_WOULD_BE_EMPTY",
                    "the allow-list would be empty; it never means \"allow all\"",
                ));
            } else {
                store.delete_facility(&code)?;
            }
            Ok(())
        })?;
        match refusal {
            Some(refusal) => Err(refusal.into()),
            None => Ok(pb::RemoveFacilityResponse {}),
        }
    }

    fn add_fault(&self, req: &pb::AddFaultRequest) -> Result<pb::Fault, ServiceError> {
        let f = req.fault.clone().unwrap_or_default();
        let kind = match f.kind {
            Some(FaultKindPb::Status(s)) => {
                if !(1..=16).contains(&s.code) {
                    return Err(bad("fault.status.code", "must be a google.rpc.Code from 1 to 16"));
                }
                FaultKind::Status { code: s.code, message: s.message, reason: s.reason }
            }
            Some(FaultKindPb::Latency(l)) => {
                if l.min_ms.max(l.max_ms) > 120_000 {
                    return Err(bad("fault.latency", "at most 120,000 ms"));
                }
                FaultKind::Latency { min_ms: l.min_ms, max_ms: l.max_ms.max(l.min_ms) }
            }
            Some(FaultKindPb::RequestFailure(r)) => {
                FaultKind::RequestFailure { error_code: r.error_code, error_message: r.error_message }
            }
            Some(FaultKindPb::BulkDelay(b)) => FaultKind::BulkDelay { seconds: b.seconds },
            Some(FaultKindPb::Outage(_)) => FaultKind::Outage,
            None => return Err(bad("fault.kind", "set one of status, latency, request_failure, bulk_delay, outage")),
        };
        if !(0.0..=1.0).contains(&f.probability) {
            return Err(bad("fault.probability", "must be within 0 and 1"));
        }
        let id = self.faults.add(
            f.method.clone(),
            f.medical_institution_code.clone(),
            f.person.clone(),
            f.count,
            f.probability,
            kind,
        );
        self.serving.notify();
        Ok(self.faults.list().iter().find(|x| x.id == id).map(|x| fault_pb(x)).unwrap_or_default())
    }

    fn read_journal(&self, req: &pb::ReadJournalRequest) -> Result<pb::ReadJournalResponse, ServiceError> {
        let limit = match req.limit {
            0 => 100,
            n if n <= 1000 => n as usize,
            _ => return Err(bad("limit", "at most 1,000")),
        };
        let (entries, dropped) =
            self.journal.read(&req.medical_institution_code, &req.method, req.after_sequence, limit);
        let pool = prost_reflect::DescriptorPool::decode(onshi_proto::FILE_DESCRIPTOR_SET).ok();
        let entries = entries
            .into_iter()
            .map(|e| pb::JournalEntry {
                sequence: e.sequence,
                time: JstDateTime::from_unix_seconds(e.at).map(JstDateTime::compact).unwrap_or_default(),
                medical_institution_code: e.facility,
                method: e.method.trim_start_matches('/').to_owned(),
                request_json: render_request(pool.as_ref(), e.method, &e.request),
                code: e.code,
                message: e.message,
                qualification_validity: e.validity,
                latency_us: e.latency_us,
            })
            .collect();
        Ok(pb::ReadJournalResponse { entries, enabled: self.journal.enabled(), dropped })
    }

    fn set_clock(&self, req: &pb::SetClockRequest) -> Result<pb::ClockResponse, ServiceError> {
        let target = if req.now.is_empty() {
            None
        } else {
            Some(JstDateTime::parse(&req.now).map_err(|e| bad("now", e.to_string()))?)
        };
        match target {
            Some(t) => self.clock.set_now(t.unix_seconds()),
            None => self.clock.set_offset(req.offset_seconds),
        }
        Ok(pb::ClockResponse { now: self.clock.now().compact(), offset_seconds: self.clock.offset() })
    }
}

/// A certificate fingerprint as given (hex, any case, colons allowed) → 64 lowercase hex digits.
fn fingerprint(given: &str) -> Result<String, ServiceError> {
    let sha: String = given.chars().filter(|c| *c != ':').collect::<String>().to_ascii_lowercase();
    if sha.len() != 64 || !sha.bytes().all(|b| b.is_ascii_hexdigit()) {
        return Err(bad(
            "certificate_sha256",
            "must be the 64 hex digits of the certificate's SHA-256 (colons allowed)",
        ));
    }
    Ok(sha)
}

fn revocation_failed(e: crate::auth::revocation::RevocationError) -> ServiceError {
    tracing::error!(error = %e, "writing the revoked certificates failed");
    ServiceError::Store(StoreError::Io(crate::auth::revocation::FILE_NAME.into(), std::io::Error::other(e.to_string())))
}

fn revoked_list(app: &App) -> pb::RevokedCertificatesResponse {
    let revoked = app
        .revocations
        .list()
        .into_iter()
        .map(|(sha, r)| pb::RevokedCertificate {
            certificate_sha256: sha,
            revoked_time: JstDateTime::from_unix_seconds(r.revoked_at).map(JstDateTime::compact).unwrap_or_default(),
            reason: r.reason,
        })
        .collect();
    pb::RevokedCertificatesResponse { revoked }
}

/// The request as protobuf JSON, from its method's input type.
fn render_request(pool: Option<&prost_reflect::DescriptorPool>, method: &str, bytes: &[u8]) -> String {
    let Some(pool) = pool else { return String::new() };
    let mut parts = method.trim_start_matches('/').split('/');
    let (Some(service), Some(name)) = (parts.next(), parts.next()) else { return String::new() };
    let Some(m) = pool.get_service_by_name(service).and_then(|s| s.methods().find(|m| m.name() == name)) else {
        return String::new();
    };
    prost_reflect::DynamicMessage::decode(m.input(), bytes)
        .ok()
        .and_then(|msg| serde_json::to_string(&msg).ok())
        .unwrap_or_default()
}

fn facility_entry(f: &Facility) -> pb::FacilityEntry {
    pb::FacilityEntry {
        medical_institution_code: f.code.as_str().to_owned(),
        name: f.name.clone(),
        kind: serde_json::to_value(f.kind).ok().and_then(|v| v.as_str().map(str::to_owned)).unwrap_or_default(),
        status: serde_json::to_value(f.status).ok().and_then(|v| v.as_str().map(str::to_owned)).unwrap_or_default(),
        certificate_sha256: f.certificate_sha256.clone().unwrap_or_default(),
        check_digits: f
            .check_digits
            .and_then(|c| serde_json::to_value(c).ok().and_then(|v| v.as_str().map(str::to_owned)))
            .unwrap_or_default(),
    }
}

fn fault_pb(f: &crate::faults::Fault) -> pb::Fault {
    use std::sync::atomic::Ordering;
    let kind = match &f.kind {
        FaultKind::Status { code, message, reason } => {
            FaultKindPb::Status(pb::StatusFault { code: *code, message: message.clone(), reason: reason.clone() })
        }
        FaultKind::Latency { min_ms, max_ms } => {
            FaultKindPb::Latency(pb::LatencyFault { min_ms: *min_ms, max_ms: *max_ms })
        }
        FaultKind::RequestFailure { error_code, error_message } => {
            FaultKindPb::RequestFailure(pb::RequestFailureFault {
                error_code: error_code.clone(),
                error_message: error_message.clone(),
            })
        }
        FaultKind::BulkDelay { seconds } => FaultKindPb::BulkDelay(pb::BulkDelayFault { seconds: *seconds }),
        FaultKind::Outage => FaultKindPb::Outage(pb::OutageFault {}),
    };
    pb::Fault {
        id: f.id,
        method: f.method.clone(),
        medical_institution_code: f.facility.clone(),
        person: f.person.clone(),
        count: if f.limited { f.remaining.load(Ordering::Relaxed) as u32 } else { 0 },
        probability: f.probability,
        kind: Some(kind),
        hits: f.hits.load(Ordering::Relaxed),
    }
}

/// The tonic AdminService.
#[derive(Debug, Clone)]
pub struct Admin(pub App);

type Reply<T> = Result<Response<T>, Status>;

impl Admin {
    fn run<Req, Resp>(
        &self,
        request: Request<Req>,
        f: impl FnOnce(&App, &Req) -> Result<Resp, ServiceError>,
    ) -> Reply<Resp> {
        self.0.admin_allowed(&request)?;
        Ok(Response::new(f(&self.0, request.get_ref())?))
    }
}

#[tonic::async_trait]
impl AdminService for Admin {
    type SeedStream = Pin<Box<dyn Stream<Item = Result<pb::SeedProgress, Status>> + Send + 'static>>;

    async fn seed(&self, request: Request<pb::SeedRequest>) -> Reply<Self::SeedStream> {
        self.0.admin_allowed(&request)?;
        let req = request.into_inner();
        let meta = self.0.population_meta()?;
        let seed = match (req.seed, meta) {
            (0, Some(m)) => m.seed,
            (0, None) => 1,
            (s, _) => s,
        };
        if req.persons == 0 || req.persons > onshi_domain::population::MAX_PERSONS {
            return Err(bad("persons", format!("must be 1 to {}", onshi_domain::population::MAX_PERSONS)).into());
        }
        if let Some(m) = meta
            && m.seed != seed
        {
            return Err(failed_precondition(
                "DIFFERENT_SEED",
                format!(
                    "the store holds seed {}; Reset cannot change it either: start with another data directory",
                    m.seed
                ),
            )
            .into());
        }
        let (tx, rx) = tokio::sync::mpsc::channel::<Result<pb::SeedProgress, Status>>(64);
        let app = self.0.clone();
        let total = req.persons;
        let today = app.today();
        tokio::task::spawn_blocking(move || {
            let progress_tx = tx.clone();
            let store = app.store.get();
            let result = seed::seed(&store, SeedSpec { seed, persons: total, as_of: today }, |done| {
                let _ = progress_tx.blocking_send(Ok(pb::SeedProgress {
                    persons_written: done,
                    persons_total: total,
                    done: false,
                }));
            })
            .map_err(|e| Status::internal(e.to_string()))
            .and_then(|_| app.store.save_baseline().map_err(|e| Status::internal(e.to_string())));
            let last = result.map(|()| pb::SeedProgress { persons_written: total, persons_total: total, done: true });
            let _ = tx.blocking_send(last);
        });
        Ok(Response::new(Box::pin(tokio_stream::wrappers::ReceiverStream::new(rx))))
    }

    async fn reset(&self, request: Request<pb::ResetRequest>) -> Reply<pb::ResetResponse> {
        self.0.admin_allowed(&request)?;
        let started = Instant::now();
        let app = self.0.clone();
        let found = tokio::task::spawn_blocking(move || app.store.reset())
            .await
            .map_err(|e| Status::internal(e.to_string()))?
            .map_err(ServiceError::from)?;
        if !found {
            return Err(failed_precondition("NO_BASELINE", "there is no seeded baseline yet").into());
        }
        self.0.reload_allow_list()?;
        Ok(Response::new(pb::ResetResponse { elapsed_ms: started.elapsed().as_millis() as u64 }))
    }

    async fn take_snapshot(&self, request: Request<pb::SnapshotRequest>) -> Reply<pb::SnapshotResponse> {
        self.0.admin_allowed(&request)?;
        let name = request.into_inner().name;
        if !valid_snapshot_name(&name) {
            return Err(bad("name", "letters, digits, '-' and '_'; at most 64").into());
        }
        let started = Instant::now();
        let app = self.0.clone();
        let n = name.clone();
        tokio::task::spawn_blocking(move || app.store.snapshot(&n))
            .await
            .map_err(|e| Status::internal(e.to_string()))?
            .map_err(ServiceError::from)?;
        Ok(Response::new(pb::SnapshotResponse { name, elapsed_ms: started.elapsed().as_millis() as u64 }))
    }

    async fn restore_snapshot(&self, request: Request<pb::SnapshotRequest>) -> Reply<pb::SnapshotResponse> {
        self.0.admin_allowed(&request)?;
        let name = request.into_inner().name;
        let started = Instant::now();
        let app = self.0.clone();
        let n = name.clone();
        let found = tokio::task::spawn_blocking(move || app.store.restore(&n))
            .await
            .map_err(|e| Status::internal(e.to_string()))?
            .map_err(ServiceError::from)?;
        if !found {
            return Err(not_found("snapshot", "SNAPSHOT_NOT_FOUND").into());
        }
        self.0.reload_allow_list()?;
        Ok(Response::new(pb::SnapshotResponse { name, elapsed_ms: started.elapsed().as_millis() as u64 }))
    }

    async fn list_snapshots(&self, request: Request<pb::ListSnapshotsRequest>) -> Reply<pb::ListSnapshotsResponse> {
        self.run(request, |app, _| Ok(pb::ListSnapshotsResponse { names: app.store.snapshots() }))
    }

    async fn upsert_person(&self, request: Request<pb::UpsertPersonRequest>) -> Reply<pb::PersonResponse> {
        self.run(request, |app, req| app.upsert_person(req))
    }

    async fn get_person(&self, request: Request<pb::GetPersonRequest>) -> Reply<pb::PersonResponse> {
        self.run(request, |app, req| {
            let person = app.load_person(&app.store.get(), app.resolve(req.person.as_ref())?)?;
            Ok(pb::PersonResponse {
                person_id: person.id.0,
                person_json: serde_json::to_string(&person).unwrap_or_default(),
            })
        })
    }

    async fn lose_qualification(&self, request: Request<pb::LoseQualificationRequest>) -> Reply<pb::PersonResponse> {
        self.run(request, |app, req| app.lose_qualification(req))
    }

    async fn change_insurer(&self, request: Request<pb::ChangeInsurerRequest>) -> Reply<pb::PersonResponse> {
        self.run(request, |app, req| app.change_insurer(req))
    }

    async fn issue_card(&self, request: Request<pb::IssueCardRequest>) -> Reply<pb::PersonResponse> {
        self.run(request, |app, req| app.issue_card(req))
    }

    async fn revoke_card(&self, request: Request<pb::RevokeCardRequest>) -> Reply<pb::PersonResponse> {
        self.run(request, |app, req| app.revoke_card(req))
    }

    async fn add_medication_record(
        &self,
        request: Request<pb::AddMedicationRecordRequest>,
    ) -> Reply<pb::AddRecordResponse> {
        self.run(request, |app, req| {
            let info = req.dispensing_info.clone().ok_or_else(|| bad("dispensing_info", "is required"))?;
            app.add_medical_record(
                MedicalKind::Medication,
                req.person.as_ref(),
                &info.dispensing_date.clone(),
                info.encode_to_vec(),
                "dispensing_info.dispensing_date",
            )
        })
    }

    async fn add_checkup_record(&self, request: Request<pb::AddCheckupRecordRequest>) -> Reply<pb::AddRecordResponse> {
        self.run(request, |app, req| {
            let info = req
                .specific_health_checkup_info
                .clone()
                .ok_or_else(|| bad("specific_health_checkup_info", "is required"))?;
            app.add_medical_record(
                MedicalKind::Checkup,
                req.person.as_ref(),
                &info.checkup_date.clone(),
                info.encode_to_vec(),
                "specific_health_checkup_info.checkup_date",
            )
        })
    }

    async fn set_consent(&self, request: Request<pb::SetConsentRequest>) -> Reply<pb::SetConsentResponse> {
        self.run(request, |app, req| app.set_consent(req))
    }

    async fn put_facility(&self, request: Request<pb::PutFacilityRequest>) -> Reply<pb::FacilityResponse> {
        self.run(request, |app, req| app.put_facility(req))
    }

    async fn remove_facility(&self, request: Request<pb::RemoveFacilityRequest>) -> Reply<pb::RemoveFacilityResponse> {
        self.0.admin_allowed(&request)?;
        Ok(Response::new(self.0.remove_facility(request.get_ref())?))
    }

    async fn list_facilities(&self, request: Request<pb::ListFacilitiesRequest>) -> Reply<pb::ListFacilitiesResponse> {
        self.run(request, |app, _| {
            Ok(pb::ListFacilitiesResponse {
                facilities: app.store.get().facilities()?.iter().map(facility_entry).collect(),
            })
        })
    }

    async fn revoke_certificate(
        &self,
        request: Request<pb::RevokeCertificateRequest>,
    ) -> Reply<pb::RevokedCertificatesResponse> {
        self.run(request, |app, req| {
            let sha = fingerprint(&req.certificate_sha256)?;
            let revoked = Revoked { revoked_at: app.clock.unix_now(), reason: req.reason.chars().take(200).collect() };
            app.revocations.set(&sha, Some(revoked)).map_err(revocation_failed)?;
            Ok(revoked_list(app))
        })
    }

    async fn reinstate_certificate(
        &self,
        request: Request<pb::ReinstateCertificateRequest>,
    ) -> Reply<pb::RevokedCertificatesResponse> {
        self.run(request, |app, req| {
            let sha = fingerprint(&req.certificate_sha256)?;
            if !app.revocations.set(&sha, None).map_err(revocation_failed)? {
                return Err(not_found("revoked certificate", "CERTIFICATE_NOT_REVOKED"));
            }
            Ok(revoked_list(app))
        })
    }

    async fn list_revoked_certificates(
        &self,
        request: Request<pb::ListRevokedCertificatesRequest>,
    ) -> Reply<pb::RevokedCertificatesResponse> {
        self.run(request, |app, _| Ok(revoked_list(app)))
    }

    async fn add_fault(&self, request: Request<pb::AddFaultRequest>) -> Reply<pb::Fault> {
        self.run(request, |app, req| app.add_fault(req))
    }

    async fn list_faults(&self, request: Request<pb::ListFaultsRequest>) -> Reply<pb::ListFaultsResponse> {
        self.run(request, |app, _| {
            Ok(pb::ListFaultsResponse { faults: app.faults.list().iter().map(|f| fault_pb(f)).collect() })
        })
    }

    async fn clear_faults(&self, request: Request<pb::ClearFaultsRequest>) -> Reply<pb::ClearFaultsResponse> {
        self.run(request, |app, req| {
            let cleared = app.faults.clear((req.id != 0).then_some(req.id)) as u32;
            app.serving.notify();
            Ok(pb::ClearFaultsResponse { cleared })
        })
    }

    async fn read_journal(&self, request: Request<pb::ReadJournalRequest>) -> Reply<pb::ReadJournalResponse> {
        self.run(request, |app, req| app.read_journal(req))
    }

    async fn clear_journal(&self, request: Request<pb::ClearJournalRequest>) -> Reply<pb::ClearJournalResponse> {
        self.run(request, |app, _| {
            app.journal.clear();
            Ok(pb::ClearJournalResponse {})
        })
    }

    async fn set_journal(&self, request: Request<pb::SetJournalRequest>) -> Reply<pb::SetJournalResponse> {
        self.run(request, |app, req| {
            app.journal.set_enabled(req.enabled);
            Ok(pb::SetJournalResponse { enabled: app.journal.enabled() })
        })
    }

    async fn set_clock(&self, request: Request<pb::SetClockRequest>) -> Reply<pb::ClockResponse> {
        self.run(request, |app, req| app.set_clock(req))
    }
}
