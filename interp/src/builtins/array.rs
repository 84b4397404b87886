//! Arrays: the global `map`/`filter`/`reduce`/`groupBy`/`sortBy` helpers and array methods.

use std::cell::RefCell;
use std::cmp::Ordering;
use std::rc::Rc;

use prism_compiler::span::Span;

use crate::error::RuntimeError;
use crate::format;
use crate::interp::Interpreter;
use crate::scope::Env;
use crate::value::{ArrayRef, Map, Value};

use super::{arg, error, num_arg, set};

/// Methods arrays have.
pub(crate) const METHODS: &[&str] = &[
    "push",
    "pop",
    "shift",
    "unshift",
    "map",
    "filter",
    "reduce",
    "forEach",
    "join",
    "sort",
    "some",
    "every",
    "find",
    "findIndex",
    "flat",
    "flatMap",
    "concat",
    "reverse",
    "includes",
    "indexOf",
    "lastIndexOf",
    "slice",
    "splice",
    "fill",
    "at",
    "toString",
];

pub(crate) fn install(g: &Env) {
    set(
        g,
        "map",
        Value::native("map", |it, args, span| {
            arity(
                args,
                2,
                2,
                "map() requires exactly 2 arguments: array and function",
            )?;
            let (a, c) = array_arg(args, "map")?;
            let f = callable(args, 1, "Second argument to map() must be a function")?;
            let out = map_items(it, &a, &f, span)?;
            Ok(keep_confidence(Value::array(out), c))
        }),
    );
    set(
        g,
        "filter",
        Value::native("filter", |it, args, span| {
            arity(
                args,
                2,
                2,
                "filter() requires exactly 2 arguments: array and predicate",
            )?;
            let (a, c) = array_arg(args, "filter")?;
            let f = callable(args, 1, "Second argument to filter() must be a function")?;
            let out = filter_items(it, &a, &f, span)?;
            Ok(keep_confidence(Value::array(out), c))
        }),
    );
    set(
        g,
        "reduce",
        Value::native("reduce", |it, args, span| {
            arity(
                args,
                2,
                3,
                "reduce() requires 2 or 3 arguments: array, reducer, and optional initial value",
            )?;
            let (a, c) = array_arg(args, "reduce")?;
            let f = callable(args, 1, "Second argument to reduce() must be a function")?;
            let acc = reduce_items(it, &a, &f, args.get(2).cloned(), span)?;
            Ok(match (c, &acc) {
                (Some(c), v) if v.confidence().is_none() => Value::confident(acc, c),
                _ => acc,
            })
        }),
    );
    set(
        g,
        "groupBy",
        Value::native("groupBy", |_, args, _| {
            let key = arg(args, 0);
            Ok(Value::native("grouper", move |it, args, span| {
                group_by(it, &key, args, span)
            }))
        }),
    );
    set(
        g,
        "sortBy",
        Value::native("sortBy", |_, args, _| {
            let Some(key) = args.first().and_then(|k| k.as_str().map(str::to_owned)) else {
                return Err(error("sortBy() key must be a string"));
            };
            let descending = args.get(1).and_then(Value::as_str) == Some("desc");
            Ok(Value::native("sorter", move |_, args, _| {
                let items = match arg(args, 0).unwrap_confident() {
                    Value::Array(a) => a.borrow().clone(),
                    _ => return Err(error("sortBy sorter requires an array")),
                };
                let sorted = merge_sort(items, &mut |a, b| {
                    let ka = sort_key(a, &key);
                    let kb = sort_key(b, &key);
                    let ord = match (&ka, &kb) {
                        (Value::Number(x), Value::Number(y)) => {
                            x.partial_cmp(y).unwrap_or(Ordering::Equal)
                        }
                        _ => format::display(&ka).cmp(&format::display(&kb)),
                    };
                    Ok(if descending { ord.reverse() } else { ord })
                })?;
                Ok(Value::array(sorted))
            }))
        }),
    );
}

fn sort_key(v: &Value, key: &str) -> Value {
    match v.unwrap_confident() {
        Value::Object(o) => o
            .borrow()
            .get(key)
            .map(|p| p.unwrap_confident().clone())
            .unwrap_or_default(),
        other => other.clone(),
    }
}

