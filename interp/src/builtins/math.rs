//! `Math.*`, the confidence-aware `max`/`min` globals and number methods (`toFixed`).

use std::cell::Cell;

use crate::error::RuntimeError;
use crate::format;
use crate::interp::js_pow;
use crate::scope::Env;
use crate::value::Value;

use super::{error, namespace, num_arg, set};

/// Methods numbers have.
pub(crate) const NUMBER_METHODS: &[&str] = &["toFixed", "toString", "toPrecision"];

fn unary(name: &'static str, f: fn(f64) -> f64) -> (&'static str, Value) {
    (
        name,
        Value::native(name, move |_, args, _| {
            Ok(Value::Number(f(num_arg(args, 0).unwrap_or(f64::NAN))))
        }),
    )
}

fn numbers(args: &[Value]) -> Vec<f64> {
    args.iter()
        .map(|a| crate::interp::to_number(a.unwrap_confident()))
        .collect()
}

/// Installs the `Math` namespace and the `max`/`min` globals.
pub(crate) fn install(g: &Env) {
    let mut math = constants();
    math.extend(one_number_functions());
    math.extend(several_number_functions());
    math.push(random());
    set(g, "Math", namespace(math));
    set(
        g,
        "max",
        Value::native("max", |_, args, _| extreme(args, "max", |a, b| a > b)),
    );
    set(
        g,
        "min",
        Value::native("min", |_, args, _| extreme(args, "min", |a, b| a < b)),
    );
}

/// `Math.PI`, `E`, `LN2`, `LN10`, `SQRT2`.
fn constants() -> Vec<(&'static str, Value)> {
    vec![
        ("PI", Value::Number(std::f64::consts::PI)),
        ("E", Value::Number(std::f64::consts::E)),
        ("LN2", Value::Number(std::f64::consts::LN_2)),
        ("LN10", Value::Number(std::f64::consts::LN_10)),
        ("SQRT2", Value::Number(std::f64::consts::SQRT_2)),
    ]
}

/// The functions of one number: rounding, roots, logarithms, trigonometry.
fn one_number_functions() -> Vec<(&'static str, Value)> {
    vec![
        unary("abs", f64::abs),
        unary("floor", f64::floor),
        unary("ceil", f64::ceil),
        unary(
            "round",
            |x| if x.is_finite() { (x + 0.5).floor() } else { x },
        ),
        unary("trunc", f64::trunc),
        unary("sign", |x| {
            if x.is_nan() || x == 0.0 {
                x
            } else {
                x.signum()
            }
        }),
        unary("sqrt", f64::sqrt),
        unary("cbrt", f64::cbrt),
        unary("exp", f64::exp),
        unary("log", f64::ln),
        unary("log2", f64::log2),
        unary("log10", f64::log10),
        unary("sin", f64::sin),
        unary("cos", f64::cos),
        unary("tan", f64::tan),
        unary("asin", f64::asin),
        unary("acos", f64::acos),
        unary("atan", f64::atan),
    ]
}

/// The functions of two or more numbers: `atan2`, `pow`, `max`, `min`, `hypot`.
fn several_number_functions() -> Vec<(&'static str, Value)> {
    vec![
        (
            "atan2",
            Value::native("atan2", |_, args, _| {
                let y = num_arg(args, 0).unwrap_or(f64::NAN);
                Ok(Value::Number(y.atan2(num_arg(args, 1).unwrap_or(f64::NAN))))
            }),
        ),
        (
            "pow",
            Value::native("pow", |_, args, _| {
                let a = num_arg(args, 0).unwrap_or(f64::NAN);
                Ok(Value::Number(js_pow(
                    a,
                    num_arg(args, 1).unwrap_or(f64::NAN),
                )))
            }),
        ),
        (
            "max",
            Value::native("max", |_, args, _| {
                let ns = numbers(args);
                Ok(Value::Number(if ns.iter().any(|n| n.is_nan()) {
                    f64::NAN
                } else {
                    ns.into_iter().fold(f64::NEG_INFINITY, f64::max)
                }))
            }),
        ),
        (
            "min",
            Value::native("min", |_, args, _| {
                let ns = numbers(args);
                Ok(Value::Number(if ns.iter().any(|n| n.is_nan()) {
                    f64::NAN
                } else {
                    ns.into_iter().fold(f64::INFINITY, f64::min)
                }))
            }),
        ),
        (
            "hypot",
            Value::native("hypot", |_, args, _| {
                Ok(Value::Number(
                    numbers(args).iter().map(|n| n * n).sum::<f64>().sqrt(),
                ))
            }),
        ),
    ]
}

