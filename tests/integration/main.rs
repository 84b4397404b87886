//! The integration test binary: every test here runs the built `prism` binary on data files.
//! Each data file becomes one named test (libtest-mimic), so `cargo test -- NAME` filters.

mod agents;
mod cli;
mod conformance;
mod conventions;
mod diagnostics;
mod docs;
mod examples;
mod fmt;
mod gate;
mod hardening;
mod lsp;
mod parallax;
mod repl;
mod serve;
mod shared_copies;
mod stdlib;
mod store;
mod support;
mod temporal;

fn main() {
    let args = libtest_mimic::Arguments::from_args();
    let mut trials = Vec::new();
    trials.extend(conformance::trials());
    trials.extend(conventions::trials());
    trials.extend(diagnostics::trials());
    trials.extend(cli::trials());
    trials.extend(agents::trials());
    trials.extend(examples::trials());
    trials.extend(fmt::trials());
    trials.extend(hardening::trials());
    trials.extend(lsp::trials());
    trials.extend(store::trials());
    trials.extend(gate::trials());
    trials.extend(serve::trials());
    trials.extend(parallax::trials());
    trials.extend(stdlib::trials());
    trials.extend(repl::trials());
    trials.extend(docs::trials());
    trials.extend(shared_copies::trials());
    trials.extend(temporal::trials());
    libtest_mimic::run(&args, trials).exit();
}
