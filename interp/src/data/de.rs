//! [`Data`] as any `Deserialize` type: confidences are looked through unless the target is
//! [`Confident`](super::Confident) (or [`Data`] itself, which keeps them); integral numbers
//! read as integers; enums read from a variant name or a `{variant: content}` object.

use std::fmt;

use indexmap::map::Iter as MapIter;
use serde::de::value::{BorrowedStrDeserializer, F64Deserializer};
use serde::de::{
    self, Deserialize, DeserializeSeed, Deserializer, EnumAccess, IntoDeserializer, MapAccess,
    SeqAccess, VariantAccess, Visitor,
};

use super::Data;
use super::DataError as Error;
use super::confident::{CONFIDENCE_FIELD, CONFIDENT_TOKEN, VALUE_FIELD};

/// The newtype name through which [`Data`]'s own `Deserialize` asks for confidences.
const DATA_TOKEN: &str = "$prism::Data";
const MARK_VALUE: &str = "$prism::value";
const MARK_CONFIDENCE: &str = "$prism::confidence";

/// Reads a Rust value out of [`Data`].
///
/// ```
/// use prism_interp::{Confident, Data, from_data};
///
/// #[derive(serde::Deserialize, Debug, PartialEq)]
/// struct Verdict { label: Confident<String>, votes: u32 }
///
/// let d = Data::from(serde_json::json!({"votes": 3}));
/// let mut d = d;
/// if let Data::Object(o) = &mut d {
///     o.insert("label".into(), Data::confident("ham", 0.75));
/// }
/// let v: Verdict = from_data(&d)?;
/// assert_eq!(v, Verdict { label: Confident::new("ham".into(), 0.75), votes: 3 });
/// # Ok::<(), prism_interp::DataError>(())
/// ```
pub fn from_data<'de, T: Deserialize<'de>>(data: &'de Data) -> Result<T, Error> {
    T::deserialize(data)
}

impl de::Error for Error {
    fn custom<T: fmt::Display>(msg: T) -> Self {
        Error(msg.to_string())
    }
}

fn visit_number<'de, V: Visitor<'de>>(n: f64, v: V) -> Result<V::Value, Error> {
    if n.is_finite() && n.fract() == 0.0 && n.abs() < 9.007_199_254_740_992e15 {
        if n >= 0.0 {
            v.visit_u64(n as u64)
        } else {
            v.visit_i64(n as i64)
        }
    } else {
        v.visit_f64(n)
    }
}