fn group_by(
    it: &mut Interpreter,
    key: &Value,
    args: &[Value],
    span: Span,
) -> Result<Value, RuntimeError> {
    let items = match arg(args, 0).unwrap_confident() {
        Value::Array(a) => a.borrow().clone(),
        _ => return Err(error("groupBy grouper requires an array")),
    };
    let mut groups: indexmap::IndexMap<String, Vec<Value>> = indexmap::IndexMap::new();
    for el in items {
        let group = match key {
            Value::Str(k) => match el.unwrap_confident() {
                Value::Object(o) => o
                    .borrow()
                    .get(k.as_str())
                    .map(format::display)
                    .unwrap_or_else(|| "null".to_string()),
                other => format::display(other),
            },
            f if f.unwrap_confident().is_callable() => {
                format::display(&it.call_args(f, smallvec::smallvec![el.clone()], span)?)
            }
            _ => return Err(error("groupBy() requires a string key or function")),
        };
        groups.entry(group).or_default().push(el);
    }
    let mut m = Map::default();
    for (k, v) in groups {
        m.insert(k.as_str().into(), Value::array(v));
    }
    Ok(Value::object(m))
}

fn array_arg(args: &[Value], name: &str) -> Result<(ArrayRef, Option<f64>), RuntimeError> {
    let first = arg(args, 0);
    match first.unwrap_confident() {
        Value::Array(a) => Ok((a.clone(), first.confidence())),
        _ => Err(error(format!(
            "First argument to {name}() must be an array"
        ))),
    }
}

fn callable(args: &[Value], i: usize, message: &str) -> Result<Value, RuntimeError> {
    let f = arg(args, i);
    if f.unwrap_confident().is_callable() {
        Ok(f)
    } else {
        Err(error(message))
    }
}

fn keep_confidence(v: Value, c: Option<f64>) -> Value {
    match c {
        Some(c) => Value::confident(v, c),
        None => v,
    }
}

fn item(a: &ArrayRef, i: usize) -> Option<Value> {
    a.borrow().get(i).cloned()
}

fn map_items(
    it: &mut Interpreter,
    a: &ArrayRef,
    f: &Value,
    span: Span,
) -> Result<Vec<Value>, RuntimeError> {
    let len = a.borrow().len();
    let mut out = Vec::with_capacity(len);
    for i in 0..len {
        let Some(el) = item(a, i) else { break };
        out.push(it.call_args(f, smallvec::smallvec![el, Value::Number(i as f64)], span)?);
    }
    Ok(out)
}

fn filter_items(
    it: &mut Interpreter,
    a: &ArrayRef,
    f: &Value,
    span: Span,
) -> Result<Vec<Value>, RuntimeError> {
    let len = a.borrow().len();
    let mut out = Vec::new();
    for i in 0..len {
        let Some(el) = item(a, i) else { break };
        if it
            .call_args(
                f,
                smallvec::smallvec![el.clone(), Value::Number(i as f64)],
                span,
            )?
            .is_truthy()
        {
            out.push(el);
        }
    }
    Ok(out)
}

fn reduce_items(
    it: &mut Interpreter,
    a: &ArrayRef,
    f: &Value,
    init: Option<Value>,
    span: Span,
) -> Result<Value, RuntimeError> {
    let len = a.borrow().len();
    let (mut acc, start) = match init {
        Some(v) => (v, 0),
        None => match item(a, 0) {
            Some(v) => (v, 1),
            None => return Err(error("reduce() of empty array with no initial value")),
        },
    };
    for i in start..len {
        let Some(el) = item(a, i) else { break };
        acc = it.call_args(
            f,
            smallvec::smallvec![acc, el, Value::Number(i as f64)],
            span,
        )?;
    }
    Ok(acc)
}

/// Resolves a possibly negative index against `len` (JavaScript `slice` rules).
pub(crate) fn relative_index(v: Option<f64>, len: usize, default: usize) -> usize {
    match v {
        None => default,
        Some(n) if n.is_nan() => 0,
        Some(n) if n < 0.0 => (len as f64 + n.trunc()).max(0.0) as usize,
        Some(n) => n.trunc().min(len as f64) as usize,
    }
}

