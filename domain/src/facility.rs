//! A facility on the allow-list: who may ask, as what kind of facility, and whether it is
//! currently allowed.

use serde::{Deserialize, Serialize};

use crate::ids::{CheckDigits, MedicalInstitutionCode};

/// What kind of facility asks; decides which fee rules apply and is shown in access history.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum FacilityKind {
    /// 診療所 (医科).
    Clinic,
    /// 病院.
    Hospital,
    /// 歯科診療所.
    Dental,
    /// 薬局.
    Pharmacy,
}

impl FacilityKind {
    /// The kind as configuration and metrics name it.
    pub fn name(self) -> &'static str {
        match self {
            FacilityKind::Clinic => "clinic",
            FacilityKind::Hospital => "hospital",
            FacilityKind::Dental => "dental",
            FacilityKind::Pharmacy => "pharmacy",
        }
    }
}

/// Whether the facility may ask right now.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum FacilityStatus {
    /// Registered and allowed.
    Active,
    /// Registered but suspended (e.g. its terminal was reported lost): refused like an unknown one.
    Suspended,
}

/// One allow-list entry.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Facility {
    #[serde(with = "code_as_string")]
    pub code: MedicalInstitutionCode,
    pub name: String,
    pub kind: FacilityKind,
    pub status: FacilityStatus,
    /// SHA-256 of the client certificate (DER), hex; when set, only that certificate may speak for
    /// the facility.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub certificate_sha256: Option<String>,
    /// Check-digit validation for this facility's requests; `None` follows the server setting.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub check_digits: Option<CheckDigits>,
}

mod code_as_string {
    use serde::{Deserialize, Deserializer, Serializer};

    use crate::ids::{CheckDigits, MedicalInstitutionCode};

    pub fn serialize<S: Serializer>(code: &MedicalInstitutionCode, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(code.as_str())
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<MedicalInstitutionCode, D::Error> {
        let s = String::deserialize(d)?;
        // Codes on the allow-list were validated when added; the shape is still enforced here.
        MedicalInstitutionCode::parse(&s, CheckDigits::Lenient).map_err(serde::de::Error::custom)
    }
}