impl<'de> Deserializer<'de> for &'de Data {
    type Error = Error;

    fn deserialize_any<V: Visitor<'de>>(self, v: V) -> Result<V::Value, Error> {
        match self {
            Data::Null => v.visit_unit(),
            Data::Bool(b) => v.visit_bool(*b),
            Data::Number(n) => visit_number(*n, v),
            Data::String(s) => v.visit_borrowed_str(s),
            Data::Array(items) => v.visit_seq(Items(items.iter())),
            Data::Object(o) => v.visit_map(Props {
                iter: o.iter(),
                value: None,
            }),
            Data::Confident(inner, _) => inner.deserialize_any(v),
        }
    }

    fn deserialize_f32<V: Visitor<'de>>(self, v: V) -> Result<V::Value, Error> {
        self.deserialize_f64(v)
    }

    fn deserialize_f64<V: Visitor<'de>>(self, v: V) -> Result<V::Value, Error> {
        match self.inner() {
            Data::Number(n) => v.visit_f64(*n),
            other => other.deserialize_any(v),
        }
    }

    fn deserialize_option<V: Visitor<'de>>(self, v: V) -> Result<V::Value, Error> {
        match self.inner() {
            Data::Null => v.visit_none(),
            _ => v.visit_some(self),
        }
    }

    fn deserialize_newtype_struct<V: Visitor<'de>>(
        self,
        name: &'static str,
        v: V,
    ) -> Result<V::Value, Error> {
        if name == DATA_TOKEN {
            return match self {
                Data::Confident(inner, c) => {
                    v.visit_map(Pair::new((MARK_VALUE, MARK_CONFIDENCE), inner, *c))
                }
                other => other.deserialize_any(v),
            };
        }
        v.visit_newtype_struct(self)
    }

    fn deserialize_struct<V: Visitor<'de>>(
        self,
        name: &'static str,
        _fields: &'static [&'static str],
        v: V,
    ) -> Result<V::Value, Error> {
        if name == CONFIDENT_TOKEN {
            let (inner, c) = match self {
                Data::Confident(inner, c) => (&**inner, *c),
                plain => (plain, 1.0),
            };
            return v.visit_map(Pair::new((VALUE_FIELD, CONFIDENCE_FIELD), inner, c));
        }
        self.inner().deserialize_any(v)
    }

    fn deserialize_enum<V: Visitor<'de>>(
        self,
        name: &'static str,
        _variants: &'static [&'static str],
        v: V,
    ) -> Result<V::Value, Error> {
        match self.inner() {
            Data::String(s) => v.visit_enum(Variant {
                name: s,
                content: None,
            }),
            Data::Object(o) if o.len() == 1 => match o.iter().next() {
                Some((k, content)) => v.visit_enum(Variant {
                    name: k,
                    content: Some(content),
                }),
                None => Err(Error(format!("expected a variant of {name}"))),
            },
            _ => Err(Error(format!(
                "expected a variant of {name}: a string or an object with one key"
            ))),
        }
    }

    serde::forward_to_deserialize_any! {
        bool i8 i16 i32 i64 i128 u8 u16 u32 u64 u128 char str string bytes byte_buf unit
        unit_struct seq tuple tuple_struct map identifier ignored_any
    }
}

struct Items<'de>(std::slice::Iter<'de, Data>);

impl<'de> SeqAccess<'de> for Items<'de> {
    type Error = Error;

    fn next_element_seed<T: DeserializeSeed<'de>>(
        &mut self,
        seed: T,
    ) -> Result<Option<T::Value>, Error> {
        self.0.next().map(|x| seed.deserialize(x)).transpose()
    }

    fn size_hint(&self) -> Option<usize> {
        Some(self.0.len())
    }
}

struct Props<'de> {
    iter: MapIter<'de, String, Data>,
    value: Option<&'de Data>,
}

impl<'de> MapAccess<'de> for Props<'de> {
    type Error = Error;

    fn next_key_seed<K: DeserializeSeed<'de>>(
        &mut self,
        seed: K,
    ) -> Result<Option<K::Value>, Error> {
        match self.iter.next() {
            Some((k, v)) => {
                self.value = Some(v);
                seed.deserialize(BorrowedStrDeserializer::new(k)).map(Some)
            }
            None => Ok(None),
        }
    }

    fn next_value_seed<S: DeserializeSeed<'de>>(&mut self, seed: S) -> Result<S::Value, Error> {
        match self.value.take() {
            Some(v) => seed.deserialize(v),
            None => Err(Error("a value without a key".into())),
        }
    }

    fn size_hint(&self) -> Option<usize> {
        Some(self.iter.len())
    }
}

/// A confident value as a two-entry map: value, then confidence.
struct Pair<'de> {
    keys: (&'static str, &'static str),
    value: &'de Data,
    confidence: f64,
    state: u8,
}

impl<'de> Pair<'de> {
    fn new(keys: (&'static str, &'static str), value: &'de Data, confidence: f64) -> Self {
        Pair {
            keys,
            value,
            confidence,
            state: 0,
        }
    }
}

impl<'de> MapAccess<'de> for Pair<'de> {
    type Error = Error;

    fn next_key_seed<K: DeserializeSeed<'de>>(
        &mut self,
        seed: K,
    ) -> Result<Option<K::Value>, Error> {
        let key = match self.state {
            0 => self.keys.0,
            1 => self.keys.1,
            _ => return Ok(None),
        };
        seed.deserialize(BorrowedStrDeserializer::new(key))
            .map(Some)
    }

    fn next_value_seed<S: DeserializeSeed<'de>>(&mut self, seed: S) -> Result<S::Value, Error> {
        self.state += 1;
        match self.state {
            1 => seed.deserialize(self.value),
            _ => seed.deserialize(F64Deserializer::<Error>::new(self.confidence)),
        }
    }
}

