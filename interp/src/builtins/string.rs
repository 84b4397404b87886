//! String methods. Lengths and indexes count UTF-16 code units, as in JavaScript.

use std::rc::Rc;

use prism_compiler::span::Span;

use crate::error::RuntimeError;
use crate::format;
use crate::interp::Interpreter;
use crate::value::Value;

use super::array::relative_index;
use super::{arg, error, num_arg};

/// Methods strings have.
pub(crate) const METHODS: &[&str] = &[
    "includes",
    "indexOf",
    "lastIndexOf",
    "slice",
    "substring",
    "substr",
    "split",
    "toUpperCase",
    "toLowerCase",
    "trim",
    "trimStart",
    "trimEnd",
    "startsWith",
    "endsWith",
    "replace",
    "replaceAll",
    "repeat",
    "charAt",
    "charCodeAt",
    "padStart",
    "padEnd",
    "at",
    "concat",
    "toString",
    "localeCompare",
];

/// The length in UTF-16 code units.
pub(crate) fn utf16_len(s: &str) -> usize {
    if s.is_ascii() {
        s.len()
    } else {
        s.encode_utf16().count()
    }
}

/// The UTF-16 code units `start..end` as a string.
fn slice16(s: &str, start: usize, end: usize) -> String {
    if start >= end {
        return String::new();
    }
    if s.is_ascii() {
        return s.get(start..end).unwrap_or_default().to_string();
    }
    let units: Vec<u16> = s.encode_utf16().collect();
    String::from_utf16_lossy(units.get(start..end.min(units.len())).unwrap_or_default())
}

/// The UTF-16 index of a byte offset.
fn byte_to_utf16(s: &str, byte: usize) -> usize {
    if s.is_ascii() {
        byte
    } else {
        s.get(..byte).map_or(0, utf16_len)
    }
}

/// The byte offset of a UTF-16 index (clamped to the string).
fn utf16_to_byte(s: &str, index: usize) -> usize {
    if s.is_ascii() {
        return index.min(s.len());
    }
    let mut units = 0;
    for (b, c) in s.char_indices() {
        if units >= index {
            return b;
        }
        units += c.len_utf16();
    }
    s.len()
}

/// `s[i]`: the character at UTF-16 index `i`, or `null`.
pub(crate) fn char_at(s: &str, i: f64) -> Value {
    if i < 0.0 || i.is_nan() {
        return Value::Null;
    }
    let i = i as usize;
    if i >= utf16_len(s) {
        return Value::Null;
    }
    Value::from(slice16(s, i, i + 1))
}

fn str_arg(args: &[Value], i: usize) -> String {
    match args.get(i) {
        Some(v) => format::display(v.unwrap_confident()),
        None => "undefined".to_string(),
    }
}

/// Calls string method `name` on `s`; `None` if strings have no such method.
pub(crate) fn method(
    it: &mut Interpreter,
    s: &Rc<String>,
    name: &str,
    args: &[Value],
    span: Span,
) -> Option<Result<Value, RuntimeError>> {
    if !METHODS.contains(&name) {
        return None;
    }
    let len = utf16_len(s);
    Some(match name {
        "includes" | "startsWith" | "endsWith" | "indexOf" | "lastIndexOf" | "localeCompare" => {
            Ok(search(s, name, args, len))
        }
        "slice" | "substring" | "substr" | "split" | "charAt" | "charCodeAt" | "at" => {
            Ok(cut(s, name, args, len))
        }
        "replace" | "replaceAll" => replace(it, s, name == "replaceAll", args, span),
        _ => reshape(s, name, args, len),
    })
}

/// The methods that look for text: `includes`, `startsWith`, `endsWith`, `indexOf`,
/// `lastIndexOf`, `localeCompare`.
fn search(s: &str, name: &str, args: &[Value], len: usize) -> Value {
    match name {
        "includes" => Value::Bool(s.contains(str_arg(args, 0).as_str())),
        "startsWith" => Value::Bool(s.starts_with(str_arg(args, 0).as_str())),
        "endsWith" => Value::Bool(s.ends_with(str_arg(args, 0).as_str())),
        "indexOf" => {
            let from = utf16_to_byte(s, relative_index(num_arg(args, 1), len, 0));
            let needle = str_arg(args, 0);
            let pos = s
                .get(from..)
                .and_then(|t| t.find(needle.as_str()))
                .map(|p| p + from);
            Value::Number(pos.map_or(-1.0, |p| byte_to_utf16(s, p) as f64))
        }
        "lastIndexOf" => {
            let pos = s.rfind(str_arg(args, 0).as_str());
            Value::Number(pos.map_or(-1.0, |p| byte_to_utf16(s, p) as f64))
        }
        _ => {
            let other = str_arg(args, 0);
            Value::Number(match s.cmp(other.as_str()) {
                std::cmp::Ordering::Less => -1.0,
                std::cmp::Ordering::Equal => 0.0,
                std::cmp::Ordering::Greater => 1.0,
            })
        }
    }
}

