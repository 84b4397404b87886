//! Conversions and type checks: `Number`, `String`, `Boolean`, `parseInt`, `parseFloat`,
//! `isNaN`, `isFinite`, `Array.isArray`.

use crate::format;
use crate::interp::to_number;
use crate::scope::Env;
use crate::value::{Value, parse_float_prefix};

use super::{arg, namespace, num_arg, set};

fn parse_int(s: &str, radix: Option<f64>) -> f64 {
    let t = s.trim_start();
    let (negative, t) = match t.as_bytes().first() {
        Some(b'-') => (true, &t[1..]),
        Some(b'+') => (false, &t[1..]),
        _ => (false, t),
    };
    let mut radix = radix.map_or(0, |r| r as u32);
    let mut t = t;
    if (radix == 0 || radix == 16) && (t.starts_with("0x") || t.starts_with("0X")) {
        t = &t[2..];
        radix = 16;
    }
    if radix == 0 {
        radix = 10;
    }
    if !(2..=36).contains(&radix) {
        return f64::NAN;
    }
    let digits: String = t.chars().take_while(|c| c.is_digit(radix)).collect();
    if digits.is_empty() {
        return f64::NAN;
    }
    let n = digits
        .chars()
        .filter_map(|c| c.to_digit(radix))
        .fold(0.0, |acc, d| acc * radix as f64 + d as f64);
    if negative { -n } else { n }
}

pub(crate) fn install(g: &Env) {
    set(
        g,
        "Number",
        Value::native("Number", |_, args, _| {
            Ok(Value::Number(
                args.first()
                    .map_or(0.0, |v| to_number(v.unwrap_confident())),
            ))
        }),
    );
    set(
        g,
        "String",
        Value::native("String", |_, args, _| {
            Ok(Value::from(
                args.first().map_or(String::new(), format::display),
            ))
        }),
    );
    set(
        g,
        "Boolean",
        Value::native("Boolean", |_, args, _| {
            Ok(Value::Bool(arg(args, 0).is_truthy()))
        }),
    );
    set(
        g,
        "parseInt",
        Value::native("parseInt", |_, args, _| {
            let s = format::display(arg(args, 0).unwrap_confident());
            Ok(Value::Number(parse_int(&s, num_arg(args, 1))))
        }),
    );
    set(
        g,
        "parseFloat",
        Value::native("parseFloat", |_, args, _| {
            let s = format::display(arg(args, 0).unwrap_confident());
            Ok(Value::Number(parse_float_prefix(&s).unwrap_or(f64::NAN)))
        }),
    );
    set(
        g,
        "isNaN",
        Value::native("isNaN", |_, args, _| {
            Ok(Value::Bool(
                to_number(arg(args, 0).unwrap_confident()).is_nan(),
            ))
        }),
    );
    set(
        g,
        "isFinite",
        Value::native("isFinite", |_, args, _| {
            Ok(Value::Bool(
                to_number(arg(args, 0).unwrap_confident()).is_finite(),
            ))
        }),
    );
    set(g, "NaN", Value::Number(f64::NAN));
    set(g, "Infinity", Value::Number(f64::INFINITY));
    let array = namespace(vec![
        (
            "isArray",
            Value::native("isArray", |_, args, _| {
                Ok(Value::Bool(matches!(
                    arg(args, 0).unwrap_confident(),
                    Value::Array(_)
                )))
            }),
        ),
        (
            "from",
            Value::native("from", |_, args, _| {
                Ok(Value::array(match arg(args, 0).unwrap_confident() {
                    Value::Array(a) => a.borrow().clone(),
                    Value::Str(s) => s.chars().map(|c| Value::from(c.to_string())).collect(),
                    _ => Vec::new(),
                }))
            }),
        ),
    ]);
    set(g, "Array", array);
}

#[cfg(test)]
mod tests {
    use super::parse_int;
    use crate::test_support::run;

    #[test]
    fn conversions() {
        assert_eq!(parse_int("42px", None), 42.0);
        assert_eq!(parse_int("ff", Some(16.0)), 255.0);
        assert!(parse_int("x", None).is_nan());
        assert_eq!(
            run(r#"print(Number("12"), String(5), Boolean(0), parseFloat("1.5x"), isNaN("a"))"#),
            "12 5 false 1.5 true\n"
        );
    }
}