/// `Math.random`: xorshift64*, seeded from the clock.
fn random() -> (&'static str, Value) {
    let seed = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0x9E37_79B9_7F4A_7C15, |d| d.as_nanos() as u64)
        | 1;
    let state = Cell::new(seed);
    (
        "random",
        Value::native("random", move |_, _, _| {
            // xorshift64*: good enough for a scripting language's Math.random.
            let mut x = state.get();
            x ^= x >> 12;
            x ^= x << 25;
            x ^= x >> 27;
            state.set(x);
            let r = x.wrapping_mul(0x2545_F491_4F6C_DD1D) >> 11;
            Ok(Value::Number(r as f64 / (1u64 << 53) as f64))
        }),
    )
}

/// The reference's `max`/`min`: numbers only, keeping the winner's confidence.
fn extreme(
    args: &[Value],
    name: &str,
    better: fn(f64, f64) -> bool,
) -> Result<Value, RuntimeError> {
    if args.is_empty() {
        return Err(error(format!("{name}() requires at least one argument")));
    }
    let mut best: Option<(f64, Option<f64>)> = None;
    for a in args {
        let Value::Number(n) = a.unwrap_confident() else {
            return Err(error(format!(
                "{name}() requires numeric arguments, got {}",
                a.unwrap_confident().type_name()
            )));
        };
        if best.is_none_or(|(b, _)| better(*n, b)) {
            best = Some((*n, a.confidence()));
        }
    }
    Ok(match best {
        Some((n, Some(c))) => Value::confident(Value::Number(n), c),
        Some((n, None)) => Value::Number(n),
        None => Value::Null,
    })
}

/// Calls number method `name` on `n`.
pub(crate) fn number_method(
    n: f64,
    name: &str,
    args: &[Value],
) -> Option<Result<Value, RuntimeError>> {
    Some(match name {
        "toFixed" => {
            let d = num_arg(args, 0).unwrap_or(0.0);
            if !(0.0..=100.0).contains(&d) {
                Err(error("toFixed() digits argument must be between 0 and 100"))
            } else {
                Ok(Value::from(format::to_fixed(n, d as usize)))
            }
        }
        "toPrecision" => match num_arg(args, 0) {
            None => Ok(Value::from(format::number(n))),
            Some(p) if (1.0..=100.0).contains(&p) => Ok(Value::from(to_precision(n, p as usize))),
            Some(_) => Err(error("toPrecision() argument must be between 1 and 100")),
        },
        "toString" => match num_arg(args, 0) {
            None | Some(10.0) => Ok(Value::from(format::number(n))),
            Some(r) if (2.0..=36.0).contains(&r) && n.fract() == 0.0 && n.abs() < 9.007e15 => {
                Ok(Value::from(radix_string(n as i64, r as u32)))
            }
            Some(_) => Ok(Value::from(format::number(n))),
        },
        _ => return None,
    })
}

fn to_precision(n: f64, p: usize) -> String {
    if n == 0.0 || !n.is_finite() {
        return if n == 0.0 {
            format::to_fixed(0.0, p - 1)
        } else {
            format::number(n)
        };
    }
    let e = n.abs().log10().floor() as i32;
    if e < -6 || e >= p as i32 {
        let s = format!("{:.*e}", p - 1, n);
        match s.split_once('e') {
            Some((m, exp)) => {
                let exp: i32 = exp.parse().unwrap_or(0);
                format!("{m}e{}{}", if exp < 0 { "-" } else { "+" }, exp.abs())
            }
            None => s,
        }
    } else {
        format::to_fixed(n, (p as i32 - 1 - e).max(0) as usize)
    }
}

fn radix_string(mut n: i64, radix: u32) -> String {
    if n == 0 {
        return "0".into();
    }
    let negative = n < 0;
    let mut digits = Vec::new();
    while n != 0 {
        let d = (n % radix as i64).unsigned_abs() as u32;
        digits.push(std::char::from_digit(d, radix).unwrap_or('?'));
        n /= radix as i64;
    }
    if negative {
        digits.push('-');
    }
    digits.iter().rev().collect()
}

#[cfg(test)]
mod tests {
    use crate::test_support::run;

    #[test]
    fn math_functions() {
        assert_eq!(
            run(
                "print(Math.floor(2.7), Math.round(2.5), Math.max(1, 3), Math.abs(-2), Math.pow(2, 10))"
            ),
            "2 3 3 2 1024\n"
        );
        assert_eq!(
            run("print((3.14159).toFixed(2), (255).toString(16))"),
            "3.14 ff\n"
        );
    }

    #[test]
    fn confident_max_and_min() {
        assert_eq!(
            run("print(max(1 ~> 0.4, 2 ~> 0.8), min(1 ~> 0.4, 2))"),
            "2 ~> 0.80 1 ~> 0.40\n"
        );
        assert!(
            run(r#"print(max(1, "2"))"#).contains("max() requires numeric arguments, got string")
        );
    }
}