/// The methods that take part of the string: `slice`, `substring`, `substr`, `split`, `charAt`,
/// `charCodeAt`, `at`.
fn cut(s: &Rc<String>, name: &str, args: &[Value], len: usize) -> Value {
    match name {
        "slice" => {
            let start = relative_index(num_arg(args, 0), len, 0);
            let end = relative_index(num_arg(args, 1), len, len);
            Value::from(slice16(s, start, end))
        }
        "substring" => {
            let clamp = |v: Option<f64>, d: usize| {
                v.map_or(d, |n| {
                    if n.is_nan() {
                        0
                    } else {
                        n.clamp(0.0, len as f64) as usize
                    }
                })
            };
            let (a, b) = (clamp(num_arg(args, 0), 0), clamp(num_arg(args, 1), len));
            Value::from(slice16(s, a.min(b), a.max(b)))
        }
        "substr" => {
            let start = relative_index(num_arg(args, 0), len, 0);
            let count = num_arg(args, 1).map_or(len, |n| n.max(0.0) as usize);
            Value::from(slice16(s, start, start.saturating_add(count).min(len)))
        }
        "split" => {
            let parts: Vec<Value> = match args.first() {
                None | Some(Value::Null) => vec![Value::Str(s.clone())],
                Some(sep) => {
                    let sep = format::display(sep.unwrap_confident());
                    if sep.is_empty() {
                        s.chars().map(|c| Value::from(c.to_string())).collect()
                    } else {
                        s.split(sep.as_str()).map(Value::from).collect()
                    }
                }
            };
            let limit = num_arg(args, 1).map_or(usize::MAX, |n| n.max(0.0) as usize);
            Value::array(parts.into_iter().take(limit).collect())
        }
        "charAt" => match char_at(s, num_arg(args, 0).unwrap_or(0.0)) {
            Value::Null => Value::str(""),
            v => v,
        },
        "charCodeAt" => {
            let i = num_arg(args, 0).unwrap_or(0.0);
            let unit = (i >= 0.0)
                .then(|| s.encode_utf16().nth(i as usize))
                .flatten();
            Value::Number(unit.map_or(f64::NAN, f64::from))
        }
        _ => {
            let i = num_arg(args, 0).unwrap_or(0.0).trunc();
            char_at(s, if i < 0.0 { len as f64 + i } else { i })
        }
    }
}

/// `replace` (the first occurrence) and `replaceAll`: the replacement is the second argument,
/// or what it returns when it is a function (called with the matched text).
fn replace(
    it: &mut Interpreter,
    s: &str,
    all: bool,
    args: &[Value],
    span: Span,
) -> Result<Value, RuntimeError> {
    let pattern = str_arg(args, 0);
    let with = arg(args, 1);
    let mut out = String::with_capacity(s.len());
    let mut rest = s;
    let mut done = false;
    while let Some(p) = (!done).then(|| rest.find(pattern.as_str())).flatten() {
        out.push_str(&rest[..p]);
        let replacement = if with.unwrap_confident().is_callable() {
            format::display(&it.call(&with, vec![Value::from(pattern.as_str())], span)?)
        } else {
            format::display(with.unwrap_confident())
        };
        out.push_str(&replacement);
        let step = p + pattern.len();
        if pattern.is_empty() {
            match rest[p..].chars().next() {
                Some(c) => {
                    out.push(c);
                    rest = &rest[p + c.len_utf8()..];
                }
                None => {
                    rest = "";
                    done = true;
                }
            }
        } else {
            rest = &rest[step..];
        }
        if !all {
            done = true;
        }
    }
    out.push_str(rest);
    Ok(Value::from(out))
}

/// The methods that make a changed copy: case, `trim*`, `repeat`, `padStart`, `padEnd`,
/// `concat`, and `toString` (the string itself).
fn reshape(s: &Rc<String>, name: &str, args: &[Value], len: usize) -> Result<Value, RuntimeError> {
    Ok(match name {
        "toUpperCase" => Value::from(s.to_uppercase()),
        "toLowerCase" => Value::from(s.to_lowercase()),
        "trim" => Value::from(s.trim()),
        "trimStart" => Value::from(s.trim_start()),
        "trimEnd" => Value::from(s.trim_end()),
        "repeat" => {
            let n = num_arg(args, 0).unwrap_or(0.0);
            if n < 0.0
                || !n.is_finite()
                || (n as usize).saturating_mul(s.len()) > crate::value::MAX_STRING_BYTES
            {
                return Err(error("Invalid count value"));
            }
            Value::from(s.repeat(n as usize))
        }
        "padStart" | "padEnd" => {
            let target = num_arg(args, 0).unwrap_or(0.0).max(0.0) as usize;
            let fill = match args.get(1) {
                Some(v) => format::display(v.unwrap_confident()),
                None => " ".to_string(),
            };
            if target <= len || fill.is_empty() || target > 1 << 30 {
                return Ok(Value::Str(s.clone()));
            }
            let pad: String = fill.chars().cycle().take(target - len).collect();
            Value::from(if name == "padStart" {
                pad + s
            } else {
                format!("{s}{pad}")
            })
        }
        "concat" => {
            let mut out = s.to_string();
            for a in args {
                format::display_into(&mut out, a);
            }
            Value::from(out)
        }
        _ => Value::Str(s.clone()),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::test_support::run;

    #[test]
    fn utf16_indexing() {
        assert_eq!(utf16_len("héllo"), 5);
        assert_eq!(utf16_len("😀"), 2);
        assert_eq!(slice16("héllo", 1, 3), "él");
        assert!(matches!(char_at("abc", 5.0), Value::Null));
    }

    #[test]
    fn string_methods() {
        assert_eq!(
            run(
                r#"print("Hello".toUpperCase(), " x ".trim(), "a,b".split(","), "abc".slice(1), "abc".indexOf("c"))"#
            ),
            "HELLO x [a, b] bc 2\n"
        );
        assert_eq!(
            run(r#"print("aXbX".replace("X", "-"), "aXbX".replaceAll("X", "-"), "ab".length)"#),
            "a-bX a-b- 2\n"
        );
        assert_eq!(
            run(
                r#"print("abc".includes("b"), "abc".startsWith("a"), "abc".endsWith("bc"), "abc"[1])"#
            ),
            "true true true b\n"
        );
    }
}
