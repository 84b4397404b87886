//! Any `Serialize` type as [`Data`]: structs and maps become objects, sequences and tuples
//! arrays, unit variants strings, other enum variants `{variant: content}` (serde's external
//! tagging, as in JSON), and [`Confident`](super::Confident) a confident value.

use indexmap::IndexMap;
use serde::ser::{self, Impossible, Serialize};

use super::Data;
use super::DataError as Error;
use super::confident::{CONFIDENCE_FIELD, CONFIDENT_TOKEN, VALUE_FIELD};

/// Converts any `Serialize` value into [`Data`]. Integers become numbers (exactly up to
/// 2⁵³); map keys must be strings, numbers, booleans or chars.
///
/// ```
/// use prism_interp::{Confident, Data, to_data};
///
/// #[derive(serde::Serialize)]
/// struct Reading { sensor: String, celsius: Confident<f64> }
///
/// let d = to_data(&Reading { sensor: "t1".into(), celsius: Confident::new(21.5, 0.9) })?;
/// assert_eq!(d.get("celsius"), Some(&Data::confident(21.5, 0.9)));
/// assert_eq!(d.get("sensor").and_then(Data::as_str), Some("t1"));
/// # Ok::<(), prism_interp::DataError>(())
/// ```
pub fn to_data<T: Serialize + ?Sized>(value: &T) -> Result<Data, Error> {
    value.serialize(DataSerializer)
}

impl ser::Error for Error {
    fn custom<T: std::fmt::Display>(msg: T) -> Self {
        Error(msg.to_string())
    }
}

/// The serializer behind [`to_data`].
pub(crate) struct DataSerializer;

fn tagged(variant: &str, content: Data) -> Data {
    let mut m = IndexMap::with_capacity(1);
    m.insert(variant.to_owned(), content);
    Data::Object(m)
}

impl ser::Serializer for DataSerializer {
    type Ok = Data;
    type Error = Error;
    type SerializeSeq = SeqBuilder;
    type SerializeTuple = SeqBuilder;
    type SerializeTupleStruct = SeqBuilder;
    type SerializeTupleVariant = SeqBuilder;
    type SerializeMap = MapBuilder;
    type SerializeStruct = StructBuilder;
    type SerializeStructVariant = MapBuilder;

