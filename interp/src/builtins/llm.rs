//! `llm(prompt, options)` and `stream_llm(prompt, options)` in plain programs. The reference
//! answers them from a provider the host registers; a program run on its own has none, so they
//! stop with the reference's "No LLM provider configured". Pattern scripts replace `llm` with
//! one that asks the run's LLM agent (`executor/natives.rs`).

use crate::scope::Env;
use crate::value::Value;

use super::{error, set};

pub(crate) fn install(g: &Env) {
    for name in ["llm", "stream_llm"] {
        set(
            g,
            name,
            Value::native(name, move |_, args, _| {
                if args.is_empty() {
                    return Err(error(format!("{name}() requires at least one argument")));
                }
                Err(error(
                    "No LLM provider configured: llm() answers in pattern scripts run with an \
                     LLM agent (`llm: {endpoint, model}` in the agents file)",
                ))
            }),
        );
    }
}

#[cfg(test)]
mod tests {
    use crate::test_support::run;

    #[test]
    fn without_a_provider_llm_says_so() {
        assert!(run("llm(\"hi\")").contains("ERROR: No LLM provider configured"));
        assert!(run("llm()").contains("requires at least one argument"));
    }
}
