//! HPACK (RFC 7541) for the bare HTTP/2 client: a request's header block encoded once per
//! method, and a decoder for the server's answers.
//!
//! Requests use only the static table and literals without indexing, so every call of a method
//! sends the same bytes and the client keeps no encoder state. Answers must be decoded with the
//! dynamic table the server fills (`h2` indexes every header it can and Huffman-codes every
//! literal), so after the first answers on a connection each header is one indexed byte.

use std::collections::VecDeque;

use crate::huffman;

/// RFC 7541 Appendix A: the static table (index 1 first).
const STATIC: [(&[u8], &[u8]); 61] = [
    (b":authority", b""),
    (b":method", b"GET"),
    (b":method", b"POST"),
    (b":path", b"/"),
    (b":path", b"/index.html"),
    (b":scheme", b"http"),
    (b":scheme", b"https"),
    (b":status", b"200"),
    (b":status", b"204"),
    (b":status", b"206"),
    (b":status", b"304"),
    (b":status", b"400"),
    (b":status", b"404"),
    (b":status", b"500"),
    (b"accept-charset", b""),
    (b"accept-encoding", b"gzip, deflate"),
    (b"accept-language", b""),
    (b"accept-ranges", b""),
    (b"accept", b""),
    (b"access-control-allow-origin", b""),
    (b"age", b""),
    (b"allow", b""),
    (b"authorization", b""),
    (b"cache-control", b""),
    (b"content-disposition", b""),
    (b"content-encoding", b""),
    (b"content-language", b""),
    (b"content-length", b""),
    (b"content-location", b""),
    (b"content-range", b""),
    (b"content-type", b""),
    (b"cookie", b""),
    (b"date", b""),
    (b"etag", b""),
    (b"expect", b""),
    (b"expires", b""),
    (b"from", b""),
    (b"host", b""),
    (b"if-match", b""),
    (b"if-modified-since", b""),
    (b"if-none-match", b""),
    (b"if-range", b""),
    (b"if-unmodified-since", b""),
    (b"last-modified", b""),
    (b"link", b""),
    (b"location", b""),
    (b"max-forwards", b""),
    (b"proxy-authenticate", b""),
    (b"proxy-authorization", b""),
    (b"range", b""),
    (b"referer", b""),
    (b"refresh", b""),
    (b"retry-after", b""),
    (b"server", b""),
    (b"set-cookie", b""),
    (b"strict-transport-security", b""),
    (b"transfer-encoding", b""),
    (b"user-agent", b""),
    (b"vary", b""),
    (b"via", b""),
    (b"www-authenticate", b""),
];

/// Static indices the request block uses.
const AUTHORITY: usize = 1;
const METHOD_POST: usize = 3;
const PATH: usize = 4;
const SCHEME_HTTP: usize = 6;
const SCHEME_HTTPS: usize = 7;
const CONTENT_TYPE: usize = 31;

/// The dynamic table size the client allows (SETTINGS_HEADER_TABLE_SIZE's default).
pub const TABLE_SIZE: usize = 4096;

/// An integer with an `n`-bit prefix, the prefix's other bits set to `flags` (RFC 7541 §5.1).
fn put_int(out: &mut Vec<u8>, value: usize, n: u32, flags: u8) {
    let max = (1usize << n) - 1;
    if value < max {
        out.push(flags | value as u8);
        return;
    }
    out.push(flags | max as u8);
    let mut rest = value - max;
    while rest >= 128 {
        out.push((rest % 128) as u8 | 0x80);
        rest /= 128;
    }
    out.push(rest as u8);
}

/// A raw (not Huffman-coded) string literal.
fn put_str(out: &mut Vec<u8>, s: &[u8]) {
    put_int(out, s.len(), 7, 0);
    out.extend_from_slice(s);
}