    fn serialize_bool(self, v: bool) -> Result<Data, Error> {
        Ok(Data::Bool(v))
    }
    fn serialize_i8(self, v: i8) -> Result<Data, Error> {
        Ok(Data::Number(f64::from(v)))
    }
    fn serialize_i16(self, v: i16) -> Result<Data, Error> {
        Ok(Data::Number(f64::from(v)))
    }
    fn serialize_i32(self, v: i32) -> Result<Data, Error> {
        Ok(Data::Number(f64::from(v)))
    }
    fn serialize_i64(self, v: i64) -> Result<Data, Error> {
        Ok(Data::Number(v as f64))
    }
    fn serialize_i128(self, v: i128) -> Result<Data, Error> {
        Ok(Data::Number(v as f64))
    }
    fn serialize_u8(self, v: u8) -> Result<Data, Error> {
        Ok(Data::Number(f64::from(v)))
    }
    fn serialize_u16(self, v: u16) -> Result<Data, Error> {
        Ok(Data::Number(f64::from(v)))
    }
    fn serialize_u32(self, v: u32) -> Result<Data, Error> {
        Ok(Data::Number(f64::from(v)))
    }
    fn serialize_u64(self, v: u64) -> Result<Data, Error> {
        Ok(Data::Number(v as f64))
    }
    fn serialize_u128(self, v: u128) -> Result<Data, Error> {
        Ok(Data::Number(v as f64))
    }
    fn serialize_f32(self, v: f32) -> Result<Data, Error> {
        Ok(Data::Number(f64::from(v)))
    }
    fn serialize_f64(self, v: f64) -> Result<Data, Error> {
        Ok(Data::Number(v))
    }
    fn serialize_char(self, v: char) -> Result<Data, Error> {
        Ok(Data::String(v.to_string()))
    }
    fn serialize_str(self, v: &str) -> Result<Data, Error> {
        Ok(Data::String(v.to_owned()))
    }
    fn serialize_bytes(self, v: &[u8]) -> Result<Data, Error> {
        Ok(Data::Array(
            v.iter().map(|b| Data::Number(f64::from(*b))).collect(),
        ))
    }
    fn serialize_none(self) -> Result<Data, Error> {
        Ok(Data::Null)
    }
    fn serialize_some<T: Serialize + ?Sized>(self, value: &T) -> Result<Data, Error> {
        value.serialize(self)
    }
    fn serialize_unit(self) -> Result<Data, Error> {
        Ok(Data::Null)
    }
    fn serialize_unit_struct(self, _name: &'static str) -> Result<Data, Error> {
        Ok(Data::Null)
    }
    fn serialize_unit_variant(
        self,
        _name: &'static str,
        _index: u32,
        variant: &'static str,
    ) -> Result<Data, Error> {
        Ok(Data::String(variant.to_owned()))
    }
    fn serialize_newtype_struct<T: Serialize + ?Sized>(
        self,
        _name: &'static str,
        value: &T,
    ) -> Result<Data, Error> {
        value.serialize(self)
    }
    fn serialize_newtype_variant<T: Serialize + ?Sized>(
        self,
        _name: &'static str,
        _index: u32,
        variant: &'static str,
        value: &T,
    ) -> Result<Data, Error> {
        Ok(tagged(variant, value.serialize(self)?))
    }
    fn serialize_seq(self, len: Option<usize>) -> Result<SeqBuilder, Error> {
        Ok(SeqBuilder {
            items: Vec::with_capacity(len.unwrap_or(0).min(4096)),
            variant: None,
        })
    }
    fn serialize_tuple(self, len: usize) -> Result<SeqBuilder, Error> {
        self.serialize_seq(Some(len))
    }
    fn serialize_tuple_struct(self, _name: &'static str, len: usize) -> Result<SeqBuilder, Error> {
        self.serialize_seq(Some(len))
    }
    fn serialize_tuple_variant(
        self,
        _name: &'static str,
        _index: u32,
        variant: &'static str,
        len: usize,
    ) -> Result<SeqBuilder, Error> {
        let mut b = self.serialize_seq(Some(len))?;
        b.variant = Some(variant);
        Ok(b)
    }
    fn serialize_map(self, _len: Option<usize>) -> Result<MapBuilder, Error> {
        Ok(MapBuilder {
            map: IndexMap::new(),
            key: None,
            variant: None,
        })
    }
    fn serialize_struct(self, name: &'static str, _len: usize) -> Result<StructBuilder, Error> {
        Ok(if name == CONFIDENT_TOKEN {
            StructBuilder::Confident {
                value: None,
                confidence: None,
            }
        } else {
            StructBuilder::Object(IndexMap::new())
        })
    }
    fn serialize_struct_variant(
        self,
        _name: &'static str,
        _index: u32,
        variant: &'static str,
        _len: usize,
    ) -> Result<MapBuilder, Error> {
        Ok(MapBuilder {
            map: IndexMap::new(),
            key: None,
            variant: Some(variant),
        })
    }
}

/// Builds arrays (and the content of tuple variants).
pub(crate) struct SeqBuilder {
    items: Vec<Data>,
    variant: Option<&'static str>,
}

impl SeqBuilder {
    fn push<T: Serialize + ?Sized>(&mut self, value: &T) -> Result<(), Error> {
        self.items.push(value.serialize(DataSerializer)?);
        Ok(())
    }

    fn finish(self) -> Data {
        match self.variant {
            Some(v) => tagged(v, Data::Array(self.items)),
            None => Data::Array(self.items),
        }
    }
}

