//! `prism repl`: an interactive prompt. Each input is parsed and run in one long-lived
//! interpreter, so declarations persist; the value of each expression statement is printed
//! with its confidence in the format `print` uses (`42 ~> 0.80`).
//!
//! On a terminal the line editor is rustyline (history file, multi-line input through its
//! validator, Tab completes keywords, globals and members, Ctrl-C cancels the line, Ctrl-D
//! exits). With piped standard input the same loop
//! reads lines without prompts, so `printf 'let x = 2\nx * 3\n' | prism repl` prints `6`.

use std::cell::RefCell;
use std::io::{BufRead, IsTerminal, Write};
use std::process::ExitCode;
use std::rc::Rc;

use clap::Args;
use prism_compiler::ast::{ExprKind, Program, StmtKind};
use prism_compiler::builtins;
use prism_compiler::{Diagnostic, SourceFile};
use prism_interp::{Interpreter, Options, Value, format, run_with_large_stack};
use rustyline::completion::Completer;
use rustyline::error::ReadlineError;
use rustyline::highlight::Highlighter;
use rustyline::hint::Hinter;
use rustyline::history::DefaultHistory;
use rustyline::validate::{ValidationContext, ValidationResult, Validator};
use rustyline::{Editor, Helper};

use super::repl_input::{DotCommand, HELP, declared_names, dot_command, history_path, is_complete};
use crate::report::{EXIT_RUNTIME, print_diagnostics, print_runtime_error};

/// Arguments of `prism repl`.
#[derive(Args)]
pub struct ReplArgs {
    /// Do not read or write the history file.
    #[arg(long)]
    pub no_history: bool,
}

/// Runs `prism repl`. With piped input the exit status is 1 if any input failed.
pub fn run(args: ReplArgs) -> ExitCode {
    let interactive = std::io::stdin().is_terminal();
    let failed = run_with_large_stack(move || {
        let mut session = Session::new();
        if interactive {
            interactive_loop(&mut session, !args.no_history)
        } else {
            piped_loop(&mut session)
        }
    });
    if failed {
        ExitCode::from(EXIT_RUNTIME)
    } else {
        ExitCode::SUCCESS
    }
}

/// One interpreter and the inputs it has run.
struct Session {
    interp: Interpreter,
    inputs: usize,
}

/// What the loop does after an input.
enum Next {
    Continue,
    Exit,
}

impl Session {
    fn new() -> Self {
        Session {
            interp: Interpreter::new(Options {
                base_dir: std::env::current_dir().ok(),
                ..Options::default()
            }),
            inputs: 0,
        }
    }

    /// Handles one complete input: a dot-command or Prism code. Returns what to do next and
    /// whether the input failed.
    fn handle(&mut self, text: &str) -> (Next, bool) {
        if let Some(cmd) = dot_command(text) {
            return match cmd {
                DotCommand::Help => {
                    println!("{HELP}");
                    (Next::Continue, false)
                }
                DotCommand::Exit => (Next::Exit, false),
                DotCommand::Clear => {
                    *self = Session::new();
                    println!("(every binding forgotten)");
                    (Next::Continue, false)
                }
                DotCommand::Load(path) if path.is_empty() => {
                    eprintln!("error: .load needs a file name");
                    (Next::Continue, true)
                }
                DotCommand::Load(path) => match std::fs::read_to_string(&path) {
                    Ok(code) => (Next::Continue, !self.eval(&path, &code, false)),
                    Err(e) => {
                        eprintln!("error: cannot read {path}: {e}");
                        (Next::Continue, true)
                    }
                },
                DotCommand::Unknown(word) => {
                    eprintln!("error: unknown command .{word} (try .help)");
                    (Next::Continue, true)
                }
            };
        }
        self.inputs += 1;
        let name = format!("<repl:{}>", self.inputs);
        (Next::Continue, !self.eval(&name, text, true))
    }

