//! Wall-clock time: `Date.now()` and `now()`.

use std::time::{SystemTime, UNIX_EPOCH};

use crate::scope::Env;
use crate::value::Value;

use super::{namespace, set};

fn millis() -> f64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0.0, |d| d.as_millis() as f64)
}

pub(crate) fn install(g: &Env) {
    set(
        g,
        "now",
        Value::native("now", |_, _, _| Ok(Value::Number(millis()))),
    );
    set(
        g,
        "Date",
        namespace(vec![(
            "now",
            Value::native("now", |_, _, _| Ok(Value::Number(millis()))),
        )]),
    );
}
