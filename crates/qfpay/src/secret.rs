//! The client key, kept out of logs and error messages by construction.

use core::fmt;

/// A QFPay client key. Its `Debug` is redacted and it has no `Display`, so it cannot be
/// formatted into a log line or an error by accident; [`ClientKey::expose`] is called only
/// where a signature is computed.
#[derive(Clone, PartialEq, Eq)]
pub struct ClientKey(String);

impl ClientKey {
    /// Wraps a key.
    pub fn new(key: impl Into<String>) -> Self {
        Self(key.into())
    }

    /// The key's bytes, for the one place that hashes them.
    pub fn expose(&self) -> &str {
        &self.0
    }

    /// True when the key is the empty string (a configuration error).
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
}

impl fmt::Debug for ClientKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("ClientKey(<redacted>)")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn debug_never_shows_the_key() {
        let key = ClientKey::new("super-secret-key");
        let shown = format!("{key:?}");
        assert!(!shown.contains("super-secret-key"), "{shown}");
        assert!(shown.contains("redacted"));
    }
}
