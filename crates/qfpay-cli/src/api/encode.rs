//! Building the worker's URLs: ids as one path segment, filters as a query string.

/// An id as one URL path segment (ids are `cs_`/`evt_` and base-32; anything else is escaped,
/// so `../events` cannot reach another route).
pub fn path_segment(id: &str) -> String {
    encode_component(id.trim())
}

/// Percent-encodes everything but RFC 3986's unreserved characters.
pub fn encode_component(text: &str) -> String {
    text.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'.' | b'_' | b'~' => (b as char).to_string(),
            _ => format!("%{b:02X}"),
        })
        .collect()
}

/// `name=value&...`, values percent-encoded.
pub fn encode_query(pairs: &[(&str, String)]) -> String {
    pairs.iter().map(|(k, v)| format!("{k}={}", encode_component(v))).collect::<Vec<_>>().join("&")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_stay_one_path_segment_and_values_are_escaped() {
        assert_eq!(path_segment(" cs_abc "), "cs_abc");
        assert_eq!(path_segment("../events"), "..%2Fevents");
        assert_eq!(
            encode_query(&[("reference", "order 1&2".into()), ("limit", "5".into())]),
            "reference=order%201%262&limit=5"
        );
        assert_eq!(encode_component("é"), "%C3%A9");
    }
}
