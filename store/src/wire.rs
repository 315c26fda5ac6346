//! Protobuf fields written by hand, for the two encodings the server does most: a
//! qualification's result (once per qualification of every seeded person) and the per-request
//! fields of every confirmation. Writing fields straight into the output saves building a prost
//! message of twenty-odd `String`s only to encode and drop it.
//!
//! The generated types stay the definition of the format: the server's `service::convert` tests check that these
//! bytes equal prost's encoding of the same message, field for field and in the same order
//! (ascending field numbers, empty strings omitted, as proto3 and prost do).

use bytes::BufMut;
use onshi_domain::date::{Date, JstDateTime};
use onshi_domain::digits::Decimal;

const LEN: u32 = 2;

/// Appends fields to a buffer.
pub struct Wire<'a, B: BufMut>(pub &'a mut B);

impl<B: BufMut> Wire<'_, B> {
    /// A base-128 varint (tags and lengths).
    pub fn varint(&mut self, mut v: u64) {
        while v >= 0x80 {
            self.0.put_u8(v as u8 | 0x80);
            v >>= 7;
        }
        self.0.put_u8(v as u8);
    }

    fn bytes_field(&mut self, field: u32, b: &[u8]) {
        self.varint(u64::from(field << 3 | LEN));
        self.varint(b.len() as u64);
        self.0.put_slice(b);
    }

    /// A string field; an empty string is the default and is not written.
    pub fn str(&mut self, field: u32, s: &str) -> &mut Self {
        if !s.is_empty() {
            self.bytes_field(field, s.as_bytes());
        }
        self
    }

    /// A date as `YYYYMMDD`.
    pub fn date(&mut self, field: u32, d: Date) -> &mut Self {
        self.bytes_field(field, &d.yyyymmdd_bytes());
        self
    }

    /// A date as `YYYYMMDD`, or nothing.
    pub fn opt_date(&mut self, field: u32, d: Option<Date>) -> &mut Self {
        if let Some(d) = d {
            self.date(field, d);
        }
        self
    }

    /// A time as `YYYYMMDDhhmmss`.
    pub fn time(&mut self, field: u32, t: JstDateTime) -> &mut Self {
        self.bytes_field(field, &t.compact_bytes());
        self
    }

    /// A number in decimal.
    pub fn decimal(&mut self, field: u32, n: u64) -> &mut Self {
        self.bytes_field(field, Decimal::new(n, 1).as_bytes());
        self
    }

    /// A percentage as three digits (`030` is 30 %), the form of the ratio codes.
    pub fn percent(&mut self, field: u32, p: u8) -> &mut Self {
        self.bytes_field(field, &[b'0' + p / 100, b'0' + p / 10 % 10, b'0' + p % 10]);
        self
    }
}

impl Wire<'_, Vec<u8>> {
    /// A nested message written by `fill`. Its length goes before it, so one byte is set aside
    /// and widened in the rare case the message is 128 bytes or longer.
    pub fn message(&mut self, field: u32, fill: impl FnOnce(&mut Wire<'_, Vec<u8>>)) -> &mut Self {
        self.varint(u64::from(field << 3 | LEN));
        let len_at = self.0.len();
        self.0.push(0);
        fill(&mut Wire(&mut *self.0));
        let len = self.0.len() - len_at - 1;
        if len < 0x80 {
            self.0[len_at] = len as u8;
        } else {
            let mut prefix = Vec::with_capacity(3);
            Wire(&mut prefix).varint(len as u64);
            self.0.splice(len_at..len_at + 1, prefix);
        }
        self
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn numbers_and_percentages_are_written_in_decimal() {
        let mut out = Vec::new();
        Wire(&mut out).decimal(1, 0).decimal(2, u64::MAX).percent(3, 30).percent(4, 100);
        let expect = [
            vec![8 | 2, 1, b'0'],
            [vec![16 | 2, 20], u64::MAX.to_string().into_bytes()].concat(),
            vec![24 | 2, 3, b'0', b'3', b'0'],
            vec![32 | 2, 3, b'1', b'0', b'0'],
        ]
        .concat();
        assert_eq!(out, expect);
    }
}
