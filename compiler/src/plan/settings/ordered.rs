//! The machinery of typed settings: reading a value of each field type from a checked JSON
//! mapping ([`Setting`]), numbers kept as written ([`Num`]), and the two macros that declare
//! settings mappings (fields serialized in written order) and word enums.

use std::fmt;

use indexmap::IndexMap;
use serde::{Serialize, Serializer};
use serde_json::{Number, Value};

/// Why a settings mapping does not have the expected shape.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SettingsError {
    /// The settings are not a mapping.
    #[error("must be a mapping")]
    NotAMapping,
    /// A key the settings do not have.
    #[error("has no setting `{0}`")]
    UnknownKey(String),
    /// A value of the wrong type or out of its words.
    #[error("`{key}` must be {expected}")]
    Value {
        /// The key.
        key: &'static str,
        /// What it must be.
        expected: String,
    },
}

impl SettingsError {
    /// The error as a message about the mapping at `path` (`aggregation`, `steps[1].execution`).
    pub fn at(&self, path: &str) -> String {
        match self {
            SettingsError::NotAMapping => format!("`{path}` must be a mapping"),
            SettingsError::UnknownKey(k) => format!("`{path}` has no setting `{k}`"),
            SettingsError::Value { key, expected } => format!("`{path}.{key}` must be {expected}"),
        }
    }
}

/// A field type of a settings mapping, read from its checked JSON value.
pub trait Setting: Sized {
    /// The value, or what it must be.
    fn from_json(v: &Value) -> Result<Self, String>;
}

/// A number as written (`1` stays `1`, `0.70` is `0.7`), so the plan JSON keeps its form.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(transparent)]
pub struct Num(pub Number);

impl Num {
    /// The number as `f64`.
    pub fn get(&self) -> f64 {
        self.0.as_f64().unwrap_or(0.0)
    }

    /// A float (non-finite numbers become 0).
    pub fn from_f64(x: f64) -> Self {
        Num(Number::from_f64(x).unwrap_or_else(|| Number::from(0)))
    }
}

impl fmt::Display for Num {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.0.fmt(f)
    }
}

impl Setting for Num {
    fn from_json(v: &Value) -> Result<Self, String> {
        match v {
            Value::Number(n) => Ok(Num(n.clone())),
            _ => Err("a number".into()),
        }
    }
}

impl Setting for String {
    fn from_json(v: &Value) -> Result<Self, String> {
        match v {
            Value::String(s) => Ok(s.clone()),
            Value::Number(n) => Ok(n.to_string()),
            Value::Bool(b) => Ok(b.to_string()),
            _ => Err("a string".into()),
        }
    }
}

impl Setting for bool {
    fn from_json(v: &Value) -> Result<Self, String> {
        v.as_bool().ok_or_else(|| "true or false".into())
    }
}

impl Setting for u64 {
    fn from_json(v: &Value) -> Result<Self, String> {
        v.as_u64().ok_or_else(|| "a whole number ≥ 0".into())
    }
}

impl Setting for Value {
    fn from_json(v: &Value) -> Result<Self, String> {
        Ok(v.clone())
    }
}

/// A free-form value whose strings may be expressions, typed and compiled once.
impl Setting for crate::plan::output::OutputValue {
    fn from_json(v: &Value) -> Result<Self, String> {
        Ok(crate::plan::output::OutputValue::from_json(v))
    }
}

impl<T: Setting> Setting for Vec<T> {
    fn from_json(v: &Value) -> Result<Self, String> {
        match v {
            Value::Array(items) => items.iter().map(T::from_json).collect(),
            _ => Err("a list".into()),
        }
    }
}

impl<T: Setting> Setting for IndexMap<String, T> {
    fn from_json(v: &Value) -> Result<Self, String> {
        match v {
            Value::Object(m) => m
                .iter()
                .map(|(k, x)| T::from_json(x).map(|t| (k.clone(), t)))
                .collect(),
            _ => Err("a mapping".into()),
        }
    }
}

/// Serializes a word enum as its word.
pub(crate) fn word<S: Serializer>(s: S, w: &str) -> Result<S::Ok, S::Error> {
    s.serialize_str(w)
}

