//! `tagger-serve`: the tonic gRPC service (`tagger.v1.Tagger`) with a throughput-tuned dynamic batcher, a model
//! repository with atomic hot reload, grpc.health.v1, server reflection, Prometheus metrics, Annif's REST API
//! (on the metrics port, see [`annif`]) and tagger's own JSON API with a web page beside it (`rest.rs`).
//!
//! The only crate of the workspace that knows tokio, tonic and axum. The binary (`tagger serve`) turns flags into a
//! [`ServeConfig`], calls [`start`], and wires signals to [`Running::shutdown`] and [`Reloader::reload`].

pub mod annif;
pub mod batcher;
pub mod config;
pub mod loadgen;
pub mod metrics;
pub mod openloop;
pub mod registry;
mod rest;
pub mod server;
pub mod service;
pub mod status;

pub use config::{ModelSource, ServeConfig};
pub use server::{Reloader, Running, StartError, build_shared, start};
