//! Offline verification of Prism enterprise license keys.
