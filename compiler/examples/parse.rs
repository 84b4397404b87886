//! Parses files and prints their diagnostics (a debugging aid).
fn main() {
    for path in std::env::args().skip(1) {
        let text = std::fs::read_to_string(&path).unwrap_or_default();
        let parsed = prism_compiler::parse(&text);
        let file = prism_compiler::SourceFile::new(path.clone(), text);
        if std::env::var("AST").is_ok() {
            println!("{:#?}", parsed.program);
        }
        print!(
            "{}",
            prism_compiler::diagnostic::render(&parsed.diagnostics, &file, false)
        );
    }
}
