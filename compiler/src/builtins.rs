//! The builtins the editor knows: signatures and one-line docs for hover, completion and
//! signature help, and argument counts for the arity check. Methods of strings and arrays are
//! listed as `string.x` / `array.x`; members of namespaces as `Math.max`.

/// What a builtin name is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BuiltinKind {
    /// A function called by name (`print`) or through a namespace (`Math.max`).
    Function,
    /// A namespace object (`Math`, `console`).
    Namespace,
    /// A constant or a pattern global (`Infinity`, `input`).
    Value,
    /// A method of strings or arrays (`"a".includes(x)`).
    Method,
}

/// One builtin.
#[derive(Debug, Clone, Copy)]
pub struct Builtin {
    /// `print`, `Math.max`, `array.map`.
    pub name: &'static str,
    pub kind: BuiltinKind,
    /// The signature as shown in hover and signature help.
    pub signature: &'static str,
    /// One line of documentation.
    pub doc: &'static str,
    /// Fewest arguments accepted.
    pub min_args: usize,
    /// Most arguments accepted (`None`: any number).
    pub max_args: Option<usize>,
    /// True when the arity is certain enough to warn about (the runtime rejects other counts
    /// or ignores extra arguments silently in a way that hides a mistake).
    pub checked: bool,
}

const fn f(
    name: &'static str,
    signature: &'static str,
    doc: &'static str,
    min_args: usize,
    max_args: Option<usize>,
    checked: bool,
) -> Builtin {
    Builtin {
        name,
        kind: BuiltinKind::Function,
        signature,
        doc,
        min_args,
        max_args,
        checked,
    }
}

const fn ns(name: &'static str, doc: &'static str) -> Builtin {
    Builtin {
        name,
        kind: BuiltinKind::Namespace,
        signature: name,
        doc,
        min_args: 0,
        max_args: None,
        checked: false,
    }
}

const fn val(name: &'static str, signature: &'static str, doc: &'static str) -> Builtin {
    Builtin {
        name,
        kind: BuiltinKind::Value,
        signature,
        doc,
        min_args: 0,
        max_args: None,
        checked: false,
    }
}

const fn m(
    name: &'static str,
    signature: &'static str,
    doc: &'static str,
    min_args: usize,
    max_args: Option<usize>,
) -> Builtin {
    Builtin {
        name,
        kind: BuiltinKind::Method,
        signature,
        doc,
        min_args,
        max_args,
        checked: false,
    }
}