/// The header block of a gRPC request: POST `path` on `authority`, `content-type:
/// application/grpc`, `te: trailers` and `metadata` (names in lower case).
pub fn request_block(https: bool, authority: &str, path: &str, metadata: &[(&str, &[u8])]) -> Vec<u8> {
    let mut out = Vec::with_capacity(64 + path.len() + authority.len());
    put_int(&mut out, METHOD_POST, 7, 0x80);
    put_int(&mut out, if https { SCHEME_HTTPS } else { SCHEME_HTTP }, 7, 0x80);
    // Literals without indexing (0000 and a 4-bit name index; index 0: the name follows).
    put_int(&mut out, PATH, 4, 0);
    put_str(&mut out, path.as_bytes());
    put_int(&mut out, AUTHORITY, 4, 0);
    put_str(&mut out, authority.as_bytes());
    put_int(&mut out, CONTENT_TYPE, 4, 0);
    put_str(&mut out, b"application/grpc");
    for (name, value) in [("te", &b"trailers"[..])].into_iter().chain(metadata.iter().copied()) {
        out.push(0);
        put_str(&mut out, name.as_bytes());
        put_str(&mut out, value);
    }
    out
}

/// Why a header block could not be decoded (the connection cannot go on after one).
pub type DecodeError = &'static str;

/// A dynamic table entry: name and value.
type Entry = (Box<[u8]>, Box<[u8]>);

/// The server's header blocks, in the order they arrive on the connection.
pub struct Decoder {
    /// Newest first: dynamic index 62 is `table[0]`.
    table: VecDeque<Entry>,
    size: usize,
    max_size: usize,
    name: Vec<u8>,
    value: Vec<u8>,
}

/// Reads an integer with an `n`-bit prefix at `*pos`.
fn get_int(block: &[u8], pos: &mut usize, n: u32) -> Result<usize, DecodeError> {
    let max = (1usize << n) - 1;
    let first = *block.get(*pos).ok_or("truncated integer")? as usize & max;
    *pos += 1;
    if first < max {
        return Ok(first);
    }
    let mut value = max;
    let mut shift = 0;
    loop {
        let b = *block.get(*pos).ok_or("truncated integer")?;
        *pos += 1;
        if shift > 28 {
            return Err("integer too large");
        }
        value += ((b & 0x7f) as usize) << shift;
        shift += 7;
        if b & 0x80 == 0 {
            return Ok(value);
        }
    }
}

/// Reads a string literal at `*pos` into `out` (cleared first).
fn get_str(block: &[u8], pos: &mut usize, out: &mut Vec<u8>) -> Result<(), DecodeError> {
    let huffman = *block.get(*pos).ok_or("truncated string")? & 0x80 != 0;
    let len = get_int(block, pos, 7)?;
    let bytes = block.get(*pos..*pos + len).ok_or("truncated string")?;
    *pos += len;
    out.clear();
    if huffman {
        huffman::decode(bytes, out).ok_or("bad Huffman code")
    } else {
        out.extend_from_slice(bytes);
        Ok(())
    }
}

impl Default for Decoder {
    fn default() -> Decoder {
        Decoder { table: VecDeque::new(), size: 0, max_size: TABLE_SIZE, name: Vec::new(), value: Vec::new() }
    }
}

impl Decoder {
    fn entry(&self, index: usize) -> Result<(&[u8], &[u8]), DecodeError> {
        match index {
            0 => Err("header index 0"),
            i if i <= STATIC.len() => Ok(STATIC[i - 1]),
            i => {
                self.table.get(i - STATIC.len() - 1).map(|(n, v)| (&n[..], &v[..])).ok_or("header index past the table")
            }
        }
    }

    fn evict_to(&mut self, max: usize) {
        while self.size > max {
            match self.table.pop_back() {
                Some((n, v)) => self.size -= n.len() + v.len() + 32,
                None => self.size = 0,
            }
        }
    }

    fn insert(&mut self, name: &[u8], value: &[u8]) {
        let size = name.len() + value.len() + 32;
        if size > self.max_size {
            // An entry larger than the table empties it (RFC 7541 §4.4).
            self.table.clear();
            self.size = 0;
            return;
        }
        self.evict_to(self.max_size - size);
        self.table.push_front((name.into(), value.into()));
        self.size += size;
    }

