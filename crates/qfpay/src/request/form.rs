//! A decoded form body with typed accessors whose errors name the parameter.

use crate::validate::{rules, InvalidField};

/// The name/value pairs of a form-urlencoded body, in the order received.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Form {
    pairs: Vec<(String, String)>,
}

impl Form {
    /// Decodes `application/x-www-form-urlencoded` bytes (invalid UTF-8 is replaced, so the
    /// signature check, not the decoder, rejects a tampered body).
    pub fn parse(body: &[u8]) -> Self {
        Form { pairs: form_urlencoded::parse(body).into_owned().collect() }
    }

    /// Builds a form from pairs (for tests and for GET query strings).
    pub fn from_pairs(pairs: Vec<(String, String)>) -> Self {
        Form { pairs }
    }

    /// Every pair, for signing.
    pub fn pairs(&self) -> impl Iterator<Item = (&str, &str)> {
        self.pairs.iter().map(|(n, v)| (n.as_str(), v.as_str()))
    }

    /// The first value of a parameter, empty values counting as absent (as in signing).
    pub fn get(&self, name: &str) -> Option<&str> {
        self.pairs.iter().find(|(n, v)| n == name && !v.is_empty()).map(|(_, v)| v.as_str())
    }

    /// A required parameter.
    pub fn required(&self, name: &'static str) -> Result<&str, InvalidField> {
        self.get(name).ok_or_else(|| InvalidField::new(name, "is required"))
    }

    /// An optional parameter, owned.
    pub fn optional(&self, name: &str) -> Option<String> {
        self.get(name).map(str::to_owned)
    }

    /// A required amount in minor units.
    pub fn amount(&self, name: &'static str) -> Result<u64, InvalidField> {
        let text = self.required(name)?;
        let value = parse_digits(name, text)?;
        rules::amount(name, value)?;
        Ok(value)
    }

    /// An optional whole number.
    pub fn optional_number<T: TryFrom<u64>>(&self, name: &'static str) -> Result<Option<T>, InvalidField> {
        self.get(name)
            .map(|text| {
                let value = parse_digits(name, text)?;
                T::try_from(value).map_err(|_| InvalidField::new(name, "is too large"))
            })
            .transpose()
    }
}

fn parse_digits(name: &'static str, text: &str) -> Result<u64, InvalidField> {
    if text.is_empty() || text.len() > 19 || !text.bytes().all(|b| b.is_ascii_digit()) {
        return Err(InvalidField::new(name, format!("must be a whole number of digits only (got {text:?})")));
    }
    text.parse().map_err(|_| InvalidField::new(name, "is too large"))
}
