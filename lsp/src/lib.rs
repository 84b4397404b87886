//! The Prism language server.
