//! How values print: JavaScript number formatting, `toFixed`, and the reference's rules for
//! arrays, objects and confident values.
//!
//! Two renderings exist. [`display`] is the reference's `toString` (used inside arrays and
//! objects, by `${}` interpolation, string concatenation and `join`): a confident value renders
//! as `95 (~80.0%)`. [`print_arg`] is what `print`/`console.*` write for each argument: a
//! confident value renders as `95 ~> 0.80`.

use std::fmt::Write as _;
use std::rc::Rc;

use crate::value::Value;

/// Formats a number exactly as JavaScript's `Number.prototype.toString()` does.
pub fn number(n: f64) -> String {
    if n == 0.0 {
        return "0".to_string();
    }
    let mut buf = ryu_js::Buffer::new();
    buf.format(n).to_string()
}

/// JavaScript's `Number.prototype.toFixed(digits)`, rounding half away from zero on the exact
/// binary value (so `0.845` gives `0.84` and `0.125` gives `0.13`).
pub fn to_fixed(x: f64, digits: usize) -> String {
    if !x.is_finite() || x.abs() >= 1e21 {
        return number(x);
    }
    let negative = x < 0.0;
    let mag = x.abs();
    let shown = format!("{:.*}", digits + 30, mag);
    let (int_part, frac) = shown.split_once('.').unwrap_or((shown.as_str(), ""));
    let (kept, tail) = frac.split_at(digits.min(frac.len()));
    let round_up = match tail.as_bytes().first() {
        Some(b'5') if tail[1..].bytes().all(|b| b == b'0') => {
            // Possibly an exact tie, or an artefact of rounding at the last shown digit:
            // decide on the full expansion (a double has at most 1074 fractional digits).
            let exact = format!("{:.1100}", mag);
            let exact_frac = exact.split_once('.').map_or("", |(_, f)| f);
            exact_frac
                .as_bytes()
                .get(digits)
                .is_some_and(|&d| d >= b'5')
        }
        Some(&d) => d >= b'5',
        None => false,
    };
    let mut digits_str: Vec<u8> = int_part.bytes().chain(kept.bytes()).collect();
    if round_up {
        let mut i = digits_str.len();
        loop {
            if i == 0 {
                digits_str.insert(0, b'1');
                break;
            }
            i -= 1;
            if digits_str[i] == b'9' {
                digits_str[i] = b'0';
            } else {
                digits_str[i] += 1;
                break;
            }
        }
    }
    let split = digits_str.len() - digits;
    let mut out = String::with_capacity(digits_str.len() + 2);
    if negative {
        out.push('-');
    }
    out.push_str(&String::from_utf8_lossy(&digits_str[..split]));
    if digits > 0 {
        out.push('.');
        out.push_str(&String::from_utf8_lossy(&digits_str[split..]));
    }
    out
}

/// The reference's `toString` of a value.
pub fn display(v: &Value) -> String {
    let mut out = String::new();
    write_display(&mut out, v, &mut Vec::new());
    out
}

/// Appends the reference's `toString` of a value to `out`.
pub fn display_into(out: &mut String, v: &Value) {
    write_display(out, v, &mut Vec::new());
}

/// What `print` and `console.*` write for one argument.
pub fn print_arg(v: &Value) -> String {
    match v {
        Value::Confident(c) => {
            let mut out = display(&c.value);
            out.push_str(" ~> ");
            out.push_str(&to_fixed(c.confidence, 2));
            out
        }
        v => display(v),
    }
}

/// The arguments of `print(a, b, …)` joined with spaces.
pub fn print_line(args: &[Value]) -> String {
    let mut line = String::new();
    for (i, a) in args.iter().enumerate() {
        if i > 0 {
            line.push(' ');
        }
        line.push_str(&print_arg(a));
    }
    line
}

/// The confidence as the reference renders it nested: `80.0%`.
pub fn percent(confidence: f64) -> String {
    let mut s = to_fixed(confidence * 100.0, 1);
    s.push('%');
    s
}

/// Containers nested deeper than this print as `[...]` (keeps the native stack bounded).
const MAX_DEPTH: usize = 10_000;

