//! Compiles `proto/*.proto` with `protox` (a protobuf compiler written in Rust, so no system
//! `protoc` is needed) and generates the prost messages and tonic clients and servers.

use std::path::PathBuf;

const PROTOS: &[&str] = &["confidence.proto", "registry.proto", "gateway.proto"];

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let dir = PathBuf::from(std::env::var("CARGO_MANIFEST_DIR")?).join("proto");
    println!("cargo:rerun-if-changed={}", dir.display());
    for p in PROTOS {
        println!("cargo:rerun-if-changed={}", dir.join(p).display());
    }
    let descriptors = protox::compile(PROTOS, [&dir])?;
    // No `Client::connect(addr)` constructors: the gateway's own rpc is named `Connect`, and
    // clients are made from a `Channel` anyway.
    tonic_prost_build::configure()
        .build_client(true)
        .build_server(true)
        .build_transport(false)
        .compile_fds(descriptors)?;
    Ok(())
}
