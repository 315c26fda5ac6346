//! The onshi.v1 protobuf messages and gRPC services, compiled from `proto/` with protox.
//!
//! - [`v1`]: the public API, as the .proto files say; clients (the load generator, tests,
//!   integrators' Rust code) use this.
//! - [`served`]: the server's view of the same wire format, in which a result list entry is
//!   pre-encoded bytes, so stored results go out without re-encoding. Only the server uses it.
//! - [`FILE_DESCRIPTOR_SET`]: the encoded descriptors, for gRPC server reflection.

#![allow(clippy::all, missing_docs, rust_2018_idioms)]

/// The public onshi.v1 API.
pub mod v1 {
    tonic::include_proto!("onshi.v1");
}

/// The server's view of onshi.v1: identical on the wire, but `result_list` entries are bytes.
pub mod served {
    include!(concat!(env!("OUT_DIR"), "/served/onshi.v1.rs"));
}

/// The encoded `FileDescriptorSet` of the facility API (every onshi.v1 file but the admin API),
/// for the facility listener's reflection.
pub const FILE_DESCRIPTOR_SET: &[u8] = include_bytes!(concat!(env!("OUT_DIR"), "/onshi_descriptor.bin"));

/// The encoded `FileDescriptorSet` of the admin listener's reflection: the admin API, with the
/// facility files it imports (their messages, not their services).
pub const ADMIN_FILE_DESCRIPTOR_SET: &[u8] = include_bytes!(concat!(env!("OUT_DIR"), "/onshi_admin_descriptor.bin"));

#[cfg(test)]
mod tests {
    use prost::Message;

    use super::{served, v1};

    /// A served body with a pre-encoded result decodes as the public body with that result, and
    /// appending more encoded fields to the pre-encoded bytes merges them into the same entry.
    #[test]
    fn served_view_is_wire_compatible_with_public_view() {
        let result = v1::ResultOfQualificationConfirmation {
            insurer_number: "01130012".into(),
            name: "山田 太郎".into(),
            elderly_recipient_certificate_info: Some(v1::ElderlyRecipientCertificateInfo {
                elderly_recipient_contribution_ratio: "020".into(),
                ..Default::default()
            }),
            ..Default::default()
        };
        let mut entry = result.encode_to_vec();
        let consent =
            v1::ResultOfQualificationConfirmation { pharmacists_info_cons_flg: "1".into(), ..Default::default() };
        consent.encode(&mut entry).expect("vec grows");

        let body = served::QualificationConfirmationBody {
            processing_result_status: "1".into(),
            qualification_validity: "1".into(),
            result_list: vec![entry.into()],
            ..Default::default()
        };
        let decoded = v1::QualificationConfirmationBody::decode(body.encode_to_vec().as_slice())
            .expect("public view decodes the served bytes");
        assert_eq!(decoded.result_list.len(), 1);
        let got = &decoded.result_list[0];
        assert_eq!(got.insurer_number, "01130012");
        assert_eq!(got.name, "山田 太郎");
        assert_eq!(got.pharmacists_info_cons_flg, "1");
        assert_eq!(
            got.elderly_recipient_certificate_info.as_ref().map(|e| e.elderly_recipient_contribution_ratio.as_str()),
            Some("020")
        );
    }

    #[test]
    fn descriptor_set_names_every_service() {
        let fds = prost_types::FileDescriptorSet::decode(super::FILE_DESCRIPTOR_SET).expect("valid");
        let services: Vec<_> = fds.file.iter().flat_map(|f| f.service.iter().map(|s| s.name().to_owned())).collect();
        for expected in
            ["QualificationService", "MedicationService", "CheckupService", "AccessHistoryService", "FeeService"]
        {
            assert!(services.contains(&expected.to_owned()), "{expected}");
        }
        assert!(!services.contains(&"AdminService".to_owned()), "the facility set leaves the admin API out");
        let admin = prost_types::FileDescriptorSet::decode(super::ADMIN_FILE_DESCRIPTOR_SET).expect("valid");
        let admin_services: Vec<_> =
            admin.file.iter().flat_map(|f| f.service.iter().map(|s| s.name().to_owned())).collect();
        assert_eq!(admin_services, vec!["AdminService".to_owned()]);
    }
}