    /// Parses and runs `code`; with `echo`, prints the value of each expression statement.
    /// Returns false on a syntax or runtime error (already reported).
    fn eval(&mut self, name: &str, code: &str, echo: bool) -> bool {
        let file = SourceFile::new(name, code);
        let parsed = prism_compiler::parse(code);
        let mut diagnostics: Vec<Diagnostic> = parsed.diagnostics.clone();
        diagnostics.extend(prism_compiler::stdlib::check_imports(&parsed.program));
        print_diagnostics(&diagnostics, &file);
        if diagnostics.iter().any(Diagnostic::is_error) {
            return false;
        }
        // A REPL declares names again as the user refines them: turn the earlier bindings of
        // this input's declarations into redeclarable ones.
        for n in declared_names(&parsed.program) {
            if let Some(v) = self.interp.global(&n) {
                self.interp.define_global(&n, v);
            }
        }
        // Imports and function declarations first (as a program hoists them), then each
        // statement on its own so that every expression statement's value can be shown.
        let (early, rest): (Vec<_>, Vec<_>) = parsed
            .program
            .stmts
            .into_iter()
            .partition(|s| matches!(s.kind, StmtKind::Import { .. } | StmtKind::Function(_)));
        let span = parsed.program.span;
        if !early.is_empty() && !self.run(Program { stmts: early, span }, &file).0 {
            return false;
        }
        for stmt in rest {
            let shown = echo && shows_value(&stmt.kind);
            let (ok, value) = self.run(
                Program {
                    stmts: vec![stmt],
                    span,
                },
                &file,
            );
            if !ok {
                return false;
            }
            if shown && !matches!(value, Value::Null) {
                println!("{}", format::print_arg(&value));
            }
        }
        true
    }

    fn run(&mut self, program: Program, file: &SourceFile) -> (bool, Value) {
        match self.interp.run_program(&program, file) {
            Ok(v) => (true, v),
            Err(err) => {
                let _ = std::io::stdout().flush();
                print_runtime_error(&err, file);
                (false, Value::Null)
            }
        }
    }
}

/// True for an expression statement whose value is worth showing (not an assignment).
fn shows_value(kind: &StmtKind) -> bool {
    match kind {
        StmtKind::Expr(e) => !matches!(e.kind, ExprKind::Assign { .. }),
        _ => false,
    }
}

/// Reads piped lines, evaluating each time the collected text is complete. Returns true if
/// any input failed.
fn piped_loop(session: &mut Session) -> bool {
    let mut failed = false;
    let mut buffer = String::new();
    for line in std::io::stdin().lock().lines() {
        let Ok(line) = line else {
            break;
        };
        if buffer.is_empty() && line.trim().is_empty() {
            continue;
        }
        if !buffer.is_empty() {
            buffer.push('\n');
        }
        buffer.push_str(&line);
        if dot_command(&buffer).is_none() && !is_complete(&buffer) {
            continue;
        }
        let (next, bad) = session.handle(&std::mem::take(&mut buffer));
        failed |= bad;
        if let Next::Exit = next {
            return failed;
        }
    }
    if !buffer.trim().is_empty() {
        // The input ended inside an unfinished statement: report it as it stands.
        failed |= session.handle(&buffer).1;
    }
    failed
}

/// The line editor's helper: multi-line input through validation, and Tab completion of
/// keywords, globals (builtins and the session's own names) and members after a `.`.
struct PrismHelper {
    /// The session's global names, refreshed after every input.
    names: Rc<RefCell<Vec<String>>>,
}

impl Helper for PrismHelper {}
impl Highlighter for PrismHelper {}

impl Completer for PrismHelper {
    type Candidate = String;

    fn complete(
        &self,
        line: &str,
        pos: usize,
        _ctx: &rustyline::Context<'_>,
    ) -> rustyline::Result<(usize, Vec<String>)> {
        Ok(completions(line, pos, &self.names.borrow()))
    }
}

/// The completions of the word that ends at byte `pos` of `line`: where it starts and the
/// candidates, sorted and without duplicates. After `ns.` the members of a builtin namespace
/// (`Math.`, `JSON.`…), after any other `x.` the string, array and number methods; otherwise
/// keywords and `globals`.
fn completions(line: &str, pos: usize, globals: &[String]) -> (usize, Vec<String>) {
    let pos = (0..=pos.min(line.len()))
        .rev()
        .find(|&p| line.is_char_boundary(p))
        .unwrap_or(0);
    let before = &line[..pos];
    let is_word = |c: char| c.is_alphanumeric() || c == '_' || c == '$';
    let start = before
        .char_indices()
        .rev()
        .take_while(|&(_, c)| is_word(c))
        .last()
        .map_or(pos, |(i, _)| i);
    let prefix = &before[start..];
    let mut out: Vec<String> = match before[..start].strip_suffix('.') {
        Some(object) => {
            let ns_start = object
                .char_indices()
                .rev()
                .take_while(|&(_, c)| is_word(c))
                .last()
                .map_or(object.len(), |(i, _)| i);
            let namespace = &object[ns_start..];
            let members: Vec<String> = builtins::members(namespace)
                .map(|b| builtins::short_name(b).to_string())
                .collect();
            if members.is_empty() {
                builtins::all_methods()
                    .map(|b| builtins::short_name(b).to_string())
                    .collect()
            } else {
                members
            }
        }
        None if prefix.is_empty() => Vec::new(),
        None => builtins::KEYWORDS
            .iter()
            .map(|k| k.to_string())
            .chain(globals.iter().filter(|n| !n.contains('.')).cloned())
            .collect(),
    };
    out.retain(|c| c.starts_with(prefix) && c != prefix);
    out.sort();
    out.dedup();
    (start, out)
}

