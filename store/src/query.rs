//! What callers hand the store to ask for records, in domain terms: an insured-number query, and
//! the opaque token that continues a paged access-history listing. Key bytes stay inside.

use onshi_domain::date::Date;
use onshi_domain::hex::{hex, unhex};
use onshi_domain::ids::{InsuredBranchNumber, InsuredCardSymbol, InsuredIdentificationNumber, InsurerNumber};
use onshi_domain::qualification::PersonId;

use crate::keys;

/// A validated insured-number search: the insurance card's numbers and the birthdate, with the
/// 枝番 if the card has one (without it, every branch matches).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InsuredQuery {
    pub insurer: InsurerNumber,
    pub symbol: InsuredCardSymbol,
    pub number: InsuredIdentificationNumber,
    pub birthdate: Date,
    pub branch: Option<InsuredBranchNumber>,
}

impl InsuredQuery {
    /// The index prefix every branch of this card number and birthdate shares.
    pub(crate) fn index_prefix(&self) -> Vec<u8> {
        keys::insured_prefix(&self.insurer, &self.symbol, &self.number, self.birthdate)
    }
}

/// Where a page of a person's access history continues: shown to clients as hex, and good only
/// for the listing of the person it was made for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PageToken([u8; keys::ACCESS_KEY_LEN]);

impl PageToken {
    /// A token a client sent back; `None` unless it has the form of one this store made.
    pub fn parse(text: &str) -> Option<PageToken> {
        unhex(text).and_then(|bytes| PageToken::from_key(&bytes))
    }

    pub(crate) fn from_key(key: &[u8]) -> Option<PageToken> {
        key.try_into().ok().map(PageToken)
    }

    pub(crate) fn key(&self) -> &[u8] {
        &self.0
    }

    /// The person whose listing this token continues.
    pub fn person(&self) -> PersonId {
        keys::person_of_access(&self.0)
    }
}

impl std::fmt::Display for PageToken {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&hex(&self.0))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tokens_round_trip_and_name_their_person() {
        let token = PageToken(keys::access(PersonId(42), 1_700_000_000_000, 7));
        let shown = token.to_string();
        assert_eq!(shown.len(), 48);
        assert_eq!(PageToken::parse(&shown), Some(token));
        assert_eq!(token.person(), PersonId(42));
        for bad in ["", "00", &shown[..46], &format!("{shown}00"), "zz"] {
            assert_eq!(PageToken::parse(bad), None, "{bad:?}");
        }
    }
}
