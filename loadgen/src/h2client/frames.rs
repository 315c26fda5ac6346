//! HTTP/2 frame layout (RFC 9113 §4, §6): the frame types and flags the client uses, the windows
//! it offers, writing frame heads and reading padded payloads.

// Frame types and flags (RFC 9113 §6).
pub(super) const DATA: u8 = 0x0;
pub(super) const HEADERS: u8 = 0x1;
pub(super) const RST_STREAM: u8 = 0x3;
pub(super) const SETTINGS: u8 = 0x4;
pub(super) const PUSH_PROMISE: u8 = 0x5;
pub(super) const PING: u8 = 0x6;
pub(super) const GOAWAY: u8 = 0x7;
pub(super) const WINDOW_UPDATE: u8 = 0x8;
pub(super) const CONTINUATION: u8 = 0x9;
pub(super) const END_STREAM: u8 = 0x1;
pub(super) const ACK: u8 = 0x1;
pub(super) const END_HEADERS: u8 = 0x4;
pub(super) const PADDED: u8 = 0x8;
pub(super) const PRIORITY: u8 = 0x20;

/// The receive windows the client offers: per stream (SETTINGS) and per connection.
pub(super) const STREAM_WINDOW: u32 = 1 << 20;
pub(super) const CONN_WINDOW: u32 = 4 << 20;
/// RFC 9113's initial windows and frame size, in force until the server's SETTINGS say otherwise.
pub(super) const DEFAULT_WINDOW: i64 = 65_535;
pub(super) const DEFAULT_MAX_FRAME: usize = 16_384;
pub(super) const MAX_STREAM_ID: u32 = (1 << 31) - 1;

pub(super) fn put_frame_head(out: &mut Vec<u8>, len: usize, kind: u8, flags: u8, stream: u32) {
    out.extend_from_slice(&(len as u32).to_be_bytes()[1..]);
    out.push(kind);
    out.push(flags);
    out.extend_from_slice(&stream.to_be_bytes());
}

pub(super) fn put_window_update(out: &mut Vec<u8>, stream: u32, increment: u32) {
    put_frame_head(out, 4, WINDOW_UPDATE, 0, stream);
    out.extend_from_slice(&increment.to_be_bytes());
}

/// The payload of a padded frame without its padding.
pub(super) fn unpadded(flags: u8, payload: &[u8]) -> Result<&[u8], String> {
    if flags & PADDED == 0 {
        return Ok(payload);
    }
    let pad = usize::from(*payload.first().ok_or("empty padded frame")?);
    payload
        .get(1..payload.len().saturating_sub(pad))
        .filter(|_| pad < payload.len())
        .ok_or_else(|| "bad padding".to_owned())
}