impl Hinter for PrismHelper {
    type Hint = String;
}

impl Validator for PrismHelper {
    fn validate(&self, ctx: &mut ValidationContext<'_>) -> rustyline::Result<ValidationResult> {
        let input = ctx.input();
        Ok(if dot_command(input).is_some() || is_complete(input) {
            ValidationResult::Valid(None)
        } else {
            ValidationResult::Incomplete
        })
    }
}

/// The prompt loop on a terminal. Returns true if any input failed (the exit status stays 0
/// for an interactive session; the flag is for symmetry with piped input).
fn interactive_loop(session: &mut Session, keep_history: bool) -> bool {
    let mut editor: Editor<PrismHelper, DefaultHistory> = match Editor::new() {
        Ok(e) => e,
        Err(e) => {
            eprintln!("error: cannot start the line editor ({e}); reading lines instead");
            return piped_loop(session);
        }
    };
    let names = Rc::new(RefCell::new(session.interp.global_names()));
    editor.set_helper(Some(PrismHelper {
        names: names.clone(),
    }));
    let history = if keep_history { history_path() } else { None };
    if let Some(path) = &history {
        // A missing file is the first session; other failures only lose old entries.
        let _ = editor.load_history(path);
    }
    println!(
        "Prism {} — .help for help, .exit or Ctrl-D to leave",
        env!("CARGO_PKG_VERSION")
    );
    loop {
        match editor.readline("prism> ") {
            Ok(text) => {
                if text.trim().is_empty() {
                    continue;
                }
                let _ = editor.add_history_entry(text.as_str());
                if let Next::Exit = session.handle(&text).0 {
                    break;
                }
                *names.borrow_mut() = session.interp.global_names();
            }
            Err(ReadlineError::Interrupted) => continue,
            Err(ReadlineError::Eof) => break,
            Err(e) => {
                eprintln!("error: {e}");
                break;
            }
        }
    }
    if let Some(path) = &history {
        if let Some(dir) = path.parent() {
            let _ = std::fs::create_dir_all(dir);
        }
        if let Err(e) = editor.save_history(path) {
            eprintln!(
                "warning: cannot save the history to {}: {e}",
                path.display()
            );
        }
    }
    false
}

#[cfg(test)]
mod tests {
    use super::completions;

    fn names(list: &[&str]) -> Vec<String> {
        list.iter().map(|s| s.to_string()).collect()
    }

    #[test]
    fn completes_keywords_globals_and_members() {
        let globals = names(&["print", "println", "myScore", "Math"]);
        let (start, found) = completions("let x = pr", 10, &globals);
        assert_eq!(start, 8);
        assert_eq!(found, names(&["print", "println"]));
        let (_, found) = completions("un", 2, &globals);
        assert!(found.contains(&"uncertain".to_string()), "{found:?}");
        assert!(found.contains(&"undefined".to_string()), "{found:?}");
        let (start, found) = completions("Math.ma", 7, &globals);
        assert_eq!((start, found), (5, names(&["max"])));
        let (_, found) = completions("xs.fil", 6, &globals);
        assert_eq!(found, names(&["filter"]));
        let (_, found) = completions("my", 2, &globals);
        assert_eq!(found, names(&["myScore"]));
        // Nothing to complete: an empty word, a full match, a position past the end or
        // inside a multi-byte character.
        assert!(completions("let x = ", 8, &globals).1.is_empty());
        assert_eq!(completions("print", 5, &globals).1, names(&["println"]));
        assert!(completions("println", 7, &globals).1.is_empty());
        assert_eq!(
            completions("pr", 99, &globals).1,
            names(&["print", "println"])
        );
        assert!(completions("é", 1, &globals).1.is_empty());
    }
}
