//! The integration tests, in one binary so the suite links once: the real
//! `sandbox` binary driven against a real Docker engine (and, for the
//! manifest, agent and registry modules, without one).

#[macro_use]
mod common;

mod agent;
mod faults;
mod fuzz;
mod manifest;
mod output;
mod registry;
mod registry_live;
mod shared_engine;
mod stubs;
mod trust;
mod up;
mod workflows;
