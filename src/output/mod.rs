//! Renderers: human tables and progress on stderr, JSON documents on stdout.