/// A stable merge sort whose comparator may fail (and need not be consistent).
pub(crate) fn merge_sort(
    items: Vec<Value>,
    cmp: &mut dyn FnMut(&Value, &Value) -> Result<Ordering, RuntimeError>,
) -> Result<Vec<Value>, RuntimeError> {
    if items.len() <= 1 {
        return Ok(items);
    }
    let mut items = items;
    let right = items.split_off(items.len() / 2);
    let left = merge_sort(items, cmp)?;
    let right = merge_sort(right, cmp)?;
    let mut out = Vec::with_capacity(left.len() + right.len());
    let mut l = left.into_iter().peekable();
    let mut r = right.into_iter().peekable();
    while let (Some(a), Some(b)) = (l.peek(), r.peek()) {
        if cmp(a, b)? == Ordering::Greater {
            out.extend(r.next());
        } else {
            out.extend(l.next());
        }
    }
    out.extend(l);
    out.extend(r);
    Ok(out)
}

fn sort_with(
    it: &mut Interpreter,
    items: Vec<Value>,
    f: Option<&Value>,
    span: Span,
) -> Result<Vec<Value>, RuntimeError> {
    match f {
        Some(f) => sort_by_callback(it, items, f, span),
        None => merge_sort(items, &mut |a, b| {
            // JavaScript's default order: by string form, nulls last.
            Ok(match (a, b) {
                (Value::Null, Value::Null) => Ordering::Equal,
                (Value::Null, _) => Ordering::Greater,
                (_, Value::Null) => Ordering::Less,
                _ => format::display(a).cmp(&format::display(b)),
            })
        }),
    }
}

/// Merge sort calling a Prism comparator `f(a, b)` (negative: a first).
fn sort_by_callback(
    it: &mut Interpreter,
    items: Vec<Value>,
    f: &Value,
    span: Span,
) -> Result<Vec<Value>, RuntimeError> {
    if items.len() <= 1 {
        return Ok(items);
    }
    let mut items = items;
    let right = items.split_off(items.len() / 2);
    let left = sort_by_callback(it, items, f, span)?;
    let right = sort_by_callback(it, right, f, span)?;
    let mut out = Vec::with_capacity(left.len() + right.len());
    let mut l = left.into_iter().peekable();
    let mut r = right.into_iter().peekable();
    while let (Some(a), Some(b)) = (l.peek(), r.peek()) {
        let c = it.call_args(f, smallvec::smallvec![a.clone(), b.clone()], span)?;
        if c.as_number().is_some_and(|n| n > 0.0) {
            out.extend(r.next());
        } else {
            out.extend(l.next());
        }
    }
    out.extend(l);
    out.extend(r);
    Ok(out)
}

/// Appends `items` to `out`, flattening arrays `depth` levels deep, without recursion; an
/// array inside itself (`a.push(a); a.flat(Infinity)`) is an error, as is a result longer
/// than [`MAX_ARRAY_LEN`].
fn flatten_into(out: &mut Vec<Value>, items: &[Value], depth: f64) -> Result<(), RuntimeError> {
    // The arrays being flattened, outermost first: their items, the next index to read, and
    // which array it is (to find one inside itself).
    type Level = (Rc<[Value]>, usize, Option<*const RefCell<Vec<Value>>>);
    let mut path: Vec<Level> = vec![(Rc::from(items), 0, None)];
    while let Some((list, i, _)) = path.last_mut() {
        let Some(v) = list.get(*i).cloned() else {
            path.pop();
            continue;
        };
        *i += 1;
        match v {
            Value::Array(inner) if (path.len() as f64) <= depth => {
                let id = Rc::as_ptr(&inner);
                if path.iter().any(|(_, _, p)| *p == Some(id)) {
                    return Err(error("Cannot flatten an array that contains itself"));
                }
                let items: Rc<[Value]> = Rc::from(inner.borrow().as_slice());
                path.push((items, 0, Some(id)));
            }
            other => {
                check_array_len(out.len() + 1)?;
                out.push(other);
            }
        }
    }
    Ok(())
}

/// The longest array a program may build (16,777,216 elements): growing past it is an error,
/// not an allocation that takes the machine down.
pub const MAX_ARRAY_LEN: usize = 1 << 24;