struct Variant<'de> {
    name: &'de str,
    content: Option<&'de Data>,
}

impl<'de> EnumAccess<'de> for Variant<'de> {
    type Error = Error;
    type Variant = Self;

    fn variant_seed<S: DeserializeSeed<'de>>(self, seed: S) -> Result<(S::Value, Self), Error> {
        let v = seed.deserialize(self.name.into_deserializer())?;
        Ok((v, self))
    }
}

impl<'de> VariantAccess<'de> for Variant<'de> {
    type Error = Error;

    fn unit_variant(self) -> Result<(), Error> {
        match self.content {
            None | Some(Data::Null) => Ok(()),
            Some(_) => Err(Error(format!("variant {} takes no content", self.name))),
        }
    }

    fn newtype_variant_seed<S: DeserializeSeed<'de>>(self, seed: S) -> Result<S::Value, Error> {
        match self.content {
            Some(c) => seed.deserialize(c),
            None => Err(Error(format!("variant {} needs content", self.name))),
        }
    }

    fn tuple_variant<V: Visitor<'de>>(self, _len: usize, v: V) -> Result<V::Value, Error> {
        match self.content {
            Some(c) => c.inner().deserialize_any(v),
            None => Err(Error(format!("variant {} needs content", self.name))),
        }
    }

    fn struct_variant<V: Visitor<'de>>(
        self,
        _fields: &'static [&'static str],
        v: V,
    ) -> Result<V::Value, Error> {
        self.tuple_variant(0, v)
    }
}

impl<'de> Deserialize<'de> for Data {
    /// Through [`from_data`] a [`Data`] keeps its confidences at any depth; from other formats
    /// it reads the format's plain data.
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Data, D::Error> {
        d.deserialize_newtype_struct(DATA_TOKEN, DataVisitor)
    }
}

struct DataVisitor;

impl<'de> Visitor<'de> for DataVisitor {
    type Value = Data;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("any Prism value")
    }
    fn visit_bool<E: de::Error>(self, b: bool) -> Result<Data, E> {
        Ok(Data::Bool(b))
    }
    fn visit_i64<E: de::Error>(self, n: i64) -> Result<Data, E> {
        Ok(Data::Number(n as f64))
    }
    fn visit_u64<E: de::Error>(self, n: u64) -> Result<Data, E> {
        Ok(Data::Number(n as f64))
    }
    fn visit_f64<E: de::Error>(self, n: f64) -> Result<Data, E> {
        Ok(Data::Number(n))
    }
    fn visit_str<E: de::Error>(self, s: &str) -> Result<Data, E> {
        Ok(Data::String(s.to_owned()))
    }
    fn visit_string<E: de::Error>(self, s: String) -> Result<Data, E> {
        Ok(Data::String(s))
    }
    fn visit_unit<E: de::Error>(self) -> Result<Data, E> {
        Ok(Data::Null)
    }
    fn visit_none<E: de::Error>(self) -> Result<Data, E> {
        Ok(Data::Null)
    }
    fn visit_some<D: Deserializer<'de>>(self, d: D) -> Result<Data, D::Error> {
        Data::deserialize(d)
    }
    fn visit_newtype_struct<D: Deserializer<'de>>(self, d: D) -> Result<Data, D::Error> {
        d.deserialize_any(DataVisitor)
    }
    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Data, A::Error> {
        let mut items = Vec::with_capacity(seq.size_hint().unwrap_or(0).min(4096));
        while let Some(x) = seq.next_element::<Data>()? {
            items.push(x);
        }
        Ok(Data::Array(items))
    }
    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Data, A::Error> {
        let Some(first) = map.next_key::<String>()? else {
            return Ok(Data::Object(Default::default()));
        };
        if first == MARK_VALUE {
            let value: Data = map.next_value()?;
            let confidence = match map.next_key::<String>()? {
                Some(k) if k == MARK_CONFIDENCE => map.next_value::<f64>()?,
                _ => return Err(de::Error::missing_field(MARK_CONFIDENCE)),
            };
            return Ok(Data::Confident(Box::new(value), confidence));
        }
        let mut o = indexmap::IndexMap::with_capacity(map.size_hint().unwrap_or(0).min(4096));
        o.insert(first, map.next_value::<Data>()?);
        while let Some((k, v)) = map.next_entry::<String, Data>()? {
            o.insert(k, v);
        }
        Ok(Data::Object(o))
    }
}

