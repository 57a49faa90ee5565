//! The one error every request validation returns: which field, which rule.

use core::fmt;

/// A request field that breaks a rule of the spec. Its message names both, e.g.
/// ``goods_name: at most 20 characters (got 23)``.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InvalidField {
    /// The parameter's wire name.
    pub field: &'static str,
    /// The rule it breaks, as a sentence fragment a developer can act on.
    pub rule: String,
}

impl InvalidField {
    /// A field and the rule it breaks.
    pub fn new(field: &'static str, rule: impl Into<String>) -> Self {
        Self { field, rule: rule.into() }
    }
}

impl fmt::Display for InvalidField {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.field, self.rule)
    }
}

impl std::error::Error for InvalidField {}

/// Checks shared by the request types.
pub(crate) mod rules {
    use super::InvalidField;

    /// The largest amount `Int(11)` can carry.
    pub const MAX_AMOUNT: u64 = 99_999_999_999;

    pub fn amount(field: &'static str, value: u64) -> Result<(), InvalidField> {
        if value == 0 {
            return Err(InvalidField::new(field, "must be greater than 0"));
        }
        if value > MAX_AMOUNT {
            return Err(InvalidField::new(field, format!("must be at most {MAX_AMOUNT} (Int(11))")));
        }
        Ok(())
    }

    pub fn max_chars(field: &'static str, value: &str, max: usize) -> Result<(), InvalidField> {
        let count = value.chars().count();
        if count > max {
            return Err(InvalidField::new(field, format!("at most {max} characters (got {count})")));
        }
        Ok(())
    }

    pub fn max_bytes(field: &'static str, value: &str, max: usize) -> Result<(), InvalidField> {
        if value.len() > max {
            return Err(InvalidField::new(field, format!("at most {max} bytes of UTF-8 (got {})", value.len())));
        }
        Ok(())
    }

    /// An identifier: 1..=max characters, no whitespace or control characters.
    pub fn identifier(field: &'static str, value: &str, max: usize) -> Result<(), InvalidField> {
        if value.is_empty() {
            return Err(InvalidField::new(field, "must not be empty"));
        }
        max_bytes(field, value, max)?;
        if value.chars().any(|c| c.is_whitespace() || c.is_control()) {
            return Err(InvalidField::new(field, "must not contain spaces or control characters"));
        }
        Ok(())
    }

    pub fn url(field: &'static str, value: &str, max: usize) -> Result<(), InvalidField> {
        max_bytes(field, value, max)?;
        let rest = value
            .strip_prefix("https://")
            .or_else(|| value.strip_prefix("http://"))
            .ok_or_else(|| InvalidField::new(field, "must be an absolute http:// or https:// URL"))?;
        if rest.is_empty() || rest.starts_with('/') || value.chars().any(|c| c.is_whitespace() || c.is_control()) {
            return Err(InvalidField::new(
                field,
                "must be an absolute http:// or https:// URL with a host and no spaces",
            ));
        }
        Ok(())
    }
}
