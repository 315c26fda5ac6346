//! How much of a refused input an error message repeats: enough to recognise it, never all of it.
//! A message goes back to the client in gRPC trailers (grpc-message and the BadRequest details),
//! which clients cap at a few KiB; an echo of a megabyte-long field would turn a clear
//! INVALID_ARGUMENT into a transport error.

/// The most characters of an input an error message repeats.
pub const ECHO_CHARS: usize = 24;

/// `s` as an error message repeats it: at most [`ECHO_CHARS`] characters, then "…" if cut.
pub fn echo(s: &str) -> String {
    match s.char_indices().nth(ECHO_CHARS) {
        None => s.to_owned(),
        Some((cut, _)) => format!("{}…", &s[..cut]),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn long_inputs_are_cut_short_ones_kept() {
        assert_eq!(echo("0113001"), "0113001");
        let long = "あ".repeat(1_000_000);
        let e = echo(&long);
        assert_eq!(e.chars().count(), ECHO_CHARS + 1);
        assert!(e.ends_with('…'));
    }
}

#[cfg(test)]
mod id_tests {
    #[test]
    fn an_id_error_echoes_a_short_part() {
        let long = "\u{1}".repeat(60 * 1024);
        let e = crate::ids::InsurerNumber::parse(&long, crate::ids::CheckDigits::Strict).expect_err("bad");
        assert!(e.to_string().len() < 400, "{}", e.to_string().len());
    }
}
