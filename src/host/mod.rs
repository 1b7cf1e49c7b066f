//! Entries run as processes on this machine (`sandbox up --host`, PRODUCT.md
//! 6.2): their environment, the process, its port, and the foreground loop
//! that ties them to the sandbox's forwarder.

pub mod env;
pub mod port;
pub mod process;
