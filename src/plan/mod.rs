//! The plan: what a manifest turns into on the engine (containers, their
//! configuration and start order), and what changes on a second `up`.
