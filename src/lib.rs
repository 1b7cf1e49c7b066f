//! `sandbox`: run a service and its dependencies (real, stubbed, replayed or
//! recorded) in Docker from one manifest, with a live service registry.

pub mod agent;
pub mod cli;
pub mod engine;
pub mod error;
pub mod health;
pub mod host;
pub mod import;
pub mod manifest;
pub mod openapi;
pub mod output;
pub mod plan;
pub mod proto;
pub mod registry;
pub mod runner;
pub mod trace;
pub mod tunnel;
pub mod watch;

pub use error::{Error, Result};
