//! The admin API's request journal: entries read back with each request rendered as protobuf
//! JSON from its method's input type.

use onshi_domain::date::JstDateTime;
use onshi_proto::served as pb;

use super::bad;
use crate::app::App;
use crate::errors::ServiceError;

pub(super) fn read(app: &App, req: &pb::ReadJournalRequest) -> Result<pb::ReadJournalResponse, ServiceError> {
    let limit = match req.limit {
        0 => 100,
        n if n <= 1000 => n as usize,
        _ => return Err(bad("limit", "at most 1,000")),
    };
    let (entries, dropped) = app.journal.read(&req.medical_institution_code, &req.method, req.after_sequence, limit);
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
    Ok(pb::ReadJournalResponse { entries, enabled: app.journal.enabled(), dropped })
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