/// Every builtin, globals first.
pub static BUILTINS: &[Builtin] = &[
    f(
        "print",
        "print(...values)",
        "Prints the values separated by spaces; a confident value prints as `42 ~> 0.80`. Returns null.",
        0,
        None,
        false,
    ),
    ns(
        "console",
        "Console output: `log`/`debug` to stdout, `warn`/`error` to stderr.",
    ),
    f(
        "console.log",
        "console.log(...values)",
        "Prints the values to standard output.",
        0,
        None,
        false,
    ),
    f(
        "console.debug",
        "console.debug(...values)",
        "Prints the values to standard output.",
        0,
        None,
        false,
    ),
    f(
        "console.warn",
        "console.warn(...values)",
        "Prints the values to standard error.",
        0,
        None,
        false,
    ),
    f(
        "console.error",
        "console.error(...values)",
        "Prints the values to standard error.",
        0,
        None,
        false,
    ),
    f(
        "map",
        "map(array, fn(element, index))",
        "A new array of `fn` applied to each element; keeps the array's confidence.",
        2,
        Some(2),
        true,
    ),
    f(
        "filter",
        "filter(array, fn(element, index))",
        "The elements for which `fn` is truthy; keeps the array's confidence.",
        2,
        Some(2),
        true,
    ),
    f(
        "reduce",
        "reduce(array, fn(acc, element), initial?)",
        "Folds the array with `fn`, starting from `initial` (or the first element).",
        2,
        Some(3),
        true,
    ),
    f(
        "groupBy",
        "groupBy(key)(array)",
        "A function that groups an array of objects by `key` (a property name or a function).",
        1,
        Some(1),
        true,
    ),
    f(
        "sortBy",
        "sortBy(key, order?)(array)",
        "A function that sorts an array of objects by property `key`; `order` \"desc\" sorts descending.",
        1,
        Some(2),
        true,
    ),
    f(
        "threshold",
        "threshold(t)(values)",
        "A function keeping the values whose confidence is at least `t`.",
        1,
        Some(1),
        true,
    ),
    f(
        "confidence",
        "confidence(c)(fn)",
        "Wraps `fn` so its results carry confidence `c` (0 to 1).",
        1,
        Some(1),
        true,
    ),
    f(
        "aggregate",
        "aggregate(values, {strategy?})",
        "Combines confident values: strategy \"average\" (default), \"min\", \"max\" or \"product\".",
        1,
        Some(2),
        true,
    ),
    f(
        "consensus",
        "consensus(values, {strategy?})",
        "The value with the highest (strategy \"max\", default) or lowest (\"min\") confidence.",
        1,
        Some(2),
        true,
    ),
    f(
        "max",
        "max(...values)",
        "The largest value (confidence kept).",
        0,
        None,
        false,
    ),
    f(
        "min",
        "min(...values)",
        "The smallest value (confidence kept).",
        0,
        None,
        false,
    ),
    f(
        "delay",
        "delay(ms, value?)",
        "A promise that resolves to `value` after `ms` milliseconds.",
        1,
        Some(2),
        true,
    ),
    f(
        "sleep",
        "sleep(ms, value?)",
        "A promise that resolves to `value` after `ms` milliseconds (alias of delay).",
        1,
        Some(2),
        true,
    ),
    f(
        "debounce",
        "debounce(ms)",
        "A debouncer: `debounce(ms)(f)` is a function that calls `f` after `ms` quiet milliseconds and gives a promise of its result.",
        1,
        Some(1),
        true,
    ),
    f(
        "stream_llm",
        "stream_llm(prompt, options?)",
        "Asks the configured language-model agent, streaming (needs an LLM agent, as llm()).",
        1,
        Some(2),
        true,
    ),
    f(
        "now",
        "now()",
        "Milliseconds since the Unix epoch.",
        0,
        Some(0),
        true,
    ),
    f(
        "llm",
        "llm(prompt, options?)",
        "Asks the configured language-model agent; the answer carries its confidence.",
        1,
        Some(2),
        true,
    ),
    f(
        "average",
        "average(values)",
        "The mean of numbers (pattern runtime).",
        1,
        Some(1),
        false,
    ),
    f(
        "synthesize",
        "synthesize(items)",
        "The most confident item (pattern runtime).",
        1,
        Some(1),
        false,
    ),
    f(
        "majorityVote",
        "majorityVote(items)",
        "The most common value; confidence = agreement × mean confidence of the winners.",
        1,
        Some(1),
        false,
    ),
    f(
        "Number",
        "Number(value)",
        "Converts a value to a number.",
        0,
        Some(1),
        true,
    ),
    f(
        "String",
        "String(value)",
        "Converts a value to a string.",
        0,
        Some(1),
        true,
    ),
    f(
        "Boolean",
        "Boolean(value)",
        "Converts a value to a boolean.",
        0,
        Some(1),
        true,
    ),
    f(
        "parseInt",
        "parseInt(text, radix?)",
        "Parses an integer from the start of `text`.",
        1,
        Some(2),
        true,
    ),
    f(
        "parseFloat",
        "parseFloat(text)",
        "Parses a number from the start of `text`.",
        1,
        Some(1),
        true,
    ),
    f(
        "isNaN",
        "isNaN(value)",
        "True if the value is not a number.",
        1,
        Some(1),
        true,
    ),
    f(
        "isFinite",
        "isFinite(value)",
        "True if the value is a finite number.",
        1,
        Some(1),
        true,
    ),
    val("Infinity", "Infinity", "Positive infinity."),
    val("NaN", "NaN", "Not a number."),
    ns(
        "Math",
        "Mathematics: constants `PI`, `E` and functions on numbers.",
    ),
    val("Math.PI", "Math.PI", "π, 3.141592653589793."),
    val("Math.E", "Math.E", "Euler's number, 2.718281828459045."),
    val(
        "Math.LN2",
        "Math.LN2",
        "The natural logarithm of 2, 0.6931471805599453.",
    ),
    val(
        "Math.LN10",
        "Math.LN10",
        "The natural logarithm of 10, 2.302585092994046.",
    ),
    val(
        "Math.SQRT2",
        "Math.SQRT2",
        "The square root of 2, 1.4142135623730951.",
    ),
    f(
        "Math.asin",
        "Math.asin(x)",
        "The arcsine of x (radians).",
        1,
        Some(1),
        true,
    ),
    f(
        "Math.acos",
        "Math.acos(x)",
        "The arccosine of x (radians).",
        1,
        Some(1),
        true,
    ),
    f(
        "Math.abs",
        "Math.abs(x)",
        "The absolute value of x.",
        1,
        Some(1),
        true,
    ),
    f(
        "Math.floor",
        "Math.floor(x)",
        "The largest integer ≤ x.",
        1,
        Some(1),
        true,
    ),
    f(
        "Math.ceil",
        "Math.ceil(x)",
        "The smallest integer ≥ x.",
        1,
        Some(1),
        true,
    ),
    f(
        "Math.round",
        "Math.round(x)",
        "x rounded to the nearest integer.",
        1,
        Some(1),
        true,
    ),
    f(
        "Math.trunc",
        "Math.trunc(x)",
        "The integer part of x.",
        1,
        Some(1),
        true,
    ),
    f(
        "Math.sign",
        "Math.sign(x)",
        "-1, 0 or 1 by the sign of x.",
        1,
        Some(1),
        true,
    ),
    f(
        "Math.sqrt",
        "Math.sqrt(x)",
        "The square root of x.",
        1,
        Some(1),
        true,
    ),
    f(
        "Math.cbrt",
        "Math.cbrt(x)",
        "The cube root of x.",
        1,
        Some(1),
        true,
    ),
    f(
        "Math.exp",
        "Math.exp(x)",
        "e raised to x.",
        1,
        Some(1),
        true,
    ),
    f(
        "Math.log",
        "Math.log(x)",
        "The natural logarithm of x.",
        1,
        Some(1),
        true,
    ),
    f(
        "Math.log10",
        "Math.log10(x)",
        "The base-10 logarithm of x.",
        1,
        Some(1),
        true,
    ),
    f(
        "Math.log2",
        "Math.log2(x)",
        "The base-2 logarithm of x.",
        1,
        Some(1),
        true,
    ),
    f(
        "Math.sin",
        "Math.sin(x)",
        "The sine of x (radians).",
        1,
        Some(1),
        true,
    ),
    f(
        "Math.cos",
        "Math.cos(x)",
        "The cosine of x (radians).",
        1,
        Some(1),
        true,
    ),
    f(
        "Math.tan",
        "Math.tan(x)",
        "The tangent of x (radians).",
        1,
        Some(1),
        true,
    ),
    f(
        "Math.atan",
        "Math.atan(x)",
        "The arctangent of x.",
        1,
        Some(1),
        true,
    ),
    f(
        "Math.atan2",
        "Math.atan2(y, x)",
        "The angle of the point (x, y).",
        2,
        Some(2),
        true,
    ),
    f(
        "Math.pow",
        "Math.pow(base, exponent)",
        "base raised to exponent.",
        2,
        Some(2),
        true,
    ),
    f(
        "Math.max",
        "Math.max(...numbers)",
        "The largest of the numbers (-Infinity for none).",
        0,
        None,
        false,
    ),
    f(
        "Math.min",
        "Math.min(...numbers)",
        "The smallest of the numbers (Infinity for none).",
        0,
        None,
        false,
    ),
    f(
        "Math.hypot",
        "Math.hypot(...numbers)",
        "The square root of the sum of squares.",
        0,
        None,
        false,
    ),
    f(
        "Math.random",
        "Math.random()",
        "A pseudo-random number in [0, 1).",
        0,
        Some(0),
        true,
    ),
    ns("JSON", "JSON text: `stringify` and `parse`."),
    f(
        "JSON.stringify",
        "JSON.stringify(value, replacer?, indent?)",
        "The value as JSON text.",
        1,
        Some(3),
        true,
    ),
    f(
        "JSON.parse",
        "JSON.parse(text)",
        "The value a JSON text describes.",
        1,
        Some(1),
        true,
    ),
    ns(
        "Object",
        "Functions on objects: keys, values, entries, assign, fromEntries, freeze.",
    ),
    f(
        "Object.keys",
        "Object.keys(object)",
        "The object's keys in insertion order.",
        1,
        Some(1),
        true,
    ),
    f(
        "Object.values",
        "Object.values(object)",
        "The object's values in insertion order.",
        1,
        Some(1),
        true,
    ),
    f(
        "Object.entries",
        "Object.entries(object)",
        "The object's `[key, value]` pairs.",
        1,
        Some(1),
        true,
    ),
    f(
        "Object.assign",
        "Object.assign(target, ...sources)",
        "Copies the sources' properties into target and returns it.",
        1,
        None,
        false,
    ),
    f(
        "Object.fromEntries",
        "Object.fromEntries(entries)",
        "An object from `[key, value]` pairs.",
        1,
        Some(1),
        true,
    ),
    f(
        "Object.freeze",
        "Object.freeze(object)",
        "Returns the object (kept for compatibility).",
        1,
        Some(1),
        true,
    ),
    ns("Array", "Array helpers: isArray, from."),
    f(
        "Array.isArray",
        "Array.isArray(value)",
        "True if the value is an array.",
        1,
        Some(1),
        true,
    ),
    f(
        "Array.from",
        "Array.from(iterable)",
        "A new array from a string or an array.",
        1,
        Some(1),
        true,
    ),
    ns("Promise", "Promises: resolve, reject, all."),
    f(
        "Promise.resolve",
        "Promise.resolve(value)",
        "A promise fulfilled with value.",
        0,
        Some(1),
        true,
    ),
    f(
        "Promise.reject",
        "Promise.reject(reason)",
        "A promise rejected with reason.",
        0,
        Some(1),
        true,
    ),
    f(
        "Promise.all",
        "Promise.all(promises)",
        "A promise of the array of all results, rejected by the first rejection.",
        1,
        Some(1),
        true,
    ),
    ns("Date", "Dates: `Date.now()`."),
    f(
        "Date.now",
        "Date.now()",
        "Milliseconds since the Unix epoch.",
        0,
        Some(0),
        true,
    ),
    val(
        "input",
        "input",
        "The pattern's input (annotated .prism patterns).",
    ),
    val(
        "agentResults",
        "agentResults",
        "Each agent's answer: {agentId, agentName, result, confidence, reasoning, …} (patterns).",
    ),
    val(
        "successfulResults",
        "successfulResults",
        "The agent results with confidence > 0 (patterns).",
    ),
    val(
        "agentList",
        "agentList",
        "The selected agents, each with async analyze(task, data?) (patterns).",
    ),
    val("agents", "agents", "Alias of agentList (patterns)."),
    val(
        "agentCount",
        "agentCount",
        "How many agents were selected (patterns).",
    ),
    val(
        "pattern",
        "pattern",
        "{name, version, agents} of the running pattern.",
    ),
    val(
        "workspace",
        "workspace",
        "null, or {path} with --workspace DIR (patterns).",
    ),
    val(
        "parallax",
        "parallax",
        "{agentList, patterns, confidence} (patterns).",
    ),
    m(
        "array.map",
        "array.map(fn(element, index))",
        "A new array of fn applied to each element.",
        1,
        Some(1),
    ),
    m(
        "array.filter",
        "array.filter(fn(element, index))",
        "The elements for which fn is truthy.",
        1,
        Some(1),
    ),
    m(
        "array.reduce",
        "array.reduce(fn(acc, element), initial?)",
        "Folds the array with fn.",
        1,
        Some(2),
    ),
    m(
        "array.forEach",
        "array.forEach(fn(element, index))",
        "Calls fn on each element; returns null.",
        1,
        Some(1),
    ),
    m(
        "array.find",
        "array.find(fn(element))",
        "The first element for which fn is truthy, or null.",
        1,
        Some(1),
    ),
    m(
        "array.findIndex",
        "array.findIndex(fn(element))",
        "The index of the first match, or -1.",
        1,
        Some(1),
    ),
    m(
        "array.some",
        "array.some(fn(element))",
        "True if fn is truthy for some element.",
        1,
        Some(1),
    ),
    m(
        "array.every",
        "array.every(fn(element))",
        "True if fn is truthy for every element.",
        1,
        Some(1),
    ),
    m(
        "array.sort",
        "array.sort(compare?)",
        "Sorts in place and returns the array.",
        0,
        Some(1),
    ),
    m(
        "array.push",
        "array.push(...items)",
        "Appends the items; mutates and returns the array.",
        0,
        None,
    ),
    m(
        "array.pop",
        "array.pop()",
        "Removes and returns the last element.",
        0,
        Some(0),
    ),
    m(
        "array.shift",
        "array.shift()",
        "Removes and returns the first element.",
        0,
        Some(0),
    ),
    m(
        "array.unshift",
        "array.unshift(...items)",
        "Prepends the items.",
        0,
        None,
    ),
    m(
        "array.join",
        "array.join(separator?)",
        "The elements as text joined by separator (\",\").",
        0,
        Some(1),
    ),
    m(
        "array.concat",
        "array.concat(...arrays)",
        "A new array of this and the others.",
        0,
        None,
    ),
    m(
        "array.reverse",
        "array.reverse()",
        "Reverses in place and returns the array.",
        0,
        Some(0),
    ),
    m(
        "array.flat",
        "array.flat(depth?)",
        "A new array with nested arrays flattened.",
        0,
        Some(1),
    ),
    m(
        "array.includes",
        "array.includes(value)",
        "True if some element equals value.",
        1,
        Some(2),
    ),
    m(
        "array.indexOf",
        "array.indexOf(value)",
        "The first index of value, or -1.",
        1,
        Some(2),
    ),
    m(
        "array.slice",
        "array.slice(start?, end?)",
        "A copy of a part of the array.",
        0,
        Some(2),
    ),
    m(
        "array.length",
        "array.length",
        "The number of elements.",
        0,
        Some(0),
    ),
    m(
        "string.length",
        "string.length",
        "The number of characters.",
        0,
        Some(0),
    ),
    m(
        "string.includes",
        "string.includes(text)",
        "True if the string contains text.",
        1,
        Some(2),
    ),
    m(
        "string.indexOf",
        "string.indexOf(text)",
        "The first index of text, or -1.",
        1,
        Some(2),
    ),
    m(
        "string.slice",
        "string.slice(start?, end?)",
        "A part of the string.",
        0,
        Some(2),
    ),
    m(
        "string.substring",
        "string.substring(start, end?)",
        "A part of the string.",
        1,
        Some(2),
    ),
    m(
        "string.split",
        "string.split(separator)",
        "The parts between separators.",
        0,
        Some(2),
    ),
    m(
        "string.toUpperCase",
        "string.toUpperCase()",
        "The string in upper case.",
        0,
        Some(0),
    ),
    m(
        "string.toLowerCase",
        "string.toLowerCase()",
        "The string in lower case.",
        0,
        Some(0),
    ),
    m(
        "string.trim",
        "string.trim()",
        "The string without surrounding whitespace.",
        0,
        Some(0),
    ),
    m(
        "string.startsWith",
        "string.startsWith(text)",
        "True if the string starts with text.",
        1,
        Some(2),
    ),
    m(
        "string.endsWith",
        "string.endsWith(text)",
        "True if the string ends with text.",
        1,
        Some(2),
    ),
    m(
        "string.replace",
        "string.replace(pattern, replacement)",
        "The string with the first pattern replaced.",
        2,
        Some(2),
    ),
    m(
        "number.toFixed",
        "number.toFixed(digits)",
        "The number as text with `digits` decimals.",
        0,
        Some(1),
    ),
];

