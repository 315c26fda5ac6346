//! The admin API's people: person references and qualification specs translated into domain
//! values, handed to `ops::people`, and the changed person answered as JSON.

use onshi_domain::age;
use onshi_domain::codes::{
    InsuredCardClassification, LimitBracket, LimitCertificateClassification, PersonalFamily, ReasonOfLoss, Sex,
    SpecificDisease,
};
use onshi_domain::date::Date;
use onshi_domain::ids::{
    CertificateSerial, CheckDigits, InsuredBranchNumber, InsuredCardSymbol, InsuredIdentificationNumber, InsurerNumber,
};
use onshi_domain::kana::to_half_width;
use onshi_domain::qualification::{LimitCertificate, Person, PersonId, Qualification, SpecificDiseaseCertificate};
use onshi_proto::served::{self as pb, person_ref::By};

use super::{bad, date_or, today};
use crate::app::App;
use crate::errors::{ServiceError, Violations};
use crate::ops::confirm::PersonMatch;
use crate::ops::people::{self, PersonSpec};
use crate::service::qualification::{SearchFields, parse_search};

/// The answer to every call that changes or reads a person.
pub(super) fn response(person: &Person) -> pb::PersonResponse {
    pb::PersonResponse { person_id: person.id.0, person_json: serde_json::to_string(person).unwrap_or_default() }
}

/// Resolves a person reference to an id.
pub(super) fn resolve(app: &App, r: Option<&pb::PersonRef>) -> Result<PersonId, ServiceError> {
    match r.and_then(|r| r.by.as_ref()) {
        None => Err(bad("person", "name a person_id, a certificate_serial_number or insured numbers")),
        Some(By::PersonId(id)) => Ok(PersonId(*id)),
        Some(By::CertificateSerialNumber(s)) => {
            let serial =
                CertificateSerial::parse(s).map_err(|e| bad("person.certificate_serial_number", e.to_string()))?;
            Ok(people::card_owner(&app.store.get(), &serial)?.person())
        }
        Some(By::Insured(s)) => {
            let mut v = Violations::default();
            // Admin callers name any insurer: check digits are not enforced.
            let q = parse_search(CheckDigits::Lenient, SearchFields::from(s), "person.insured", &mut v);
            let (q, _) = v.finish_with(q)?;
            match crate::ops::confirm::resolve_person(&app.store.get(), &q)? {
                PersonMatch::One(p, _) => Ok(p),
                PersonMatch::None => Err(ServiceError::not_found("person", "PERSON_NOT_FOUND")),
                PersonMatch::Several => Err(bad("person.insured", "several people match; give the 枝番")),
            }
        }
    }
}

pub(super) fn get(app: &App, req: &pb::GetPersonRequest) -> Result<pb::PersonResponse, ServiceError> {
    let id = resolve(app, req.person.as_ref())?;
    Ok(response(&people::load(&app.store.get(), id, today(app))?))
}

pub(super) fn upsert(app: &App, req: &pb::UpsertPersonRequest) -> Result<pb::PersonResponse, ServiceError> {
    let mut v = Violations::default();
    let today = today(app);
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
    let card = (!req.certificate_serial_number.is_empty())
        .then(|| v.check("certificate_serial_number", CertificateSerial::parse(&req.certificate_serial_number)))
        .flatten();
    let spec = PersonSpec {
        id: (req.person_id != 0).then_some(PersonId(req.person_id)),
        name: req.name.clone(),
        name_kana: to_half_width(&req.name_kana),
        sex,
        birthdate: birthdate.unwrap_or(today),
        address: req.address.clone(),
        post_number: req.post_number.clone(),
        card,
    };
    let empty = pb::QualificationSpec::default();
    let person = people::upsert(&app.store.get(), spec, today, |person| {
        // Every bad field, of the person and of the qualification, is reported at once.
        let q =
            qualification_from(req.qualification.as_ref().unwrap_or(&empty), person, today, "qualification", &mut v);
        v.finish_with(q)
    })?;
    Ok(response(&person))
}