/// Fails when an array would hold `len` elements, more than [`MAX_ARRAY_LEN`].
pub(crate) fn check_array_len(len: usize) -> Result<(), RuntimeError> {
    if len > MAX_ARRAY_LEN {
        return Err(error(format!(
            "Invalid array length: {len} elements, more than the {MAX_ARRAY_LEN} allowed"
        )));
    }
    Ok(())
}

/// Calls array method `name` on `a`; `None` if arrays have no such method.
pub(crate) fn method(
    it: &mut Interpreter,
    a: &ArrayRef,
    name: &str,
    args: &[Value],
    span: Span,
) -> Option<Result<Value, RuntimeError>> {
    let result = match name {
        "push" | "pop" | "shift" | "unshift" | "reverse" | "splice" | "fill" => {
            change(a, name, args)
        }
        "map" | "filter" | "reduce" | "forEach" | "some" | "every" | "find" | "findIndex"
        | "flatMap" | "sort" => with_callback(it, a, name, args, span),
        "includes" | "indexOf" | "lastIndexOf" | "at" => search(a, name, args),
        "join" | "toString" | "flat" | "concat" | "slice" => copy(a, name, args),
        _ => return None,
    };
    Some(result)
}

/// The methods that change the array in place: `push`, `pop`, `shift`, `unshift`, `reverse`,
/// `splice`, `fill`.
fn change(a: &ArrayRef, name: &str, args: &[Value]) -> Result<Value, RuntimeError> {
    let this = || Value::Array(a.clone());
    Ok(match name {
        "push" => {
            if args.is_empty() {
                return Err(error("Array.push() requires at least 1 argument"));
            }
            check_array_len(a.borrow().len() + args.len())?;
            a.borrow_mut().extend(args.iter().cloned());
            this()
        }
        "pop" => a.borrow_mut().pop().unwrap_or_default(),
        "shift" => {
            let mut v = a.borrow_mut();
            if v.is_empty() {
                Value::Null
            } else {
                v.remove(0)
            }
        }
        "unshift" => {
            let mut v = a.borrow_mut();
            for (i, x) in args.iter().enumerate() {
                v.insert(i, x.clone());
            }
            Value::Number(v.len() as f64)
        }
        "reverse" => {
            a.borrow_mut().reverse();
            this()
        }
        "splice" => {
            let mut v = a.borrow_mut();
            let start = relative_index(num_arg(args, 0), v.len(), 0);
            let count = match num_arg(args, 1) {
                Some(n) => (n.max(0.0) as usize).min(v.len() - start),
                None => v.len() - start,
            };
            let removed: Vec<Value> = v
                .splice(start..start + count, args.iter().skip(2).cloned())
                .collect();
            Value::array(removed)
        }
        "fill" => {
            let fill = arg(args, 0);
            let mut v = a.borrow_mut();
            let len = v.len();
            let start = relative_index(num_arg(args, 1), len, 0);
            let end = relative_index(num_arg(args, 2), len, len);
            for slot in v.iter_mut().take(end).skip(start) {
                *slot = fill.clone();
            }
            drop(v);
            this()
        }
        _ => return Err(error(format!("Unknown array method '{name}'"))),
    })
}

/// The `i`th argument of callback method `name` if it is a function; otherwise the reference's
/// error for that method.
fn callback(args: &[Value], i: usize, name: &str) -> Result<Value, RuntimeError> {
    let f = arg(args, i);
    if f.unwrap_confident().is_callable() {
        return Ok(f);
    }
    // The reference's words for the callback methods.
    Err(error(match (name, args.is_empty()) {
        ("map" | "forEach", true) => {
            format!("Array.{name}() requires exactly 1 argument: function")
        }
        ("filter", true) => "Array.filter() requires exactly 1 argument: predicate".into(),
        ("reduce", true) => {
            "Array.reduce() requires 1 or 2 arguments: reducer and optional initial value".into()
        }
        ("reduce", false) => "First argument to reduce() must be a function".into(),
        _ => format!("Argument to {name}() must be a function"),
    }))
}