/// The builtin global or namespace member called `name` (`print`, `Math.max`).
pub fn lookup(name: &str) -> Option<&'static Builtin> {
    BUILTINS
        .iter()
        .find(|b| b.name == name && b.kind != BuiltinKind::Method)
}

/// Is `name` a builtin global?
pub fn is_global(name: &str) -> bool {
    !name.contains('.') && lookup(name).is_some()
}

/// The members of a namespace (`Math` → `Math.max`, …).
pub fn members(namespace: &str) -> impl Iterator<Item = &'static Builtin> + '_ {
    BUILTINS.iter().filter(move |b| {
        b.name
            .strip_prefix(namespace)
            .is_some_and(|rest| rest.starts_with('.'))
            && b.kind != BuiltinKind::Method
    })
}

/// The string, array and number methods named `name`.
pub fn methods(name: &str) -> impl Iterator<Item = &'static Builtin> + '_ {
    BUILTINS
        .iter()
        .filter(move |b| b.kind == BuiltinKind::Method && b.name.rsplit('.').next() == Some(name))
}

/// Every method of strings, arrays and numbers.
pub fn all_methods() -> impl Iterator<Item = &'static Builtin> {
    BUILTINS.iter().filter(|b| b.kind == BuiltinKind::Method)
}

/// The part after the last `.` (`Math.max` → `max`).
pub fn short_name(b: &Builtin) -> &'static str {
    b.name.rsplit('.').next().unwrap_or(b.name)
}