fn write_display(out: &mut String, v: &Value, seen: &mut Vec<usize>) {
    if seen.len() > MAX_DEPTH {
        out.push_str("[...]");
        return;
    }
    match v {
        Value::Null => out.push_str("null"),
        Value::Bool(b) => out.push_str(if *b { "true" } else { "false" }),
        Value::Number(n) => out.push_str(&number(*n)),
        Value::Str(s) => out.push_str(s),
        Value::Array(items) => {
            let id = Rc::as_ptr(items) as *const () as usize;
            if seen.contains(&id) {
                out.push_str("[Circular]");
                return;
            }
            seen.push(id);
            out.push('[');
            for (i, item) in items.borrow().iter().enumerate() {
                if i > 0 {
                    out.push_str(", ");
                }
                write_display(out, item, seen);
            }
            out.push(']');
            seen.pop();
        }
        Value::Object(map) => {
            let id = Rc::as_ptr(map) as *const () as usize;
            if seen.contains(&id) {
                out.push_str("[Circular]");
                return;
            }
            let map = map.borrow();
            if map.is_empty() {
                out.push_str("{}");
                return;
            }
            seen.push(id);
            out.push_str("{ ");
            for (i, (k, val)) in map.iter().enumerate() {
                if i > 0 {
                    out.push_str(", ");
                }
                out.push_str(k);
                out.push_str(": ");
                write_display(out, val, seen);
            }
            out.push_str(" }");
            seen.pop();
        }
        Value::Function(f) => {
            let _ = write!(out, "[Function: {}]", f.name());
        }
        Value::Native(f) => {
            let _ = write!(out, "[Function: {}]", f.name);
        }
        Value::Confident(c) => {
            write_display(out, &c.value, seen);
            out.push_str(" (~");
            out.push_str(&percent(c.confidence));
            out.push(')');
        }
        Value::Promise(_) => out.push_str("[Promise]"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::value::Map;

    #[test]
    fn numbers_print_like_javascript() {
        assert_eq!(number(1.0), "1");
        assert_eq!(number(-0.0), "0");
        assert_eq!(number(0.1 + 0.2), "0.30000000000000004");
        assert_eq!(number(1e21), "1e+21");
        assert_eq!(number(1e-7), "1e-7");
        assert_eq!(number(123456789012345680000.0), "123456789012345680000");
        assert_eq!(number(f64::INFINITY), "Infinity");
        assert_eq!(number(f64::NEG_INFINITY), "-Infinity");
        assert_eq!(number(f64::NAN), "NaN");
        assert_eq!(number(2.5), "2.5");
        assert_eq!(number(-17.0), "-17");
    }

    #[test]
    fn to_fixed_rounds_on_the_binary_value() {
        assert_eq!(to_fixed(0.125, 2), "0.13");
        assert_eq!(to_fixed(0.845, 2), "0.84");
        assert_eq!(to_fixed(0.615, 2), "0.61");
        assert_eq!(to_fixed(0.999, 2), "1.00");
        assert_eq!(to_fixed(1.0, 2), "1.00");
        assert_eq!(to_fixed(0.0, 2), "0.00");
        assert_eq!(to_fixed(0.333333, 2), "0.33");
        assert_eq!(to_fixed(80.0, 1), "80.0");
        assert_eq!(to_fixed(12.5, 1), "12.5");
        assert_eq!(to_fixed(2.5, 0), "3");
        assert_eq!(to_fixed(-1.005, 2), "-1.00");
        assert_eq!(to_fixed(99.95, 1), "100.0");
    }

    #[test]
    fn containers_and_confidence_render_like_the_reference() {
        let arr = Value::array(vec![
            Value::confident(1.0.into(), 0.9),
            "a".into(),
            Value::Null,
            true.into(),
        ]);
        assert_eq!(display(&arr), "[1 (~90.0%), a, null, true]");
        let mut m = Map::default();
        m.insert("score".into(), Value::confident(95.0.into(), 0.8));
        m.insert("name".into(), "x".into());
        assert_eq!(
            display(&Value::object(m)),
            "{ score: 95 (~80.0%), name: x }"
        );
        assert_eq!(display(&Value::object(Map::default())), "{}");
        assert_eq!(print_arg(&Value::confident(42.0.into(), 0.8)), "42 ~> 0.80");
        let nested = Value::confident(Value::confident(10.0.into(), 0.9), 0.5);
        assert_eq!(print_arg(&nested), "10 (~90.0%) ~> 0.50");
    }

    #[test]
    fn cycles_do_not_recurse_forever() {
        let arr = Value::array(vec![1.0.into()]);
        if let Value::Array(a) = &arr {
            a.borrow_mut().push(arr.clone());
        }
        assert_eq!(display(&arr), "[1, [Circular]]");
    }
}
