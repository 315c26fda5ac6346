//! The pre-encoded requests of every workload in the mix, built before the run from the
//! deterministic population (and, for medication and checkups, after giving the consents those
//! calls need), so a worker only clones a `Bytes` per call.

use std::collections::BTreeMap;

use bytes::Bytes;
use onshi_domain::date::{Date, JstDateTime};
use onshi_domain::population::Population;

use crate::AnyError;
use crate::cli::Args;
use crate::h2client::{self, Connection, Route};
use crate::requests::{self, Keys};
use crate::workload::Workload;

/// Unary requests already framed for the wire (gRPC prefix included), stream messages bare
/// (tonic frames them).
pub struct Pools {
    pub by_workload: BTreeMap<Workload, Vec<Bytes>>,
    pub stream: Vec<Bytes>,
}

fn today() -> Date {
    let now = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map_or(0, |d| d.as_secs() as i64);
    JstDateTime::from_unix_seconds(now)
        .map(JstDateTime::date)
        .unwrap_or_else(|| Date::new(2026, 1, 1).unwrap_or_else(|| unreachable!()))
}

/// Card holders among the people a pool will ask about (index, serial).
fn holders(pop: &Population, keys: &mut Keys, n: usize, persons: u64) -> Vec<(u64, String)> {
    let mut out = Vec::with_capacity(n);
    while out.len() < n {
        let i = keys.next();
        if let Some(s) = pop.keys(i).card_serial {
            out.push((i, s.as_str().to_owned()));
        } else if persons == 0 {
            break;
        }
    }
    out
}

/// Builds the pools of `mix`; the consents go out on `connection` through `consent_route`.
pub async fn build(
    args: &Args,
    mix: &[(Workload, u32)],
    connection: &Connection,
    consent_route: &Route,
) -> Result<Pools, AnyError> {
    let pop = Population::new(args.seed, today());
    let n = args.pool.max(1);
    let mut by_workload = BTreeMap::new();
    let mut stream = Vec::new();
    for (w, _) in mix {
        let mut keys =
            Keys::new(args.persons, args.keys, *w as u64 ^ args.key_salt.wrapping_mul(0x9E37_79B9_7F4A_7C15));
        let pool: Vec<Bytes> = match w {
            Workload::Health => {
                vec![requests::encode(&tonic_health::pb::HealthCheckRequest { service: String::new() })]
            }
            Workload::Card => (0..n).map(|_| requests::card(&pop, keys.next(), args.persons)).collect(),
            Workload::Insured => (0..n).map(|_| requests::insured(&pop, keys.next())).collect(),
            Workload::Miss => (0..n as u64).map(|i| requests::miss(&pop, i * 7919, args.persons)).collect(),
            Workload::Medication | Workload::Checkup => {
                // The patients consent at the reader first (as the facility making the calls).
                let people = holders(&pop, &mut keys, n.min(2000), args.persons);
                let mut send = connection.clone();
                for (_, serial) in &people {
                    let framed = h2client::frame(&requests::encode(&requests::card_request(serial, true)));
                    h2client::unary(&mut send, consent_route, framed)
                        .await
                        .map_err(|e| format!("giving consents failed: {:?}: {}", e.code, e.message))?;
                }
                let today = today();
                people
                    .iter()
                    .map(|(i, _)| {
                        if *w == Workload::Medication {
                            requests::medication(&pop, *i, today)
                        } else {
                            requests::checkup(&pop, *i)
                        }
                    })
                    .collect()
            }
            Workload::Stream => {
                stream = (0..n as u64)
                    .map(|t| requests::encode(&requests::stream_message(&pop, keys.next(), args.persons, t)))
                    .collect();
                Vec::new()
            }
            Workload::Bulk => {
                (0..4).map(|_| requests::bulk(&pop, &mut keys, args.bulk_size.clamp(1, 10_000))).collect()
            }
        };
        by_workload.insert(*w, pool.iter().map(|m| h2client::frame(m)).collect());
    }
    Ok(Pools { by_workload, stream })
}