impl ser::SerializeSeq for SeqBuilder {
    type Ok = Data;
    type Error = Error;
    fn serialize_element<T: Serialize + ?Sized>(&mut self, value: &T) -> Result<(), Error> {
        self.push(value)
    }
    fn end(self) -> Result<Data, Error> {
        Ok(self.finish())
    }
}

impl ser::SerializeTuple for SeqBuilder {
    type Ok = Data;
    type Error = Error;
    fn serialize_element<T: Serialize + ?Sized>(&mut self, value: &T) -> Result<(), Error> {
        self.push(value)
    }
    fn end(self) -> Result<Data, Error> {
        Ok(self.finish())
    }
}

impl ser::SerializeTupleStruct for SeqBuilder {
    type Ok = Data;
    type Error = Error;
    fn serialize_field<T: Serialize + ?Sized>(&mut self, value: &T) -> Result<(), Error> {
        self.push(value)
    }
    fn end(self) -> Result<Data, Error> {
        Ok(self.finish())
    }
}

impl ser::SerializeTupleVariant for SeqBuilder {
    type Ok = Data;
    type Error = Error;
    fn serialize_field<T: Serialize + ?Sized>(&mut self, value: &T) -> Result<(), Error> {
        self.push(value)
    }
    fn end(self) -> Result<Data, Error> {
        Ok(self.finish())
    }
}

/// Builds objects from maps and struct variants.
pub(crate) struct MapBuilder {
    map: IndexMap<String, Data>,
    key: Option<String>,
    variant: Option<&'static str>,
}

impl MapBuilder {
    fn finish(self) -> Data {
        match self.variant {
            Some(v) => tagged(v, Data::Object(self.map)),
            None => Data::Object(self.map),
        }
    }
}

impl ser::SerializeMap for MapBuilder {
    type Ok = Data;
    type Error = Error;
    fn serialize_key<T: Serialize + ?Sized>(&mut self, key: &T) -> Result<(), Error> {
        self.key = Some(key.serialize(KeySerializer)?);
        Ok(())
    }
    fn serialize_value<T: Serialize + ?Sized>(&mut self, value: &T) -> Result<(), Error> {
        let key = self
            .key
            .take()
            .ok_or_else(|| Error("a map value without a key".into()))?;
        self.map.insert(key, value.serialize(DataSerializer)?);
        Ok(())
    }
    fn end(self) -> Result<Data, Error> {
        Ok(self.finish())
    }
}

impl ser::SerializeStructVariant for MapBuilder {
    type Ok = Data;
    type Error = Error;
    fn serialize_field<T: Serialize + ?Sized>(
        &mut self,
        key: &'static str,
        value: &T,
    ) -> Result<(), Error> {
        self.map
            .insert(key.to_owned(), value.serialize(DataSerializer)?);
        Ok(())
    }
    fn end(self) -> Result<Data, Error> {
        Ok(self.finish())
    }
}

/// Builds objects from structs, and confident values from [`Confident`](super::Confident).
pub(crate) enum StructBuilder {
    Object(IndexMap<String, Data>),
    Confident {
        value: Option<Data>,
        confidence: Option<f64>,
    },
}

impl ser::SerializeStruct for StructBuilder {
    type Ok = Data;
    type Error = Error;
    fn serialize_field<T: Serialize + ?Sized>(
        &mut self,
        key: &'static str,
        value: &T,
    ) -> Result<(), Error> {
        match self {
            StructBuilder::Object(m) => {
                m.insert(key.to_owned(), value.serialize(DataSerializer)?);
            }
            StructBuilder::Confident {
                value: v,
                confidence,
            } => {
                let d = value.serialize(DataSerializer)?;
                if key == VALUE_FIELD {
                    *v = Some(d);
                } else if key == CONFIDENCE_FIELD {
                    *confidence = Some(
                        d.as_f64()
                            .ok_or_else(|| Error("a confidence must be a number".into()))?,
                    );
                }
            }
        }
        Ok(())
    }
    fn end(self) -> Result<Data, Error> {
        match self {
            StructBuilder::Object(m) => Ok(Data::Object(m)),
            StructBuilder::Confident {
                value: Some(v),
                confidence: Some(c),
            } => Ok(Data::Confident(Box::new(v), c)),
            StructBuilder::Confident { .. } => Err(Error(
                "a confident value needs a value and a confidence".into(),
            )),
        }
    }
}