/// Declares a word enum: each variant has its word (and optional aliases it is read from).
macro_rules! settings_enum {
    (
        $(#[$meta:meta])*
        pub enum $name:ident {
            $( $(#[$vmeta:meta])* $variant:ident = $text:literal $(| $alias:literal)*, )*
        }
    ) => {
        $(#[$meta])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
        pub enum $name {
            $( $(#[$vmeta])* $variant, )*
        }

        impl $name {
            /// Every word, in declaration order.
            pub const WORDS: &'static [&'static str] = &[$($text),*];

            /// The word.
            pub fn as_str(self) -> &'static str {
                match self {
                    $( $name::$variant => $text, )*
                }
            }

            /// The variant a word (or alias) names.
            pub fn parse(s: &str) -> Option<Self> {
                match s {
                    $( $text $(| $alias)* => Some($name::$variant), )*
                    _ => None,
                }
            }
        }

        impl std::fmt::Display for $name {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str(self.as_str())
            }
        }

        impl serde::Serialize for $name {
            fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
                $crate::plan::settings::ordered::word(s, self.as_str())
            }
        }

        impl $crate::plan::settings::ordered::Setting for $name {
            fn from_json(v: &serde_json::Value) -> Result<Self, String> {
                v.as_str()
                    .and_then(Self::parse)
                    .ok_or_else(|| format!("one of {}", Self::WORDS.join(", ")))
            }
        }
    };
}

/// Declares a settings mapping: every field optional, read by [`Setting`], serialized in the
/// order the keys were written, then the remaining set fields in declaration order.
macro_rules! settings_struct {
    (
        $(#[$meta:meta])*
        pub struct $name:ident {
            $( $(#[$fmeta:meta])* $field:ident : $ty:ty = $key:literal, )*
        }
    ) => {
        $(#[$meta])*
        #[derive(Debug, Clone, PartialEq, Default)]
        pub struct $name {
            $( $(#[$fmeta])* pub $field: Option<$ty>, )*
            /// The keys as written, in order (they serialize first, in this order).
            pub written: Vec<&'static str>,
        }

        impl $name {
            /// The keys of the mapping.
            pub const KEYS: &'static [&'static str] = &[$($key),*];

            /// Reads a checked mapping: every value of the expected type is kept (null counts
            /// as absent); the errors name the others.
            pub fn parse(
                v: &serde_json::Value,
            ) -> (Self, Vec<$crate::plan::settings::SettingsError>) {
                use $crate::plan::settings::SettingsError;
                let mut out = Self::default();
                let mut errors = Vec::new();
                let Some(m) = v.as_object() else {
                    errors.push(SettingsError::NotAMapping);
                    return (out, errors);
                };
                for (k, x) in m {
                    if x.is_null() {
                        continue;
                    }
                    match k.as_str() {
                        $( $key => {
                            match <$ty as $crate::plan::settings::ordered::Setting>::from_json(x) {
                                Ok(t) => {
                                    out.$field = Some(t);
                                    out.written.push($key);
                                }
                                Err(expected) => {
                                    errors.push(SettingsError::Value { key: $key, expected })
                                }
                            }
                        } )*
                        other => errors.push(SettingsError::UnknownKey(other.to_string())),
                    }
                }
                (out, errors)
            }

            /// Reads a checked mapping, or the first thing wrong with it.
            pub fn from_value(
                v: &serde_json::Value,
            ) -> Result<Self, $crate::plan::settings::SettingsError> {
                let (s, mut errors) = Self::parse(v);
                match errors.is_empty() {
                    true => Ok(s),
                    false => Err(errors.swap_remove(0)),
                }
            }

            /// The settings as JSON, in written order.
            pub fn to_json(&self) -> serde_json::Value {
                $crate::plan::settings::to_json(self)
            }
        }

        impl serde::Serialize for $name {
            fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
                use serde::ser::SerializeMap;
                let mut m = s.serialize_map(None)?;
                let rest = Self::KEYS.iter().filter(|k| !self.written.contains(k));
                for k in self.written.iter().chain(rest) {
                    match *k {
                        $( $key => {
                            if let Some(v) = &self.$field {
                                m.serialize_entry($key, v)?;
                            }
                        } )*
                        _ => {}
                    }
                }
                m.end()
            }
        }

        impl $crate::plan::settings::ordered::Setting for $name {
            fn from_json(v: &serde_json::Value) -> Result<Self, String> {
                Self::from_value(v).map_err(|e| format!("a valid mapping (it {e})"))
            }
        }
    };
}
