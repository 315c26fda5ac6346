//! Test tools shared by the integration tests and the commands that run longer than CI may:
//! [`stress`], concurrent writers over real mTLS with a ledger of every acknowledged write and a
//! check that each one is there, unique and intact.

pub mod stress;