/// Object keys: strings, and numbers, booleans and chars as their text.
struct KeySerializer;

fn bad_key() -> Error {
    Error("object keys must be strings, numbers, booleans or chars".into())
}

impl ser::Serializer for KeySerializer {
    type Ok = String;
    type Error = Error;
    type SerializeSeq = Impossible<String, Error>;
    type SerializeTuple = Impossible<String, Error>;
    type SerializeTupleStruct = Impossible<String, Error>;
    type SerializeTupleVariant = Impossible<String, Error>;
    type SerializeMap = Impossible<String, Error>;
    type SerializeStruct = Impossible<String, Error>;
    type SerializeStructVariant = Impossible<String, Error>;

    fn serialize_bool(self, v: bool) -> Result<String, Error> {
        Ok(v.to_string())
    }
    fn serialize_i8(self, v: i8) -> Result<String, Error> {
        Ok(v.to_string())
    }
    fn serialize_i16(self, v: i16) -> Result<String, Error> {
        Ok(v.to_string())
    }
    fn serialize_i32(self, v: i32) -> Result<String, Error> {
        Ok(v.to_string())
    }
    fn serialize_i64(self, v: i64) -> Result<String, Error> {
        Ok(v.to_string())
    }
    fn serialize_u8(self, v: u8) -> Result<String, Error> {
        Ok(v.to_string())
    }
    fn serialize_u16(self, v: u16) -> Result<String, Error> {
        Ok(v.to_string())
    }
    fn serialize_u32(self, v: u32) -> Result<String, Error> {
        Ok(v.to_string())
    }
    fn serialize_u64(self, v: u64) -> Result<String, Error> {
        Ok(v.to_string())
    }
    fn serialize_f32(self, v: f32) -> Result<String, Error> {
        Ok(crate::format::number(f64::from(v)))
    }
    fn serialize_f64(self, v: f64) -> Result<String, Error> {
        Ok(crate::format::number(v))
    }
    fn serialize_char(self, v: char) -> Result<String, Error> {
        Ok(v.to_string())
    }
    fn serialize_str(self, v: &str) -> Result<String, Error> {
        Ok(v.to_owned())
    }
    fn serialize_bytes(self, _v: &[u8]) -> Result<String, Error> {
        Err(bad_key())
    }
    fn serialize_none(self) -> Result<String, Error> {
        Err(bad_key())
    }
    fn serialize_some<T: Serialize + ?Sized>(self, value: &T) -> Result<String, Error> {
        value.serialize(self)
    }
    fn serialize_unit(self) -> Result<String, Error> {
        Err(bad_key())
    }
    fn serialize_unit_struct(self, _name: &'static str) -> Result<String, Error> {
        Err(bad_key())
    }
    fn serialize_unit_variant(
        self,
        _name: &'static str,
        _index: u32,
        variant: &'static str,
    ) -> Result<String, Error> {
        Ok(variant.to_owned())
    }
    fn serialize_newtype_struct<T: Serialize + ?Sized>(
        self,
        _name: &'static str,
        value: &T,
    ) -> Result<String, Error> {
        value.serialize(self)
    }
    fn serialize_newtype_variant<T: Serialize + ?Sized>(
        self,
        _name: &'static str,
        _index: u32,
        _variant: &'static str,
        _value: &T,
    ) -> Result<String, Error> {
        Err(bad_key())
    }
    fn serialize_seq(self, _len: Option<usize>) -> Result<Self::SerializeSeq, Error> {
        Err(bad_key())
    }
    fn serialize_tuple(self, _len: usize) -> Result<Self::SerializeTuple, Error> {
        Err(bad_key())
    }
    fn serialize_tuple_struct(
        self,
        _name: &'static str,
        _len: usize,
    ) -> Result<Self::SerializeTupleStruct, Error> {
        Err(bad_key())
    }
    fn serialize_tuple_variant(
        self,
        _name: &'static str,
        _index: u32,
        _variant: &'static str,
        _len: usize,
    ) -> Result<Self::SerializeTupleVariant, Error> {
        Err(bad_key())
    }
    fn serialize_map(self, _len: Option<usize>) -> Result<Self::SerializeMap, Error> {
        Err(bad_key())
    }
    fn serialize_struct(
        self,
        _name: &'static str,
        _len: usize,
    ) -> Result<Self::SerializeStruct, Error> {
        Err(bad_key())
    }
    fn serialize_struct_variant(
        self,
        _name: &'static str,
        _index: u32,
        _variant: &'static str,
        _len: usize,
    ) -> Result<Self::SerializeStructVariant, Error> {
        Err(bad_key())
    }
}

