//! Compiles proto/onshi/v1/*.proto with protox (pure Rust, no protoc) into two views of the
//! same wire format:
//! - `onshi.v1.rs`: the public types and the client, exactly as the .proto files say;
//! - `served/onshi.v1.rs`: the server's view, where `QualificationConfirmationBody.result_list`
//!   is `repeated bytes`. An embedded message and a bytes field share one wire encoding, so the
//!   server can put a stored, ready-to-serve `ResultOfQualificationConfirmation` on the wire
//!   without decoding and re-encoding it. A unit test in src/lib.rs proves the two agree.
//!
//! It also writes the encoded descriptor set for gRPC server reflection.

use std::path::PathBuf;

use prost_types::field_descriptor_proto::Type;

/// Fields that the server's view carries as pre-encoded bytes: (message, field).
const SERVED_AS_BYTES: &[(&str, &str)] =
    &[("QualificationConfirmationBody", "result_list"), ("BulkConfirmDownloadResponse", "bulk_confirm_unit")];

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let out_dir = PathBuf::from(std::env::var("OUT_DIR")?);
    let protos = [
        "proto/onshi/v1/qualification.proto",
        "proto/onshi/v1/medical.proto",
        "proto/onshi/v1/access_history.proto",
        "proto/onshi/v1/fees.proto",
        "proto/onshi/v1/admin.proto",
    ];
    println!("cargo:rerun-if-changed=proto");

    let fds = protox::Compiler::new(["proto"])?
        .include_source_info(true)
        .include_imports(true)
        .open_files(protos)?
        .file_descriptor_set();

    // The descriptor sets for reflection (without source info, to keep the binary small): the
    // facility listener's, without the admin API, and the admin listener's, with everything.
    let mut reflection_fds = fds.clone();
    for file in &mut reflection_fds.file {
        file.source_code_info = None;
    }
    // The admin set keeps the facility files for their message types, but not their services:
    // those are not served on the admin listener.
    let mut admin_fds = reflection_fds.clone();
    for file in &mut admin_fds.file {
        if file.name() != "onshi/v1/admin.proto" {
            file.service.clear();
        }
    }
    std::fs::write(out_dir.join("onshi_admin_descriptor.bin"), prost::Message::encode_to_vec(&admin_fds))?;
    reflection_fds.file.retain(|f| f.name() != "onshi/v1/admin.proto");
    std::fs::write(out_dir.join("onshi_descriptor.bin"), prost::Message::encode_to_vec(&reflection_fds))?;

    tonic_prost_build::configure().build_client(true).build_server(true).compile_fds(fds.clone())?;

    let mut served = fds;
    for file in &mut served.file {
        for message in &mut file.message_type {
            let name = message.name().to_owned();
            for field in &mut message.field {
                if SERVED_AS_BYTES.iter().any(|(m, f)| *m == name && *f == field.name()) {
                    field.set_type(Type::Bytes);
                    field.type_name = None;
                }
            }
        }
    }
    let served_dir = out_dir.join("served");
    std::fs::create_dir_all(&served_dir)?;
    tonic_prost_build::configure()
        .build_client(false)
        .build_server(true)
        .bytes(".onshi.v1.QualificationConfirmationBody.result_list")
        .bytes(".onshi.v1.BulkConfirmDownloadResponse.bulk_confirm_unit")
        .out_dir(&served_dir)
        .compile_fds(served)?;
    Ok(())
}