/// The methods that call a function: `map`, `filter`, `reduce`, `forEach`, `some`, `every`,
/// `find`, `findIndex`, `flatMap`, and `sort` (with an optional comparator).
fn with_callback(
    it: &mut Interpreter,
    a: &ArrayRef,
    name: &str,
    args: &[Value],
    span: Span,
) -> Result<Value, RuntimeError> {
    Ok(match name {
        "map" => Value::array(map_items(it, a, &callback(args, 0, name)?, span)?),
        "filter" => Value::array(filter_items(it, a, &callback(args, 0, name)?, span)?),
        "reduce" => reduce_items(it, a, &callback(args, 0, name)?, args.get(1).cloned(), span)?,
        "forEach" => {
            let f = callback(args, 0, name)?;
            let len = a.borrow().len();
            for i in 0..len {
                let Some(el) = item(a, i) else { break };
                it.call_args(&f, smallvec::smallvec![el, Value::Number(i as f64)], span)?;
            }
            Value::Null
        }
        "some" | "every" | "find" | "findIndex" => {
            let f = callback(args, 0, name)?;
            let len = a.borrow().len();
            for i in 0..len {
                let Some(el) = item(a, i) else { break };
                let hit = it
                    .call_args(
                        &f,
                        smallvec::smallvec![el.clone(), Value::Number(i as f64)],
                        span,
                    )?
                    .is_truthy();
                match (name, hit) {
                    ("some", true) => return Ok(Value::Bool(true)),
                    ("every", false) => return Ok(Value::Bool(false)),
                    ("find", true) => return Ok(el),
                    ("findIndex", true) => return Ok(Value::Number(i as f64)),
                    _ => {}
                }
            }
            match name {
                "some" => Value::Bool(false),
                "every" => Value::Bool(true),
                "find" => Value::Null,
                _ => Value::Number(-1.0),
            }
        }
        "flatMap" => {
            let mapped = map_items(it, a, &callback(args, 0, name)?, span)?;
            let mut out = Vec::new();
            flatten_into(&mut out, &mapped, 1.0)?;
            Value::array(out)
        }
        "sort" => {
            let items = a.borrow().clone();
            let f = args.first().filter(|f| f.unwrap_confident().is_callable());
            let sorted = sort_with(it, items, f, span)?;
            *a.borrow_mut() = sorted;
            Value::Array(a.clone())
        }
        _ => return Err(error(format!("Unknown array method '{name}'"))),
    })
}

/// The methods that look for an element: `includes`, `indexOf`, `lastIndexOf`, `at`.
fn search(a: &ArrayRef, name: &str, args: &[Value]) -> Result<Value, RuntimeError> {
    Ok(match name {
        "includes" => {
            let needle = arg(args, 0);
            Value::Bool(a.borrow().iter().any(|v| v.strict_equals(&needle)))
        }
        "indexOf" | "lastIndexOf" => {
            let needle = arg(args, 0);
            let v = a.borrow();
            let pos = if name == "indexOf" {
                v.iter().position(|x| x.strict_equals(&needle))
            } else {
                v.iter().rposition(|x| x.strict_equals(&needle))
            };
            Value::Number(pos.map_or(-1.0, |p| p as f64))
        }
        "at" => {
            let v = a.borrow();
            let i = num_arg(args, 0).unwrap_or(0.0).trunc();
            let i = if i < 0.0 { v.len() as f64 + i } else { i };
            if i >= 0.0 && (i as usize) < v.len() {
                v[i as usize].clone()
            } else {
                Value::Null
            }
        }
        _ => return Err(error(format!("Unknown array method '{name}'"))),
    })
}

