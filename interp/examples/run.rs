//! Runs one Prism file: `cargo run --release -p prism-interp --example run -- FILE`.
//! Syntax and runtime errors go to stderr (and end stdout with an `ERROR:` line); the exit
//! status is 1 on error.

use std::process::ExitCode;

use prism_interp::{Interpreter, Options, run_with_large_stack};

fn main() -> ExitCode {
    let Some(path) = std::env::args().nth(1) else {
        eprintln!("usage: run FILE.prism");
        return ExitCode::from(2);
    };
    let text = match std::fs::read_to_string(&path) {
        Ok(t) => t,
        Err(e) => {
            eprintln!("cannot read {path}: {e}");
            return ExitCode::from(2);
        }
    };
    let ok = run_with_large_stack(move || {
        let parsed = prism_compiler::parse(&text);
        let file = prism_compiler::SourceFile::new(path.as_str(), text.as_str());
        let errors: Vec<_> = parsed.diagnostics.iter().filter(|d| d.is_error()).collect();
        if !errors.is_empty() {
            for d in &errors {
                eprintln!("{path}: error: {}", d.message);
            }
            println!("ERROR: {}", errors[0].message);
            return false;
        }
        let mut interp = Interpreter::new(Options::default());
        match interp.run_program(&parsed.program, &file) {
            Ok(_) => true,
            Err(e) => {
                drop(interp);
                eprintln!("{path}: runtime error: {}", e.message);
                for f in &e.stack {
                    eprintln!("  in {} ({}:{})", f.name, f.file, f.call_span.start);
                }
                println!("ERROR: {}", e.message);
                false
            }
        }
    });
    if ok {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    }
}
