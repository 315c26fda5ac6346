//! Decoding HPACK's Huffman-coded strings (RFC 7541 §5.2, Appendix B), which is how `h2` sends
//! every literal header name and value.
//!
//! The code is canonical: codes of one length are consecutive in symbol order, and the first
//! code of a length follows the last of the shorter ones. So the code is fully given by which
//! symbols have which length, and decoding only needs, per length, the first code and the
//! symbols. Only the lengths up to 19 bits are listed: they hold every printable ASCII byte (the
//! only bytes gRPC puts in header names and values; `grpc-message` is percent-encoded) and a few
//! others; a longer code is refused rather than guessed.

/// (length in bits, the symbols of that length in symbol order).
const LENGTHS: [(u32, &[u8]); 11] = [
    (5, b"012aceiost"),
    (6, b" %-./3456789=A_bdfghlmnpru"),
    (7, b":BCDEFGHIJKLMNOPQRSTUVWYjkqvwxyz"),
    (8, b"&*,;XZ"),
    (10, b"!\"()?"),
    (11, b"'+|"),
    (12, b"#>"),
    (13, &[0, b'$', b'@', b'[', b']', b'~']),
    (14, b"^}"),
    (15, b"<`{"),
    (19, &[b'\\', 195, 208]),
];

/// Per length: its first code (`u32::MAX` when no symbol has that length).
struct Table {
    first: [u32; 20],
    symbols: [&'static [u8]; 20],
}

const TABLE: Table = build();

const fn build() -> Table {
    let mut first = [u32::MAX; 20];
    let mut symbols: [&'static [u8]; 20] = [&[]; 20];
    let mut code: u32 = 0;
    let mut len: u32 = LENGTHS[0].0;
    let mut i = 0;
    while i < LENGTHS.len() {
        let (l, syms) = LENGTHS[i];
        // Codes of the next length start after the last one, shifted by the difference.
        code <<= l - len;
        len = l;
        first[l as usize] = code;
        symbols[l as usize] = syms;
        code += syms.len() as u32;
        i += 1;
    }
    Table { first, symbols }
}

/// Appends the decoding of `coded` to `out`; `None` if it is not valid HPACK Huffman (or uses a
/// code longer than the table holds).
pub fn decode(coded: &[u8], out: &mut Vec<u8>) -> Option<()> {
    let mut code: u32 = 0;
    let mut len: u32 = 0;
    for byte in coded {
        for shift in (0..8).rev() {
            code = (code << 1) | u32::from((byte >> shift) & 1);
            len += 1;
            if len >= 5 {
                let first = TABLE.first[len as usize];
                let syms = TABLE.symbols[len as usize];
                if first != u32::MAX && code >= first && code - first < syms.len() as u32 {
                    out.push(syms[(code - first) as usize]);
                    code = 0;
                    len = 0;
                    continue;
                }
            }
            if len >= 19 {
                return None;
            }
        }
    }
    // Padding: fewer than 8 bits, all ones (the start of EOS).
    (len < 8 && code == (1 << len) - 1).then_some(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn decoded(hex: &str) -> Option<Vec<u8>> {
        let bytes: Vec<u8> =
            (0..hex.len()).step_by(2).map(|i| u8::from_str_radix(&hex[i..i + 2], 16).expect("hex")).collect();
        let mut out = Vec::new();
        decode(&bytes, &mut out).map(|()| out)
    }

    #[test]
    fn the_rfc_examples_decode() {
        // RFC 7541, C.4.1–C.4.3 and C.6.1.
        assert_eq!(decoded("f1e3c2e5f23a6ba0ab90f4ff").as_deref(), Some(&b"www.example.com"[..]));
        assert_eq!(decoded("a8eb10649cbf").as_deref(), Some(&b"no-cache"[..]));
        assert_eq!(decoded("25a849e95ba97d7f").as_deref(), Some(&b"custom-key"[..]));
        assert_eq!(decoded("25a849e95bb8e8b4bf").as_deref(), Some(&b"custom-value"[..]));
        assert_eq!(decoded("6402").as_deref(), Some(&b"302"[..]));
        assert_eq!(decoded("aec3771a4b").as_deref(), Some(&b"private"[..]));
    }

    #[test]
    fn bad_padding_and_overlong_codes_are_refused() {
        // A zero bit in the padding.
        assert_eq!(decoded("f1e3c2e5f23a6ba0ab90f4fe"), None);
        // A whole byte of padding.
        assert_eq!(decoded("ff"), None);
        // Thirty ones: EOS, which must not appear.
        assert_eq!(decoded("fffffffc"), None);
    }
}