/// The methods that make a new value from the elements: `join`, `toString`, `flat`, `concat`,
/// `slice`.
fn copy(a: &ArrayRef, name: &str, args: &[Value]) -> Result<Value, RuntimeError> {
    Ok(match name {
        "join" => {
            let sep = match args.first().map(Value::unwrap_confident) {
                None | Some(Value::Null) => ",".to_string(),
                Some(Value::Str(s)) => s.to_string(),
                Some(_) => return Err(error("Array.join() separator must be a string")),
            };
            let mut out = String::new();
            for (i, v) in a.borrow().iter().enumerate() {
                if i > 0 {
                    out.push_str(&sep);
                }
                if !v.is_null() {
                    format::display_into(&mut out, v);
                }
            }
            Value::from(out)
        }
        "toString" => Value::from(
            a.borrow()
                .iter()
                .map(|v| {
                    if v.is_null() {
                        String::new()
                    } else {
                        format::display(v)
                    }
                })
                .collect::<Vec<_>>()
                .join(","),
        ),
        "flat" => {
            let depth = num_arg(args, 0).unwrap_or(1.0);
            let mut out = Vec::new();
            let items = a.borrow().clone();
            flatten_into(&mut out, &items, depth)?;
            Value::array(out)
        }
        "concat" => {
            let mut out = a.borrow().clone();
            for x in args {
                match x.unwrap_confident() {
                    Value::Array(b) => {
                        check_array_len(out.len() + b.borrow().len())?;
                        out.extend(b.borrow().iter().cloned());
                    }
                    _ => out.push(x.clone()),
                }
            }
            Value::array(out)
        }
        "slice" => {
            let v = a.borrow();
            let start = relative_index(num_arg(args, 0), v.len(), 0);
            let end = relative_index(num_arg(args, 1), v.len(), v.len());
            Value::array(if start < end {
                v[start..end].to_vec()
            } else {
                Vec::new()
            })
        }
        _ => return Err(error(format!("Unknown array method '{name}'"))),
    })
}

/// Fails with `message` unless `min ≤ args.len() ≤ max`.
fn arity(args: &[Value], min: usize, max: usize, message: &str) -> Result<(), RuntimeError> {
    if (min..=max).contains(&args.len()) {
        Ok(())
    } else {
        Err(error(message))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::test_support::run;
    use crate::{Interpreter, Options};

    #[test]
    fn every_listed_method_is_dispatched_and_no_other() {
        let mut it = Interpreter::new(Options::default());
        let a = match Value::array(vec![Value::Number(1.0)]) {
            Value::Array(a) => a,
            _ => unreachable!("Value::array makes an array"),
        };
        for name in METHODS {
            assert!(
                method(&mut it, &a, name, &[], Span::default()).is_some(),
                "{name}"
            );
        }
        assert!(method(&mut it, &a, "nope", &[], Span::default()).is_none());
    }

    #[test]
    fn global_helpers_and_methods() {
        assert_eq!(
            run("print(map([1, 2], x => x + 1), filter([1, 2, 3], x => x > 1))"),
            "[2, 3] [2, 3]\n"
        );
        assert_eq!(
            run("print([1, 2, 3].reduce((a, b) => a + b, 100))"),
            "106\n"
        );
        assert_eq!(
            run("let a = [3, 1, 2]\nprint(a.sort(), a.push(4), a.length)"),
            "[1, 2, 3, 4] [1, 2, 3, 4] 4\n"
        );
        assert_eq!(
            run("print([10, 9, 1].sort(), [10, 9, 1].sort((a, b) => a - b))"),
            "[1, 10, 9] [1, 9, 10]\n"
        );
        assert_eq!(
            run("print([1, [2, [3]]].flat(), [1, 2, 3].slice(-2), [1, null, 2].join(\"-\"))"),
            "[1, 2, [3]] [2, 3] 1--2\n"
        );
        assert_eq!(
            run(
                "print([1, 2].some(x => x > 1), [1, 2].every(x => x > 1), [1, 2].find(x => x > 1), [1, 2].findIndex(x => x > 5))"
            ),
            "true false 2 -1\n"
        );
    }

    #[test]
    fn group_by_and_sort_by() {
        assert_eq!(
            run("print(groupBy(n => n % 2)([1, 2, 3]))"),
            "{ 1: [1, 3], 0: [2] }\n"
        );
        assert_eq!(
            run(r#"print(sortBy("v", "desc")([{v: 1}, {v: 3}, {v: 2}]))"#),
            "[{ v: 3 }, { v: 2 }, { v: 1 }]\n"
        );
    }

    #[test]
    fn reduce_of_empty_array_fails() {
        assert!(
            run("print([].reduce((a, b) => a + b))")
                .contains("ERROR: reduce() of empty array with no initial value")
        );
    }
}