/// Keywords offered by completion.
pub const KEYWORDS: &[&str] = &[
    "let",
    "const",
    "var",
    "function",
    "async",
    "await",
    "return",
    "if",
    "else",
    "for",
    "while",
    "do",
    "break",
    "continue",
    "uncertain",
    "high",
    "medium",
    "low",
    "default",
    "try",
    "catch",
    "finally",
    "throw",
    "import",
    "export",
    "from",
    "true",
    "false",
    "null",
    "undefined",
    "typeof",
    "instanceof",
    "in",
    "of",
    "match",
];

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_are_unique_and_documented() {
        for (i, b) in BUILTINS.iter().enumerate() {
            assert!(!b.doc.is_empty(), "{}", b.name);
            assert!(
                BUILTINS[..i].iter().all(|o| o.name != b.name),
                "{} twice",
                b.name
            );
            if let Some(max) = b.max_args {
                assert!(b.min_args <= max, "{}", b.name);
            }
        }
    }

    #[test]
    fn lookups() {
        assert_eq!(lookup("print").map(|b| b.kind), Some(BuiltinKind::Function));
        assert!(is_global("Math") && !is_global("Math.max") && !is_global("nope"));
        assert!(members("Math").any(|b| b.name == "Math.max"));
        assert_eq!(methods("includes").count(), 2);
    }
}
