//! OpenAPI documents (PRODUCT.md 6.5): reading one with the files its
//! `$ref`s name ([`bundle`]), stub routes answering every operation
//! ([`stubs`], with values made from schemas by [`generate`]), and the
//! contract calls are checked against ([`contract`]): by the agent for a
//! stub with `validate: true`, and by `sandbox check --contract`
//! ([`check`]) for stub routes, recordings and live answers.

pub mod bundle;
pub mod check;
pub mod contract;
pub mod generate;
pub mod operations;
pub mod resolve;
pub mod stubs;

use std::sync::Arc;

pub use bundle::Bundle;
pub use contract::{Compiled, Contract, Violation};
pub use stubs::Origin;

use crate::manifest::Route;

/// An OpenAPI document an entry names (`api.openapi`, or a stub's
/// `openapi`), read with every file it refers to.
#[derive(Debug, Clone, PartialEq)]
pub struct Spec {
    /// The root file, as the manifest names it.
    pub file: String,
    pub bundle: Arc<Bundle>,
}

/// What a stub's `openapi:` adds to its routes.
#[derive(Debug, Clone, PartialEq)]
pub struct OpenApiStub {
    pub spec: Spec,
    /// Routes answering every operation, after the stub's own routes.
    pub routes: Vec<Route>,
    /// Where each of `routes` comes from in the document.
    pub origins: Vec<Origin>,
    /// Whether requests are checked against the document (`validate: true`).
    pub validate: bool,
}

impl OpenApiStub {
    pub fn new(spec: Spec, validate: bool) -> OpenApiStub {
        let (routes, origins) = stubs::routes(&spec.bundle).into_iter().unzip();
        OpenApiStub {
            spec,
            routes,
            origins,
            validate,
        }
    }

    /// The contract the agent checks requests against, with `validate`.
    pub fn contract(&self) -> Option<Contract> {
        self.validate.then(|| Contract::new(&self.spec.bundle))
    }
}