pub(super) fn lose_qualification(
    app: &App,
    req: &pb::LoseQualificationRequest,
) -> Result<pb::PersonResponse, ServiceError> {
    let id = resolve(app, req.person.as_ref())?;
    let today = today(app);
    let mut v = Violations::default();
    let date = date_or(&mut v, "disqualification_date", &req.disqualification_date, today);
    let reason = match req.reason_of_loss.as_str() {
        "" => ReasonOfLoss::Other,
        code => ReasonOfLoss::from_code(code).unwrap_or_else(|| {
            v.add("reason_of_loss", "must be \"01\", \"02\", \"03\" or \"99\"");
            ReasonOfLoss::Other
        }),
    };
    v.finish()?;
    Ok(response(&people::lose_qualification(&app.store.get(), id, today, date, reason)?))
}

pub(super) fn change_insurer(app: &App, req: &pb::ChangeInsurerRequest) -> Result<pb::PersonResponse, ServiceError> {
    let id = resolve(app, req.person.as_ref())?;
    let today = today(app);
    let empty = pb::QualificationSpec::default();
    let spec = req.qualification.as_ref().unwrap_or(&empty);
    let person = people::change_insurer(&app.store.get(), id, today, |old| {
        let mut v = Violations::default();
        let next = qualification_from(spec, old, today, "qualification", &mut v);
        v.finish_with(next)
    })?;
    Ok(response(&person))
}

pub(super) fn issue_card(app: &App, req: &pb::IssueCardRequest) -> Result<pb::PersonResponse, ServiceError> {
    let id = resolve(app, req.person.as_ref())?;
    let today = today(app);
    let mut v = Violations::default();
    let issued = date_or(&mut v, "issued", &req.issued, today);
    let expires = (!req.expires.is_empty()).then(|| date_or(&mut v, "expires", &req.expires, issued));
    let serial = (!req.certificate_serial_number.is_empty())
        .then(|| v.check("certificate_serial_number", CertificateSerial::parse(&req.certificate_serial_number)));
    v.finish()?;
    // A serial that was given and did not parse was reported above.
    let serial = serial.map(|s| s.ok_or(ServiceError::Unvalidated)).transpose()?;
    Ok(response(&people::issue_card(&app.store.get(), id, today, serial, issued, expires)?))
}

pub(super) fn revoke_card(app: &App, req: &pb::RevokeCardRequest) -> Result<pb::PersonResponse, ServiceError> {
    let serial = CertificateSerial::parse(&req.certificate_serial_number)
        .map_err(|e| bad("certificate_serial_number", e.to_string()))?;
    Ok(response(&people::revoke_card(&app.store.get(), &serial, today(app))?))
}

/// A qualification from the admin API's description of one, for `person` as of `today`; every bad
/// field is recorded under `path`. What the spec leaves out follows the population's rules: the
/// 負担割合 and the age terms from the birthdate, a 限度額 certificate to the next July 31st.
pub(super) fn qualification_from(
    spec: &pb::QualificationSpec,
    person: &Person,
    today: Date,
    path: &str,
    v: &mut Violations,
) -> Option<Qualification> {
    let insurer =
        v.check(&format!("{path}.insurer_number"), InsurerNumber::parse(&spec.insurer_number, CheckDigits::Lenient));
    let symbol = v.check(&format!("{path}.insured_card_symbol"), InsuredCardSymbol::parse(&spec.insured_card_symbol));
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
                v.add(&format!("{p}.limit_application_certificate_classification_flag"), "must be A01–A06 or B01–B10");
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
                onshi_domain::qualification::next_july_31(on),
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
    let terms = onshi_domain::qualification::age_terms(person.birthdate, on, percent);
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
        contribution_percent: terms.contribution_percent,
        preschool: terms.preschool,
        elderly: terms.elderly,
        limit_certificate: limit,
        specific_diseases: diseases,
    })
}
