//! Pre-encoded requests for each workload, drawn from the same deterministic population the
//! server seeded, so no key files are needed.

use bytes::Bytes;
use onshi_domain::date::Date;
use onshi_domain::population::{Population, mix64};
use onshi_proto::v1::{
    BulkConfirmUploadRequest, CardReaderInfo, ConfirmByCardRequest, ConfirmByInsuredNumberRequest,
    ConfirmStreamRequest, GetMedicationInfoRequest, GetSpecificHealthCheckupInfoRequest, PatientSearchInfo,
    QualificationConfirmSearchInfo, confirm_stream_request,
};
use prost::Message;

/// How keys are drawn from the population.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum KeyDistribution {
    Uniform,
    /// Zipf-like (exponent ≈ 1): ranks drawn log-uniformly, mapped to scattered people.
    Zipf,
}

/// Draws person indices.
#[derive(Debug, Clone)]
pub struct Keys {
    persons: u64,
    distribution: KeyDistribution,
    state: u64,
}

impl Keys {
    pub fn new(persons: u64, distribution: KeyDistribution, salt: u64) -> Keys {
        Keys { persons: persons.max(1), distribution, state: mix64(salt ^ 0x5EED) }
    }

    fn next_u64(&mut self) -> u64 {
        self.state = self.state.wrapping_add(0x9E37_79B9_7F4A_7C15);
        mix64(self.state)
    }

    /// The next person index.
    pub fn next(&mut self) -> u64 {
        let r = self.next_u64();
        match self.distribution {
            KeyDistribution::Uniform => ((u128::from(r) * u128::from(self.persons)) >> 64) as u64,
            KeyDistribution::Zipf => {
                let u = (r >> 11) as f64 / (1u64 << 53) as f64;
                let rank = ((self.persons as f64).ln() * u).exp() as u64 - 1;
                // Scatter the hot ranks over the population.
                mix64(rank ^ 0xA5A5) % self.persons
            }
        }
    }
}

pub fn search(pop: &Population, i: u64) -> QualificationConfirmSearchInfo {
    let k = pop.keys(i);
    QualificationConfirmSearchInfo {
        insurer_number: k.current.insurer_number.as_str().to_owned(),
        insured_card_symbol: k.current.symbol.as_str().to_owned(),
        insured_identification_number: k.current.number.as_str().to_owned(),
        insured_branch_number: k.current.branch.map(|b| b.as_str().to_owned()).unwrap_or_default(),
        birthdate: k.birthdate.yyyymmdd(),
        ..Default::default()
    }
}

fn patient(s: &QualificationConfirmSearchInfo) -> PatientSearchInfo {
    PatientSearchInfo {
        insurer_number: s.insurer_number.clone(),
        insured_card_symbol: s.insured_card_symbol.clone(),
        insured_identification_number: s.insured_identification_number.clone(),
        insured_branch_number: s.insured_branch_number.clone(),
        birthdate: s.birthdate.clone(),
    }
}

pub fn card_request(serial: &str, consents: bool) -> ConfirmByCardRequest {
    let flag = if consents { "1" } else { "" };
    ConfirmByCardRequest {
        message_header: None,
        card_reader_info: Some(CardReaderInfo {
            certificate_serial_number: serial.to_owned(),
            verification_method: "1".into(),
            pharmacists_info_cons_flg: flag.into(),
            specific_health_checkups_info_cons_flg: flag.into(),
            ..Default::default()
        }),
    }
}

/// The person index of the `n`th card holder found from `i` on (about 80 % hold a card).
pub fn card_serial(pop: &Population, mut i: u64, persons: u64) -> String {
    for _ in 0..64 {
        if let Some(s) = pop.keys(i).card_serial {
            return s.as_str().to_owned();
        }
        i = (i + 1) % persons.max(1);
    }
    String::new()
}

pub fn encode(m: &impl Message) -> Bytes {
    Bytes::from(m.encode_to_vec())
}

pub fn card(pop: &Population, i: u64, persons: u64) -> Bytes {
    encode(&card_request(&card_serial(pop, i, persons), false))
}

pub fn insured(pop: &Population, i: u64) -> Bytes {
    encode(&ConfirmByInsuredNumberRequest {
        message_header: None,
        qualification_confirm_search_info: Some(search(pop, i)),
    })
}

/// People who do not exist: the insured numbers of indices beyond the seeded population.
pub fn miss(pop: &Population, i: u64, persons: u64) -> Bytes {
    insured(pop, persons + 1 + i)
}

pub fn medication(pop: &Population, i: u64, today: Date) -> Bytes {
    let start = today.add_years(-3).and_then(|d| d.add_months(1)).unwrap_or(today);
    encode(&GetMedicationInfoRequest {
        message_header: None,
        patient_search_info: Some(patient(&search(pop, i))),
        start_date: start.yyyymmdd()[..6].to_owned(),
        end_date: String::new(),
    })
}

pub fn checkup(pop: &Population, i: u64) -> Bytes {
    encode(&GetSpecificHealthCheckupInfoRequest {
        message_header: None,
        patient_search_info: Some(patient(&search(pop, i))),
    })
}

pub fn stream_message(pop: &Population, i: u64, persons: u64, tag: u64) -> ConfirmStreamRequest {
    ConfirmStreamRequest {
        tag,
        request: Some(confirm_stream_request::Request::ByCard(card_request(&card_serial(pop, i, persons), false))),
    }
}

pub fn bulk(pop: &Population, keys: &mut Keys, size: usize) -> Bytes {
    encode(&BulkConfirmUploadRequest {
        message_header: None,
        qualification_confirm_search_info: (0..size).map(|_| search(pop, keys.next())).collect(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_stay_within_the_population() {
        for d in [KeyDistribution::Uniform, KeyDistribution::Zipf] {
            let mut k = Keys::new(1000, d, 1);
            let mut seen = std::collections::HashMap::new();
            for _ in 0..100_000 {
                let i = k.next();
                assert!(i < 1000);
                *seen.entry(i).or_insert(0u32) += 1;
            }
            let hottest = seen.values().max().copied().unwrap_or(0);
            match d {
                KeyDistribution::Uniform => assert!(hottest < 200, "{hottest}"),
                KeyDistribution::Zipf => assert!(hottest > 2000, "zipf has hot keys: {hottest}"),
            }
        }
    }
}
