//! Decimal digits without the formatting machinery: the seeder and the encoder write millions of
//! numbers, and `format!` showed in their profiles.

/// A number's decimal digits, zero-padded to a minimum width, on the stack.
#[derive(Debug, Clone, Copy)]
pub struct Decimal {
    digits: [u8; 20],
    start: usize,
}

impl Decimal {
    /// `n` with at least `width` digits (`format!("{n:0width$}")`; widths above 20 count as 20).
    pub fn new(n: u64, width: usize) -> Decimal {
        let mut digits = [b'0'; 20];
        let mut start = digits.len();
        let mut rest = n;
        loop {
            start -= 1;
            digits[start] = b'0' + (rest % 10) as u8;
            rest /= 10;
            if rest == 0 {
                break;
            }
        }
        Decimal { digits, start: start.min(digits.len() - width.min(digits.len())) }
    }

    pub fn as_bytes(&self) -> &[u8] {
        &self.digits[self.start..]
    }

    pub fn as_str(&self) -> &str {
        // ASCII digits only.
        std::str::from_utf8(self.as_bytes()).unwrap_or_default()
    }
}

#[cfg(test)]
mod tests {
    use super::Decimal;

    #[test]
    fn digits_match_format() {
        for n in [0u64, 7, 10, 99, 100, 12_345, u64::MAX] {
            for width in [0usize, 1, 3, 5, 7, 20, 25] {
                assert_eq!(Decimal::new(n, width).as_str(), format!("{n:0w$}", w = width.min(20)), "{n} {width}");
            }
        }
    }
}
