//! `tagger-proto`: Rust types and tonic client/server code generated from `proto/tagger/v1/tagger.proto`.
#![allow(missing_debug_implementations, reason = "generated code")]
#![allow(clippy::all, reason = "generated code")]

/// Package `tagger.v1`.
pub mod v1 {
    tonic::include_proto!("tagger.v1");

    /// The encoded file descriptor set, for gRPC server reflection.
    pub const FILE_DESCRIPTOR_SET: &[u8] = tonic::include_file_descriptor_set!("tagger_descriptor");
}
