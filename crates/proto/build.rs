//! Compile the .proto files with protox (pure Rust: no system `protoc` needed) and generate tonic code.

fn main() -> Result<(), Box<dyn std::error::Error>> {
    // Read at run time, not baked in with env!: cargo may reuse this build script's binary for another checkout
    // of the same sources sharing the target directory (benches/ab.sh builds two commits that way).
    let root = std::path::PathBuf::from(std::env::var("CARGO_MANIFEST_DIR")?).join("../../proto");
    let file = root.join("tagger/v1/tagger.proto");
    println!("cargo:rerun-if-changed={}", file.display());
    let fds = protox::compile([&file], [&root])?;
    let out = std::path::PathBuf::from(std::env::var("OUT_DIR")?);
    // The encoded descriptor set serves gRPC reflection (`grpcurl list` needs no .proto file).
    std::fs::write(out.join("tagger_descriptor.bin"), prost::Message::encode_to_vec(&fds))?;
    tonic_prost_build::configure().compile_fds(fds)?;
    Ok(())
}