#[cfg(test)]
mod tests {
    use super::super::*;
    use crate::{Confident, to_data};
    use serde::{Deserialize, Serialize};

    #[derive(Debug, PartialEq, Serialize, Deserialize)]
    enum Shape {
        Dot,
        Circle(f64),
        Rect { w: u32, h: u32 },
        Pair(i8, i8),
    }

    #[derive(Debug, PartialEq, Serialize, Deserialize)]
    struct Everything {
        name: String,
        count: u8,
        ratio: f32,
        tags: Vec<String>,
        maybe: Option<i64>,
        missing: Option<bool>,
        shapes: Vec<Shape>,
        score: Confident<f64>,
        nested: Confident<Confident<String>>,
        raw: Data,
        unit: (),
    }

    #[test]
    fn every_serde_shape_round_trips() {
        let e = Everything {
            name: "n".into(),
            count: 200,
            ratio: 0.5,
            tags: vec!["a".into(), "b".into()],
            maybe: Some(-3),
            missing: None,
            shapes: vec![
                Shape::Dot,
                Shape::Circle(2.5),
                Shape::Rect { w: 1, h: 2 },
                Shape::Pair(-1, 1),
            ],
            score: Confident::new(0.25, 0.5),
            nested: Confident::new(Confident::new("x".into(), 0.2), 0.7),
            raw: Data::Array(vec![Data::confident(Data::confident(1.0, 0.1), 0.3)]),
            unit: (),
        };
        let d = to_data(&e).expect("serializes");
        let back: Everything = from_data(&d).expect("deserializes");
        assert_eq!(back, e);
    }

    #[test]
    fn confidences_are_looked_through_or_read() {
        let d = Data::confident(Data::Number(5.0), 0.4);
        assert_eq!(from_data::<u32>(&d).ok(), Some(5));
        assert_eq!(
            from_data::<Confident<u32>>(&d).ok(),
            Some(Confident::new(5, 0.4))
        );
        assert_eq!(
            from_data::<Confident<u32>>(&Data::Number(5.0)).ok(),
            Some(Confident::new(5, 1.0)),
            "a plain value is certain"
        );
        assert_eq!(
            from_data::<Option<u32>>(&Data::confident(Data::Null, 0.5)).ok(),
            Some(None)
        );
    }

    #[test]
    fn mismatches_are_conversion_errors() {
        let d = Data::Number(300.0);
        assert!(from_data::<u8>(&d).is_err());
        assert!(from_data::<String>(&d).is_err());
        assert!(from_data::<u32>(&Data::Number(1.5)).is_err());
        let missing = Data::from(serde_json::json!({"w": 1}));
        let e = from_data::<Shape>(&Data::Object(
            [("Rect".to_string(), missing)].into_iter().collect(),
        ));
        assert!(matches!(e, Err(crate::DataError(m)) if m.contains("`h`")));
        assert!(from_data::<Shape>(&Data::from("Hexagon")).is_err());
    }

    #[test]
    fn data_reads_from_json_without_confidences() {
        let d: Option<Data> =
            serde_json::from_str(r#"{"a": [1, {"value": 2, "confidence": 0.5}]}"#).ok();
        assert_eq!(
            d.and_then(|d| d.get("a").cloned()),
            Some(Data::from(
                serde_json::json!([1, {"value": 2, "confidence": 0.5}])
            ))
        );
    }
}
