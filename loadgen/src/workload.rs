//! What one request does (`Workload`: its name and gRPC path), the `--mix` of them, and how the
//! workers are shared between streams and unary calls.

use clap::ValueEnum;

use crate::AnyError;

/// What one request does.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, ValueEnum)]
pub enum Workload {
    /// grpc.health.v1 Check: the stack's own ceiling.
    Health,
    /// ConfirmByCard with a seeded person's card serial.
    Card,
    /// ConfirmByInsuredNumber with a seeded person's numbers.
    Insured,
    /// People who do not exist, asked by insured numbers.
    Miss,
    /// GetMedicationInfo (the generator gives the consents first).
    Medication,
    /// GetSpecificHealthCheckupInfo (likewise).
    Checkup,
    /// ConfirmStream with --batch confirmations in flight per stream.
    Stream,
    /// BulkConfirmUpload of --bulk-size search infos.
    Bulk,
}

/// Every workload, in declaration order (`w as usize` indexes it).
pub const ALL: [Workload; 8] = [
    Workload::Health,
    Workload::Card,
    Workload::Insured,
    Workload::Miss,
    Workload::Medication,
    Workload::Checkup,
    Workload::Stream,
    Workload::Bulk,
];

/// Every workload made of unary calls (all but the stream).
pub const UNARY: [Workload; 7] = [
    Workload::Health,
    Workload::Card,
    Workload::Insured,
    Workload::Miss,
    Workload::Medication,
    Workload::Checkup,
    Workload::Bulk,
];

impl Workload {
    pub fn name(self) -> &'static str {
        match self {
            Workload::Health => "health",
            Workload::Card => "card",
            Workload::Insured => "insured",
            Workload::Miss => "miss",
            Workload::Medication => "medication",
            Workload::Checkup => "checkup",
            Workload::Stream => "stream",
            Workload::Bulk => "bulk",
        }
    }

    pub fn path(self) -> &'static str {
        match self {
            Workload::Health => "/grpc.health.v1.Health/Check",
            Workload::Card => "/onshi.v1.QualificationService/ConfirmByCard",
            Workload::Insured => "/onshi.v1.QualificationService/ConfirmByInsuredNumber",
            Workload::Miss => "/onshi.v1.QualificationService/ConfirmByInsuredNumber",
            Workload::Medication => "/onshi.v1.MedicationService/GetMedicationInfo",
            Workload::Checkup => "/onshi.v1.CheckupService/GetSpecificHealthCheckupInfo",
            Workload::Stream => "/onshi.v1.QualificationService/ConfirmStream",
            Workload::Bulk => "/onshi.v1.QualificationService/BulkConfirmUpload",
        }
    }
}

/// `--mix`: "card=8,insured=1" (a bare name weighs 1; weight 0 drops it).
pub fn parse_mix(s: &str) -> Result<Vec<(Workload, u32)>, AnyError> {
    let mut out = Vec::new();
    for part in s.split(',').map(str::trim).filter(|p| !p.is_empty()) {
        let (name, weight) = part.split_once('=').unwrap_or((part, "1"));
        let w = Workload::from_str(name.trim(), true).map_err(|_| format!("--mix: unknown workload {name:?}"))?;
        let weight: u32 = weight.trim().parse().map_err(|_| format!("--mix: bad weight in {part:?}"))?;
        if weight > 0 {
            out.push((w, weight));
        }
    }
    if out.is_empty() {
        return Err("--mix names no workload".into());
    }
    Ok(out)
}

/// How many of `concurrency` workers run streams. Streams and unary calls share the workers by
/// weight: a stream worker keeps --batch confirmations in flight, a unary worker one call.
pub fn stream_workers(mix: &[(Workload, u32)], concurrency: usize) -> Result<usize, AnyError> {
    let total_weight: u32 = mix.iter().map(|(_, w)| w).sum();
    let stream_weight: u32 = mix.iter().filter(|(w, _)| *w == Workload::Stream).map(|(_, w)| w).sum();
    let stream_workers = if stream_weight == 0 {
        0
    } else if stream_weight == total_weight {
        concurrency
    } else if concurrency < 2 {
        // One worker cannot be both (and the share below would clamp to an empty range).
        concurrency
    } else {
        ((concurrency as u64 * u64::from(stream_weight) / u64::from(total_weight)) as usize).clamp(1, concurrency - 1)
    };
    if stream_workers > 0 && stream_workers == concurrency && stream_weight != total_weight {
        return Err("--concurrency is too small to run streams and unary calls together".into());
    }
    Ok(stream_workers)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn streams_and_unary_calls_share_the_workers_by_weight() {
        let mix = parse_mix("stream=1,card=3").expect("mix");
        assert_eq!(stream_workers(&mix, 8).expect("shared"), 2);
        assert_eq!(stream_workers(&mix, 2).expect("shared"), 1);
        assert!(stream_workers(&mix, 1).is_err(), "one worker cannot run both");
        assert_eq!(stream_workers(&parse_mix("stream").expect("mix"), 1).expect("streams only"), 1);
        assert_eq!(stream_workers(&parse_mix("card").expect("mix"), 4).expect("unary only"), 0);
    }

    #[test]
    fn all_is_indexed_by_the_discriminant() {
        for (i, w) in ALL.iter().enumerate() {
            assert_eq!(*w as usize, i, "{w:?}");
        }
        assert_eq!(ALL.len(), Workload::value_variants().len());
    }
}
