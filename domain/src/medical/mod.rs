//! Medical information a facility may view with the patient's consent: medication history
//! (薬剤情報) and specific health checkups (特定健診情報), generated deterministically per person.

pub mod checkups;
pub mod drugs;
pub mod facilities;
pub mod medication;
