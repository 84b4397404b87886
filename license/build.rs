//! Refuses the `test-key` feature in release-profile builds (license.md: "The trusted public key").

fn main() {
    println!("cargo::rerun-if-env-changed=PROFILE");
    let test_key = std::env::var_os("CARGO_FEATURE_TEST_KEY").is_some();
    let release = std::env::var("PROFILE").is_ok_and(|p| p == "release");
    if test_key && release {
        panic!(
            "prism-license: the `test-key` feature swaps the trusted license key for the public \
             test key and must never be built with a release profile"
        );
    }
}
