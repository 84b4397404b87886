//! Generates the parser from `grammar/prism.lalrpop`.

fn main() {
    println!("cargo:rerun-if-changed=../grammar/prism.lalrpop");
    let out = std::env::var("OUT_DIR").expect("cargo sets OUT_DIR");
    if let Err(e) = lalrpop::Configuration::new()
        .set_in_dir("../grammar")
        .set_out_dir(&out)
        .emit_rerun_directives(false)
        .process()
    {
        panic!("lalrpop failed: {e}");
    }
}
