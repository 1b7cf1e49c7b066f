//! Carries a plan out on the engine, emitting events as it goes; handles
//! Ctrl-C and SIGTERM.
