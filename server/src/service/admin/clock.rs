//! The admin API's clock: set it to a time, or offset it from the system's.

use onshi_domain::date::JstDateTime;
use onshi_proto::served as pb;

use super::bad;
use crate::app::App;
use crate::errors::ServiceError;

pub(super) fn set_clock(app: &App, req: &pb::SetClockRequest) -> Result<pb::ClockResponse, ServiceError> {
    let target = if req.now.is_empty() {
        None
    } else {
        Some(JstDateTime::parse(&req.now).map_err(|e| bad("now", e.to_string()))?)
    };
    match target {
        Some(t) => app.clock.set_now(t.unix_seconds()),
        None => app.clock.set_offset(req.offset_seconds),
    }
    Ok(pb::ClockResponse { now: app.clock.now().compact(), offset_seconds: app.clock.offset() })
}
