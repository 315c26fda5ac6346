//! onshi-domain: the pure rules of オンライン資格確認, with no I/O.
//!
//! - [`ids`]: validating newtypes for 保険者番号, 医療機関コード, 記号, 番号, 枝番, certificate serials;
//! - [`check_digit`]: the 検証番号 rule;
//! - [`codes`] and [`result_codes`]: the code tables of the real interface;
//! - [`facility`]: allow-list entries;
//! - [`date`]: dates and JST timestamps in the interface's formats;
//! - [`age`]: co-payment and age rules on a given date;
//! - [`fees`]: the fee additions for using the system (FEES.md), the leaflet's estimate, the subsidy;
//! - [`qualification`]: a person, their cards and qualifications, and the validity rule;
//! - [`medical`]: medication histories and specific health checkups;
//! - [`population`]: the deterministic synthetic population and the scenario people.
//!
//! Nothing here reads the clock: every rule takes the date it answers for.

pub mod age;
pub mod check_digit;
pub mod codes;
pub mod date;
pub mod digits;
pub mod echo;
pub mod facility;
pub mod fees;
pub mod hex;
pub mod ids;
pub mod kana;
pub mod medical;
pub mod population;
pub mod qualification;
pub mod result_codes;
