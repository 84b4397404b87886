//! `Promise.resolve/reject/all`, `delay`, `sleep` and `debounce`.

use std::time::Duration;

use crate::error::RuntimeError;
use crate::format;
use crate::promise::{NativeFuture, PromiseCell, Settled};
use crate::scope::Env;
use crate::value::Value;

use super::{arg, error, namespace, set};

pub(crate) fn install(g: &Env) {
    let promise = namespace(vec![
        (
            "resolve",
            Value::native("Promise.resolve", |_, args, _| {
                Ok(PromiseCell::resolved(arg(args, 0)))
            }),
        ),
        (
            "reject",
            Value::native("Promise.reject", |_, args, _| {
                let reason = format::display(&arg(args, 0));
                Ok(PromiseCell::rejected(Value::from(reason)))
            }),
        ),
        (
            "all",
            // As in the reference, `Promise.all` waits and gives the array itself (awaiting a
            // plain array gives it back). Native operations were spawned when created, so
            // they run concurrently while we wait for the first.
            Value::native("Promise.all", |it, args, span| {
                let items = match arg(args, 0).unwrap_confident() {
                    Value::Array(a) => a.borrow().clone(),
                    _ => return Err(error("Promise.all() requires an array of promises")),
                };
                let mut out = Vec::with_capacity(items.len());
                for v in items {
                    out.push(it.await_value(v, span)?);
                }
                Ok(Value::array(out))
            }),
        ),
    ]);
    set(g, "Promise", promise);
    set(g, "debounce", Value::native("debounce", debounce));
    for name in ["delay", "sleep"] {
        set(
            g,
            name,
            Value::native(name, |it, args, _| {
                let Some(ms) = args.first().and_then(Value::as_number) else {
                    return Err(error("delay() requires a number of milliseconds"));
                };
                sleep_promise(it, ms)
            }),
        );
    }
}

/// A promise that settles after `ms` milliseconds.
fn sleep_promise(it: &mut crate::interp::Interpreter, ms: f64) -> Result<Value, RuntimeError> {
    let ms = if ms.is_finite() {
        ms.max(0.0).floor() as u64
    } else {
        0
    };
    let fut: NativeFuture = Box::pin(async move {
        tokio::time::sleep(Duration::from_millis(ms)).await;
        Ok(Settled::default())
    });
    it.spawn(fut)
}

/// `debounce(ms)(f)`: a function that calls `f` once `ms` milliseconds have passed since it was
/// called, and gives a promise of `f`'s result. (Calls run one after another in a program, so
/// each call waits its quiet period, then runs.)
fn debounce(
    _: &mut crate::interp::Interpreter,
    args: &[Value],
    _: prism_compiler::span::Span,
) -> Result<Value, RuntimeError> {
    if args.len() != 1 {
        return Err(error(
            "debounce() requires exactly one argument: delay in milliseconds",
        ));
    }
    let Some(ms) = args[0].as_number() else {
        return Err(error("debounce() delay must be a number"));
    };
    Ok(Value::native("debouncer", move |_, args, _| {
        if args.len() != 1 {
            return Err(error(
                "debounce creator requires exactly one argument: function",
            ));
        }
        let f = args[0].clone();
        if !f.unwrap_confident().is_callable() {
            return Err(error("debounce creator requires a function argument"));
        }
        Ok(Value::native("debouncedFunction", move |it, args, span| {
            let wait = sleep_promise(it, ms)?;
            it.await_value(wait, span)?;
            let result = it.call_function(&f, args, span)?;
            Ok(PromiseCell::resolved(result))
        }))
    }))
}

#[cfg(test)]
mod tests {
    use crate::test_support::run;

    #[test]
    fn promises_and_await() {
        assert_eq!(
            run("let p = Promise.resolve(7)\nprint(p)\nprint(await p)"),
            "[Promise]\n7\n"
        );
        assert_eq!(
            run("print(await Promise.all([Promise.resolve(1), 2, delay(1)]))"),
            "[1, 2, null]\n"
        );
        assert_eq!(
            run("try {\n  await Promise.reject(\"bad\")\n} catch (e) {\n  print(\"caught\", e)\n}"),
            "caught bad\n"
        );
    }

    #[test]
    fn debounced_functions_wait_then_call() {
        assert_eq!(
            run(
                "let d = debounce(5)\nlet inc = d(x => x + 1)\nprint(typeof d, typeof inc)\nprint(await inc(1))"
            ),
            "function function\n2\n"
        );
        assert!(run("debounce(\"x\")").contains("delay must be a number"));
    }

    #[test]
    fn delays_run_concurrently() {
        let start = std::time::Instant::now();
        assert_eq!(
            run(
                "let a = delay(150)\nlet b = delay(150)\nawait Promise.all([a, b])\nprint(\"done\")"
            ),
            "done\n"
        );
        assert!(start.elapsed() < std::time::Duration::from_millis(280));
    }
}
