//! Confidence helpers: `confidence(c)(f)`, `threshold(t)(xs)`, `consensus` and `aggregate`.

use prism_compiler::span::Span;

use crate::error::RuntimeError;
use crate::interp::Interpreter;
use crate::scope::Env;
use crate::value::Value;

use super::{arg, error, set};

fn options_of<'a>(args: &'a [Value], name: &str) -> Result<Option<&'a Value>, RuntimeError> {
    match args.get(1).map(Value::unwrap_confident) {
        None => Ok(None),
        Some(o @ Value::Object(_)) => Ok(Some(o)),
        Some(_) => Err(error(format!("{name}() options must be an object"))),
    }
}

fn option(options: Option<&Value>, key: &str) -> Option<Value> {
    match options {
        Some(Value::Object(o)) => o.borrow().get(key).map(|v| v.unwrap_confident().clone()),
        _ => None,
    }
}

fn values_of(args: &[Value], name: &str) -> Result<Vec<Value>, RuntimeError> {
    match arg(args, 0).unwrap_confident() {
        Value::Array(a) => Ok(a.borrow().clone()),
        _ => Err(error(format!("{name}() expects an array of values"))),
    }
}

/// Installs `confidence`, `threshold`, `consensus` and `aggregate`.
pub(crate) fn install(g: &Env) {
    set(g, "confidence", Value::native("confidence", confidence));
    set(g, "threshold", Value::native("threshold", threshold));
    set(g, "consensus", Value::native("consensus", consensus));
    set(g, "aggregate", Value::native("aggregate", aggregate));
}

/// `confidence(c)`: a decorator whose functions return their result with confidence `c`.
fn confidence(_: &mut Interpreter, args: &[Value], _: Span) -> Result<Value, RuntimeError> {
    if args.len() != 1 {
        return Err(error(
            "confidence() requires exactly one argument: threshold",
        ));
    }
    let Some(c) = args[0].as_number() else {
        return Err(error("confidence() threshold must be a number"));
    };
    if !(0.0..=1.0).contains(&c) {
        return Err(error("confidence() threshold must be between 0 and 1"));
    }
    Ok(Value::native("confidenceThreshold", move |_, args, _| {
        let f = arg(args, 0);
        if !f.unwrap_confident().is_callable() {
            return Err(error(
                "confidence-configured function requires a function argument",
            ));
        }
        Ok(Value::native("confidenceWrapper", move |it, args, span| {
            let result = it.call(&f, args.to_vec(), span)?;
            Ok(Value::confident(result, c))
        }))
    }))
}

/// `threshold(t)`: a filter that keeps the elements (or objects whose fields all are) with
/// confidence at least `t`.
fn threshold(_: &mut Interpreter, args: &[Value], _: Span) -> Result<Value, RuntimeError> {
    let Some(t) = args.first().and_then(Value::as_number) else {
        return Err(error("threshold() requires a number"));
    };
    Ok(Value::native("thresholdFilter", move |_, args, _| {
        let items = match arg(args, 0).unwrap_confident() {
            Value::Array(a) => a.borrow().clone(),
            _ => return Err(error("threshold filter requires an array")),
        };
        let kept = items
            .into_iter()
            .filter(|el| match el {
                Value::Confident(c) => c.confidence >= t,
                Value::Object(o) => o
                    .borrow()
                    .values()
                    .all(|v| v.confidence().is_none_or(|c| c >= t)),
                _ => true,
            })
            .collect();
        Ok(Value::array(kept))
    }))
}

/// `consensus(values, {strategy})`: the value of highest (`"max"`, default) or lowest (`"min"`)
/// confidence.
fn consensus(_: &mut Interpreter, args: &[Value], _: Span) -> Result<Value, RuntimeError> {
    let items = values_of(args, "consensus")?;
    let options = options_of(args, "consensus")?;
    let prefer_max = match option(options, "strategy") {
        None => true,
        Some(Value::Str(s)) if s.as_str() == "max" => true,
        Some(Value::Str(s)) if s.as_str() == "min" => false,
        Some(Value::Str(_)) => {
            return Err(error("consensus() strategy must be \"min\" or \"max\""));
        }
        Some(_) => return Err(error("consensus() strategy must be a string")),
    };
    let mut iter = items.into_iter();
    let Some(mut best) = iter.next() else {
        return Err(error("consensus() requires at least one value"));
    };
    for el in iter {
        let (c, b) = (el.confidence_or_one(), best.confidence_or_one());
        if (prefer_max && c > b) || (!prefer_max && c < b) {
            best = el;
        }
    }
    Ok(best)
}

/// `aggregate(values, {strategy, combine})`: the values (or what `combine` makes of them) with
/// their confidences combined by `min`, `max`, `product` or `average` (default).
fn aggregate(it: &mut Interpreter, args: &[Value], span: Span) -> Result<Value, RuntimeError> {
    let items = values_of(args, "aggregate")?;
    let options = options_of(args, "aggregate")?;
    let strategy = match option(options, "strategy") {
        None => "average".to_string(),
        Some(Value::Str(s)) if ["min", "max", "product", "average"].contains(&s.as_str()) => {
            s.to_string()
        }
        Some(Value::Str(_)) => {
            return Err(error(
                "aggregate() strategy must be \"min\", \"max\", \"product\", or \"average\"",
            ));
        }
        Some(_) => return Err(error("aggregate() strategy must be a string")),
    };
    let combine = match option(options, "combine") {
        None => None,
        Some(f) if f.is_callable() => Some(f),
        Some(_) => return Err(error("aggregate() combine must be a function")),
    };
    let cs: Vec<f64> = items.iter().map(Value::confidence_or_one).collect();
    let combined = if cs.is_empty() {
        1.0
    } else {
        match strategy.as_str() {
            "min" => cs.iter().copied().fold(f64::INFINITY, f64::min),
            "max" => cs.iter().copied().fold(f64::NEG_INFINITY, f64::max),
            "product" => cs.iter().product(),
            _ => cs.iter().sum::<f64>() / cs.len() as f64,
        }
    };
    let value = match combine {
        Some(f) => it.call(&f, vec![Value::array(items)], span)?,
        None => Value::array(items),
    };
    Ok(Value::confident(value, combined))
}

#[cfg(test)]
mod tests {
    use crate::test_support::run;

    #[test]
    fn helpers_follow_the_reference() {
        assert_eq!(
            run(
                "print(consensus([1 ~> 0.4, 2 ~> 0.9]), <~ aggregate([1 ~> 0.5, 2 ~> 0.8, 3], {strategy: \"product\"}))"
            ),
            "2 ~> 0.90 0.4\n"
        );
        assert_eq!(
            run("print(threshold(0.5)([1 ~> 0.9, 2 ~> 0.3, 3]))"),
            "[1 (~90.0%), 3]\n"
        );
        assert_eq!(run("print(confidence(0.5)(x => x * 2)(4))"), "8 ~> 0.50\n");
    }
}
