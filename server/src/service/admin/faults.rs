//! The admin API's injected faults, translated to and from `faults::Fault`.

use onshi_proto::served::{self as pb, fault::Kind as FaultKindPb};

use super::bad;
use crate::app::App;
use crate::errors::ServiceError;
use crate::faults::FaultKind;

pub(super) fn add(app: &App, req: &pb::AddFaultRequest) -> Result<pb::Fault, ServiceError> {
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
    let id = app.faults.add(
        f.method.clone(),
        f.medical_institution_code.clone(),
        f.person.clone(),
        f.count,
        f.probability,
        kind,
    );
    app.serving.notify();
    Ok(app.faults.list().iter().find(|x| x.id == id).map(|x| to_pb(x)).unwrap_or_default())
}

pub(super) fn to_pb(f: &crate::faults::Fault) -> pb::Fault {
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
