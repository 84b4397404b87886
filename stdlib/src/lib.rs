//! Prism modules shipped inside the toolchain, importable as `std/<name>`.

/// The source of the standard module `std/<name>`, if there is one.
pub fn module_source(name: &str) -> Option<&'static str> {
    let _ = name;
    None
}
