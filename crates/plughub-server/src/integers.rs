//! Integers in requests as JSON Schema reads them, which is how the document says them: `5.0` is the
//! integer 5, in a JSON body and in a query string alike. Anything integral within the type's range is
//! taken; a fraction, a number out of range, or (in a body) a string, is refused as not of the type.

use serde::de::{self, Deserializer, Visitor};
use std::fmt;
use std::marker::PhantomData;

/// For an optional integer field of a JSON body: `#[serde(default, deserialize_with = "…::optional")]`.
pub fn optional<'de, D, T>(deserializer: D) -> Result<Option<T>, D::Error>
where
    D: Deserializer<'de>,
    T: TryFrom<i128>,
{
    deserializer.deserialize_option(Optional::<T, false>(PhantomData))
}

/// For an integer field of a JSON body: `#[serde(default, deserialize_with = "…::required")]`.
pub fn required<'de, D, T>(deserializer: D) -> Result<T, D::Error>
where
    D: Deserializer<'de>,
    T: TryFrom<i128>,
{
    deserializer.deserialize_any(Integer::<T, false>(PhantomData))
}

/// For an optional integer query parameter, which comes as text.
pub fn optional_in_query<'de, D, T>(deserializer: D) -> Result<Option<T>, D::Error>
where
    D: Deserializer<'de>,
    T: TryFrom<i128>,
{
    deserializer.deserialize_option(Optional::<T, true>(PhantomData))
}

/// `TEXT`: the number comes written as text (a query string), not as a JSON number.
struct Optional<T, const TEXT: bool>(PhantomData<T>);

impl<'de, T: TryFrom<i128>, const TEXT: bool> Visitor<'de> for Optional<T, TEXT> {
    type Value = Option<T>;

    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("an integer or null")
    }

    fn visit_none<E: de::Error>(self) -> Result<Option<T>, E> {
        Ok(None)
    }

    fn visit_unit<E: de::Error>(self) -> Result<Option<T>, E> {
        Ok(None)
    }

    fn visit_some<D: Deserializer<'de>>(self, deserializer: D) -> Result<Option<T>, D::Error> {
        deserializer
            .deserialize_any(Integer::<T, TEXT>(PhantomData))
            .map(Some)
    }
}

struct Integer<T, const TEXT: bool>(PhantomData<T>);

impl<T: TryFrom<i128>, const TEXT: bool> Integer<T, TEXT> {
    fn fit<E: de::Error>(n: i128) -> Result<T, E> {
        T::try_from(n).map_err(|_| E::custom(format!("{n} is out of range for this integer")))
    }
}

impl<'de, T: TryFrom<i128>, const TEXT: bool> Visitor<'de> for Integer<T, TEXT> {
    type Value = T;

    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("an integer")
    }

    fn visit_i64<E: de::Error>(self, n: i64) -> Result<T, E> {
        Self::fit(n.into())
    }

    fn visit_u64<E: de::Error>(self, n: u64) -> Result<T, E> {
        Self::fit(n.into())
    }

    fn visit_f64<E: de::Error>(self, n: f64) -> Result<T, E> {
        // Integral and within i128 (which holds every range here), else not an integer of the type.
        if n.is_finite() && n.fract() == 0.0 && n.abs() < 1e38 {
            Self::fit(n as i128)
        } else {
            Err(E::invalid_type(de::Unexpected::Float(n), &self))
        }
    }

    /// Query strings hold text; in JSON, a string is not a number.
    fn visit_str<E: de::Error>(self, text: &str) -> Result<T, E> {
        if !TEXT {
            return Err(E::invalid_type(de::Unexpected::Str(text), &self));
        }
        match text.parse::<i128>() {
            Ok(n) => Self::fit(n),
            Err(_) => match text.parse::<f64>() {
                Ok(n)
                    if !text.trim().is_empty()
                        && text
                            .bytes()
                            .all(|b| b.is_ascii_digit() || b".-+eE".contains(&b)) =>
                {
                    self.visit_f64(n)
                }
                _ => Err(E::invalid_type(de::Unexpected::Str(text), &self)),
            },
        }
    }
}

#[cfg(test)]
mod tests {
    use serde::Deserialize;

    #[derive(Debug, Deserialize, PartialEq)]
    struct Body {
        #[serde(default, deserialize_with = "super::optional")]
        n: Option<u32>,
        #[serde(default, deserialize_with = "super::required")]
        p: i64,
    }

    #[derive(Debug, Deserialize, PartialEq)]
    struct Query {
        #[serde(default, deserialize_with = "super::optional_in_query")]
        n: Option<u32>,
    }

    fn body(text: &str) -> Result<Body, String> {
        serde_json::from_str(text).map_err(|e| e.to_string())
    }

    fn query(text: &str) -> Result<Query, String> {
        serde_urlencoded::from_str(text).map_err(|e| e.to_string())
    }

    #[test]
    fn integral_numbers_are_integers_and_the_rest_is_refused() {
        assert_eq!(body(r#"{"n": 5, "p": -3}"#), Ok(Body { n: Some(5), p: -3 }));
        assert_eq!(
            body(r#"{"n": 5.0, "p": -3.0}"#),
            Ok(Body { n: Some(5), p: -3 })
        );
        assert_eq!(body(r#"{"n": null}"#), Ok(Body { n: None, p: 0 }));
        assert_eq!(body("{}"), Ok(Body { n: None, p: 0 }));
        for bad in [
            r#"{"n": 5.5}"#,
            r#"{"n": -1}"#,
            r#"{"n": 4294967296}"#,
            r#"{"n": "5"}"#,
            r#"{"p": 1e300}"#,
            r#"{"p": 9223372036854775808}"#,
            r#"{"p": null}"#,
        ] {
            assert!(body(bad).is_err(), "{bad}");
        }
        assert_eq!(query("n=7"), Ok(Query { n: Some(7) }));
        assert_eq!(query("n=2.0"), Ok(Query { n: Some(2) }));
        assert_eq!(query(""), Ok(Query { n: None }));
        for bad in ["n=", "n=x", "n=1.5", "n=-1", "n=inf", "n=NaN"] {
            assert!(query(bad).is_err(), "{bad}");
        }
    }
}