    /// Calls `header(name, value)` for each header of one complete block.
    pub fn decode(&mut self, block: &[u8], mut header: impl FnMut(&[u8], &[u8])) -> Result<(), DecodeError> {
        let mut pos = 0;
        while pos < block.len() {
            let b = block[pos];
            if b & 0x80 != 0 {
                let (name, value) = self.entry(get_int(block, &mut pos, 7)?)?;
                header(name, value);
            } else if b & 0xe0 == 0x20 {
                let size = get_int(block, &mut pos, 5)?;
                if size > TABLE_SIZE {
                    return Err("table size update above the limit");
                }
                self.max_size = size;
                self.evict_to(size);
            } else {
                // Literal: with incremental indexing (01, 6-bit prefix), without or never indexed
                // (0000 / 0001, 4-bit prefix).
                let indexing = b & 0xc0 == 0x40;
                let index = get_int(block, &mut pos, if indexing { 6 } else { 4 })?;
                let mut name = std::mem::take(&mut self.name);
                let mut value = std::mem::take(&mut self.value);
                let decoded = (|| {
                    if index == 0 {
                        get_str(block, &mut pos, &mut name)?;
                    } else {
                        name.clear();
                        name.extend_from_slice(self.entry(index)?.0);
                    }
                    get_str(block, &mut pos, &mut value)
                })();
                if decoded.is_ok() {
                    header(&name, &value);
                    if indexing {
                        self.insert(&name, &value);
                    }
                }
                self.name = name;
                self.value = value;
                decoded?;
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn headers(d: &mut Decoder, block: &[u8]) -> Vec<(String, String)> {
        let mut out = Vec::new();
        d.decode(block, |n, v| {
            out.push((String::from_utf8_lossy(n).into_owned(), String::from_utf8_lossy(v).into_owned()))
        })
        .expect("decodes");
        out
    }

    fn hex(s: &str) -> Vec<u8> {
        let s: String = s.split_whitespace().collect();
        (0..s.len()).step_by(2).map(|i| u8::from_str_radix(&s[i..i + 2], 16).expect("hex")).collect()
    }

    #[test]
    fn the_rfc_response_examples_decode_with_the_dynamic_table() {
        // RFC 7541 C.6: three responses with Huffman coding and a 256-byte table.
        let mut d = Decoder { max_size: 256, ..Decoder::default() };
        let first = headers(
            &mut d,
            &hex("4882 6402 5885 aec3 771a 4b61 96d0 7abe 9410 54d4 44a8 2005 9504 0b81 66e0 82a6
                  2d1b ff6e 919d 29ad 1718 63c7 8f0b 97c8 e9ae 82ae 43d3"),
        );
        assert_eq!(first[0], (":status".into(), "302".into()));
        assert_eq!(first[1], ("cache-control".into(), "private".into()));
        assert_eq!(first[2], ("date".into(), "Mon, 21 Oct 2013 20:13:21 GMT".into()));
        assert_eq!(first[3], ("location".into(), "https://www.example.com".into()));
        let second = headers(&mut d, &hex("4883 640e ff c1 c0 bf"));
        assert_eq!(second[0], (":status".into(), "307".into()));
        assert_eq!(second[3], ("location".into(), "https://www.example.com".into()));
        assert_eq!(d.table.len(), 4);
    }

    #[test]
    fn a_request_block_reads_back() {
        let block = request_block(false, "127.0.0.1:1", "/grpc.health.v1.Health/Check", &[("x-onshi-facility", b"13")]);
        let got = headers(&mut Decoder::default(), &block);
        let want = [
            (":method", "POST"),
            (":scheme", "http"),
            (":path", "/grpc.health.v1.Health/Check"),
            (":authority", "127.0.0.1:1"),
            ("content-type", "application/grpc"),
            ("te", "trailers"),
            ("x-onshi-facility", "13"),
        ];
        assert_eq!(got, want.map(|(n, v)| (n.to_owned(), v.to_owned())));
    }
}
