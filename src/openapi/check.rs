//! `sandbox check --contract`: stub routes, recordings and live answers checked against the documents entries declare.
