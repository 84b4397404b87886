//! The editor's builtin table (`prism_compiler::builtins`: signatures and docs for hover,
//! completion, signature help and the arity check) and the interpreter's globals are one
//! vocabulary: every global the interpreter defines, and every member of its namespaces, has
//! a documented entry, and every documented function, namespace and value exists at run time
//! (pattern globals exist in pattern scripts, where the executor binds them).

use prism_compiler::builtins::{self, BuiltinKind};
use prism_interp::value::Value;
use prism_interp::{Interpreter, Options};

/// Globals that the executor binds in pattern scripts (`executor/src/natives.rs` and the
/// injected inputs), not the interpreter.
const PATTERN_GLOBALS: &[&str] = &[
    "input",
    "agentResults",
    "successfulResults",
    "agents",
    "agentCount",
    "pattern",
    "execution",
    "average",
    "synthesize",
    "majorityVote",
    "agentList",
    "workspace",
    "parallax",
];

#[test]
fn every_global_and_namespace_member_is_documented_and_exists() {
    let interp = Interpreter::new(Options::default());
    let mut undocumented = Vec::new();
    for name in interp.global_names() {
        if builtins::lookup(&name).is_none_or(|b| b.doc.trim().is_empty()) {
            undocumented.push(name.clone());
        }
        if let Some(Value::Object(o)) = interp.global(&name) {
            for key in o.borrow().keys() {
                let full = format!("{name}.{key}");
                if builtins::lookup(&full).is_none_or(|b| b.doc.trim().is_empty()) {
                    undocumented.push(full);
                }
            }
        }
    }
    let mut absent = Vec::new();
    for b in builtins::BUILTINS {
        if b.kind == BuiltinKind::Method || PATTERN_GLOBALS.contains(&b.name) {
            continue;
        }
        let exists = match b.name.split_once('.') {
            None => interp.global(b.name).is_some(),
            Some((ns, member)) => matches!(
                interp.global(ns),
                Some(Value::Object(o)) if o.borrow().get(member).is_some()
            ),
        };
        if !exists {
            absent.push(b.name);
        }
    }
    assert!(
        undocumented.is_empty(),
        "globals without a documented entry in prism_compiler::builtins: {undocumented:?}"
    );
    assert!(
        absent.is_empty(),
        "documented but not defined by the interpreter: {absent:?}"
    );
}
