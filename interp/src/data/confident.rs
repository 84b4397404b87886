//! [`Confident<T>`]: a Rust value with a confidence, which crosses into Prism as `value ~>
//! confidence` and back.

use std::fmt;
use std::marker::PhantomData;

use serde::de::{self, Deserialize, Deserializer, MapAccess, Visitor};
use serde::ser::{Serialize, SerializeStruct, Serializer};

/// The struct name that marks a confident value to the Prism serializer and deserializer.
pub(crate) const CONFIDENT_TOKEN: &str = "$prism::Confident";
/// The value field of a confident value.
pub(crate) const VALUE_FIELD: &str = "value";
/// The confidence field of a confident value.
pub(crate) const CONFIDENCE_FIELD: &str = "confidence";

/// A value with a confidence: `value ~> confidence` in Prism.
///
/// Passed in (as a global, an argument or a native function's result) it becomes a confident
/// Prism value; read out of a result it takes the value's confidence — a value without one
/// reads as confidence `1.0`. With other serde formats it is `{"value": …, "confidence": …}`.
///
/// ```
/// use prism_interp::{Confident, Data, from_data, to_data};
///
/// let d = to_data(&Confident::new(72.0, 0.9))?;
/// assert_eq!(d, Data::confident(72.0, 0.9));
/// let back: Confident<f64> = from_data(&d)?;
/// assert_eq!(back, Confident::new(72.0, 0.9));
/// // A value without a confidence reads as confidence 1.
/// let plain: Confident<f64> = from_data(&Data::from(3.0))?;
/// assert_eq!(plain.confidence, 1.0);
/// # Ok::<(), prism_interp::DataError>(())
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Default)]
pub struct Confident<T> {
    /// The value.
    pub value: T,
    /// The confidence, normally in [0, 1].
    pub confidence: f64,
}

impl<T> Confident<T> {
    /// `value ~> confidence`.
    ///
    /// ```
    /// use prism_interp::Confident;
    /// let c = Confident::new("cat", 0.7);
    /// assert_eq!((c.value, c.confidence), ("cat", 0.7));
    /// ```
    pub fn new(value: T, confidence: f64) -> Self {
        Confident { value, confidence }
    }

    /// The same confidence around a transformed value.
    ///
    /// ```
    /// use prism_interp::Confident;
    /// assert_eq!(Confident::new(2, 0.5).map(|x| x * 10), Confident::new(20, 0.5));
    /// ```
    pub fn map<U>(self, f: impl FnOnce(T) -> U) -> Confident<U> {
        Confident {
            value: f(self.value),
            confidence: self.confidence,
        }
    }
}

impl<T: fmt::Display> fmt::Display for Confident<T> {
    /// As Prism prints it: `value ~> 0.90`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} ~> {:.2}", self.value, self.confidence)
    }
}

impl<T: Serialize> Serialize for Confident<T> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let mut st = s.serialize_struct(CONFIDENT_TOKEN, 2)?;
        st.serialize_field(VALUE_FIELD, &self.value)?;
        st.serialize_field(CONFIDENCE_FIELD, &self.confidence)?;
        st.end()
    }
}

impl<'de, T: Deserialize<'de>> Deserialize<'de> for Confident<T> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        d.deserialize_struct(
            CONFIDENT_TOKEN,
            &[VALUE_FIELD, CONFIDENCE_FIELD],
            ConfidentVisitor(PhantomData),
        )
    }
}

struct ConfidentVisitor<T>(PhantomData<T>);

impl<'de, T: Deserialize<'de>> Visitor<'de> for ConfidentVisitor<T> {
    type Value = Confident<T>;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a confident value")
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Confident<T>, A::Error> {
        let (mut value, mut confidence) = (None, None);
        while let Some(key) = map.next_key::<String>()? {
            match key.as_str() {
                VALUE_FIELD => value = Some(map.next_value::<T>()?),
                CONFIDENCE_FIELD => confidence = Some(map.next_value::<f64>()?),
                _ => {
                    map.next_value::<de::IgnoredAny>()?;
                }
            }
        }
        Ok(Confident {
            value: value.ok_or_else(|| de::Error::missing_field(VALUE_FIELD))?,
            confidence: confidence.ok_or_else(|| de::Error::missing_field(CONFIDENCE_FIELD))?,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::super::*;

    #[test]
    fn other_formats_see_a_value_and_a_confidence() {
        let c = Confident::new(vec![1, 2], 0.25);
        let j = serde_json::to_value(c.clone()).ok();
        assert_eq!(
            j,
            Some(serde_json::json!({"value": [1, 2], "confidence": 0.25}))
        );
        let back: Option<Confident<Vec<i32>>> = j.and_then(|j| serde_json::from_value(j).ok());
        assert_eq!(back, Some(c));
        assert_eq!(Confident::new(1.5, 0.9).to_string(), "1.5 ~> 0.90");
    }
}