impl Serialize for Data {
    /// Confident values serialize as [`Confident`](super::Confident) does: back into a
    /// confident value through [`to_data`], as `{"value": …, "confidence": …}` in JSON.
    fn serialize<S: ser::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        use ser::{SerializeMap, SerializeSeq, SerializeStruct};
        match self {
            Data::Null => s.serialize_unit(),
            Data::Bool(b) => s.serialize_bool(*b),
            Data::Number(n) => {
                if n.is_finite() && n.fract() == 0.0 && n.abs() < 9.007_199_254_740_992e15 {
                    s.serialize_i64(*n as i64)
                } else {
                    s.serialize_f64(*n)
                }
            }
            Data::String(v) => s.serialize_str(v),
            Data::Array(items) => {
                let mut seq = s.serialize_seq(Some(items.len()))?;
                for x in items {
                    seq.serialize_element(x)?;
                }
                seq.end()
            }
            Data::Object(o) => {
                let mut m = s.serialize_map(Some(o.len()))?;
                for (k, v) in o {
                    m.serialize_entry(k, v)?;
                }
                m.end()
            }
            Data::Confident(v, c) => {
                let mut st = s.serialize_struct(CONFIDENT_TOKEN, 2)?;
                st.serialize_field(VALUE_FIELD, v)?;
                st.serialize_field(CONFIDENCE_FIELD, c)?;
                st.end()
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::super::*;
    use serde::Serialize;
    use std::collections::BTreeMap;

    #[derive(Serialize)]
    enum Shape {
        Dot,
        Circle(f64),
        Rect { w: u32, h: u32 },
        Pair(i8, i8),
    }

    #[test]
    fn enums_are_externally_tagged() {
        let d = to_data(&vec![
            Shape::Dot,
            Shape::Circle(1.5),
            Shape::Rect { w: 2, h: 3 },
            Shape::Pair(-1, 1),
        ]);
        assert_eq!(
            d.ok().map(|d| d.to_json()),
            Some(
                serde_json::json!(["Dot", {"Circle": 1.5}, {"Rect": {"w": 2, "h": 3}}, {"Pair": [-1, 1]}])
            )
        );
    }

    #[test]
    fn map_keys_become_strings() {
        let mut m = BTreeMap::new();
        m.insert(1u8, "a");
        m.insert(2u8, "b");
        assert_eq!(
            to_data(&m).ok().map(|d| d.to_json()),
            Some(serde_json::json!({"1": "a", "2": "b"}))
        );
        let mut bad = BTreeMap::new();
        bad.insert(vec![1], 2);
        assert!(to_data(&bad).is_err());
    }

    #[test]
    fn confident_values_nest() {
        let c = Confident::new(Confident::new("x", 0.5), 0.9);
        assert_eq!(
            to_data(&c).ok(),
            Some(Data::confident(Data::confident("x", 0.5), 0.9))
        );
        let j = serde_json::to_value(Data::confident(1.0, 0.5)).ok();
        assert_eq!(j, Some(serde_json::json!({"value": 1, "confidence": 0.5})));
    }
}
