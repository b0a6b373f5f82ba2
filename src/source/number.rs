//! Numbers as provider APIs send them: JSON numbers, or the same digits inside a string (Kimi's
//! counters, DeepSeek's balances). A number in a string is still a number; `null`, a missing
//! field or an empty string is no number; anything else is a malformed answer.

use std::fmt;

use serde::Deserializer;
use serde::de::{self, Visitor};

/// For `#[serde(default, deserialize_with = "number::optional")]` on an `Option<f64>` field.
pub fn optional<'de, D: Deserializer<'de>>(deserializer: D) -> Result<Option<f64>, D::Error> {
    deserializer.deserialize_any(Lenient)
}

struct Lenient;

impl<'de> Visitor<'de> for Lenient {
    type Value = Option<f64>;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a number, a number in a string, or null")
    }

    fn visit_unit<E: de::Error>(self) -> Result<Self::Value, E> {
        Ok(None)
    }

    fn visit_none<E: de::Error>(self) -> Result<Self::Value, E> {
        Ok(None)
    }

    fn visit_some<D: Deserializer<'de>>(self, d: D) -> Result<Self::Value, D::Error> {
        d.deserialize_any(Lenient)
    }

    fn visit_i64<E: de::Error>(self, v: i64) -> Result<Self::Value, E> {
        Ok(Some(v as f64))
    }

    fn visit_u64<E: de::Error>(self, v: u64) -> Result<Self::Value, E> {
        Ok(Some(v as f64))
    }

    fn visit_f64<E: de::Error>(self, v: f64) -> Result<Self::Value, E> {
        Ok(Some(v))
    }

    fn visit_str<E: de::Error>(self, v: &str) -> Result<Self::Value, E> {
        let text = v.trim();
        if text.is_empty() {
            return Ok(None);
        }
        text.parse::<f64>()
            .ok()
            .filter(|n| n.is_finite())
            .map(Some)
            .ok_or_else(|| E::invalid_value(de::Unexpected::Str(v), &self))
    }
}

#[cfg(test)]
mod tests {
    use serde::Deserialize;

    #[derive(Deserialize)]
    struct Probe {
        #[serde(default, deserialize_with = "super::optional")]
        n: Option<f64>,
    }

    fn n(json: &str) -> Result<Option<f64>, String> {
        serde_json::from_str::<Probe>(json)
            .map(|p| p.n)
            .map_err(|e| e.to_string())
    }

    #[test]
    fn numbers_strings_and_nothing() {
        assert_eq!(n(r#"{"n": 12}"#), Ok(Some(12.0)));
        assert_eq!(n(r#"{"n": -3.5}"#), Ok(Some(-3.5)));
        assert_eq!(n(r#"{"n": " 110.00 "}"#), Ok(Some(110.0)));
        assert_eq!(n(r#"{"n": null}"#), Ok(None));
        assert_eq!(n(r#"{"n": ""}"#), Ok(None));
        assert_eq!(n("{}"), Ok(None));
        assert!(n(r#"{"n": "ninety"}"#).unwrap_err().contains("ninety"));
        assert!(n(r#"{"n": "NaN"}"#).is_err());
        assert!(n(r#"{"n": true}"#).is_err());
        assert!(n(r#"{"n": [1]}"#).is_err());
    }
}
