//! Compiles proto/ with protox (a protobuf compiler in Rust, so no protoc is needed) and
//! generates the tonic services, plus the descriptor set served by gRPC reflection.

use std::path::PathBuf;

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let protos = [
        "proto/letting/v1/audit.proto",
        "proto/letting/v1/common.proto",
        "proto/letting/v1/housing.proto",
        "proto/letting/v1/keys.proto",
        "proto/letting/v1/municipality.proto",
        "proto/letting/v1/registry.proto",
        "proto/letting/v1/report.proto",
    ];
    for proto in protos {
        println!("cargo:rerun-if-changed={proto}");
    }
    let descriptors = protox::compile(protos, ["proto"])?;
    let out = PathBuf::from(std::env::var("OUT_DIR")?);
    let descriptor_path = out.join("letting_descriptor.bin");
    std::fs::write(
        &descriptor_path,
        prost::Message::encode_to_vec(&descriptors),
    )?;
    tonic_prost_build::configure()
        .build_client(true)
        .build_server(true)
        .compile_fds(descriptors)?;
    Ok(())
}
