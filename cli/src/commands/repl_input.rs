//! What `prism repl` needs to know about its input before evaluating it: whether the text typed
//! so far is a complete input, which dot-command a line is, where the history lives, and which
//! names an input declares.

use std::path::PathBuf;

use prism_compiler::ast::{Program, StmtKind};
use prism_compiler::lexer::{LexError, Tok, lex};

/// A line that starts with `.` and a command word.
#[derive(Debug, PartialEq, Eq)]
pub enum DotCommand {
    Help,
    Exit,
    /// Forget every binding: a fresh interpreter.
    Clear,
    /// Run a file in the session: its top-level names stay defined.
    Load(String),
    /// A dot-word that is no command.
    Unknown(String),
}

/// The dot-command on `line`, if it is one. `.5 + 1` is a number, not a command.
pub fn dot_command(line: &str) -> Option<DotCommand> {
    let rest = line.trim().strip_prefix('.')?;
    if !rest.starts_with(|c: char| c.is_ascii_alphabetic()) {
        return None;
    }
    let (word, arg) = rest.split_once(char::is_whitespace).unwrap_or((rest, ""));
    Some(match word {
        "help" => DotCommand::Help,
        "exit" | "quit" => DotCommand::Exit,
        "clear" => DotCommand::Clear,
        "load" => DotCommand::Load(arg.trim().to_string()),
        other => DotCommand::Unknown(other.to_string()),
    })
}

/// The text `.help` prints.
pub const HELP: &str = "\
Type Prism code; each expression's value is printed with its confidence (null is not).
Input continues on the next line while brackets are open or the statement is unfinished.
Declarations stay defined for the rest of the session (`let` may declare a name again).

  .help        this text
  .load FILE   run a file in this session
  .clear       forget every binding
  .exit        leave (also Ctrl-D); Ctrl-C cancels the line being typed";

/// True when `text` can be evaluated: its brackets are balanced (or closed too often, which is
/// an error to report now) and the parser does not stop at the end of the text wanting more.
/// Unterminated template strings and block comments also continue on the next line.
pub fn is_complete(text: &str) -> bool {
    if text.trim().is_empty() {
        return true;
    }
    let (tokens, issues) = lex(text);
    if issues.iter().any(|i| {
        matches!(
            i.error,
            LexError::UnterminatedTemplate | LexError::UnterminatedComment
        )
    }) {
        return false;
    }
    let mut depth: i64 = 0;
    for (_, tok, _) in &tokens {
        match tok {
            Tok::LParen
            | Tok::LambdaParen
            | Tok::CondParen
            | Tok::LBrace
            | Tok::BlockBrace
            | Tok::LBracket => depth += 1,
            Tok::RParen | Tok::RBrace | Tok::RBracket => depth -= 1,
            _ => {}
        }
    }
    if depth > 0 {
        return false;
    }
    if depth < 0 {
        return true;
    }
    let end = text.trim_end().len();
    let parsed = prism_compiler::parse(text);
    !parsed
        .diagnostics
        .iter()
        .any(|d| d.is_error() && d.primary_span().start as usize >= end)
}

/// The names a program's top-level `let`/`const`/`function` statements declare.
pub fn declared_names(program: &Program) -> Vec<String> {
    let mut out = Vec::new();
    for stmt in &program.stmts {
        let kind = match &stmt.kind {
            StmtKind::ExportDecl(inner) => &inner.kind,
            k => k,
        };
        match kind {
            StmtKind::Decl { decls, .. } => {
                for d in decls {
                    let mut ids = Vec::new();
                    d.target.bound_names(&mut ids);
                    out.extend(ids.iter().map(|id| id.name.to_string()));
                }
            }
            StmtKind::Function(f) => {
                if let Some(n) = &f.name {
                    out.push(n.name.to_string());
                }
            }
            _ => {}
        }
    }
    out
}

/// Where the history is kept: `$PRISM_HISTORY` (empty: no history file), else
/// `$XDG_STATE_HOME/prism/repl_history`, else `~/.local/state/prism/repl_history`.
pub fn history_path() -> Option<PathBuf> {
    if let Some(p) = std::env::var_os("PRISM_HISTORY") {
        return (!p.is_empty()).then(|| PathBuf::from(p));
    }
    let state = std::env::var_os("XDG_STATE_HOME")
        .filter(|s| !s.is_empty())
        .map(PathBuf::from)
        .or_else(|| {
            std::env::var_os("HOME")
                .filter(|h| !h.is_empty())
                .map(|h| PathBuf::from(h).join(".local/state"))
        })?;
    Some(state.join("prism").join("repl_history"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn open_brackets_and_unfinished_statements_continue() {
        for text in [
            "function f(x) {",
            "let a = [1,\n2,",
            "print(1 +",
            "let x = 1 ~>",
            "uncertain if (x) {\n  high {",
            "let s = `two\nlines",
            "/* a comment",
        ] {
            assert!(!is_complete(text), "{text:?} is not complete");
        }
    }

    #[test]
    fn finished_or_broken_input_is_complete() {
        for text in [
            "",
            "   ",
            "let x = 1",
            "x + 1",
            "function f(x) {\n  return x\n}",
            "print(1))",
            "let = 3",
            "\"unterminated",
        ] {
            assert!(is_complete(text), "{text:?} is complete");
        }
    }

    #[test]
    fn dot_commands() {
        assert_eq!(dot_command(".help"), Some(DotCommand::Help));
        assert_eq!(dot_command("  .exit "), Some(DotCommand::Exit));
        assert_eq!(dot_command(".quit"), Some(DotCommand::Exit));
        assert_eq!(dot_command(".clear"), Some(DotCommand::Clear));
        assert_eq!(
            dot_command(".load a b.prism"),
            Some(DotCommand::Load("a b.prism".into()))
        );
        assert_eq!(
            dot_command(".frob"),
            Some(DotCommand::Unknown("frob".into()))
        );
        assert_eq!(dot_command(".5 + 1"), None);
        assert_eq!(dot_command("x.y"), None);
    }

    #[test]
    fn declared_names_cover_destructuring_and_functions() {
        let p = prism_compiler::parse(
            "let a = 1\nconst [b, ...c] = [1]\nlet {d, e: f, ...g} = {}\nfunction h() {}\nexport let i = 2\nx = 3\n",
        );
        assert_eq!(
            declared_names(&p.program),
            ["a", "b", "c", "d", "f", "g", "h", "i"]
        );
    }
}
