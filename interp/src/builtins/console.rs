//! `print` and `console.log/warn/error/debug`.

use crate::format;
use crate::scope::Env;
use crate::value::Value;

use super::{namespace, set};

pub(crate) fn install(g: &Env) {
    set(
        g,
        "print",
        Value::native("print", |it, args, _| {
            it.write_stdout(&format::print_line(args));
            Ok(Value::Null)
        }),
    );
    let console = namespace(vec![
        (
            "log",
            Value::native("log", |it, args, _| {
                it.write_stdout(&format::print_line(args));
                Ok(Value::Null)
            }),
        ),
        (
            "warn",
            Value::native("warn", |it, args, _| {
                it.write_stderr(&format::print_line(args));
                Ok(Value::Null)
            }),
        ),
        (
            "error",
            Value::native("error", |it, args, _| {
                it.write_stderr(&format::print_line(args));
                Ok(Value::Null)
            }),
        ),
        (
            "debug",
            Value::native("debug", |it, args, _| {
                let line = format!("[DEBUG] {}", format::print_line(args));
                it.write_stdout(&line);
                Ok(Value::Null)
            }),
        ),
    ]);
    set(g, "console", console);
}

#[cfg(test)]
mod tests {
    use crate::test_support::run;

    #[test]
    fn print_joins_arguments_and_confident_values_use_two_decimals() {
        assert_eq!(
            run(r#"print("value:", 100 ~> 0.85, "done")"#),
            "value: 100 ~> 0.85 done\n"
        );
        assert_eq!(run("print()"), "\n");
    }

    #[test]
    fn console_debug_prefixes_and_warn_goes_to_stderr() {
        assert_eq!(
            run(r#"console.debug("x", 1); console.warn("w"); console.log("l")"#),
            "[DEBUG] x 1\nl\n"
        );
    }
}
