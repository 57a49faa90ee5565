//! JSON text exactly as Python's `json.dumps` writes it by default: `", "` and `": "`
//! separators, non-ASCII as `\uXXXX` (surrogate pairs above U+FFFF). The gateway's
//! notifications look like this, and their signature is over these exact bytes.

/// Serialises string pairs as one JSON object, in the order given.
pub fn python_json_dumps(pairs: &[(&str, String)]) -> String {
    let mut out = String::from("{");
    for (i, (name, value)) in pairs.iter().enumerate() {
        if i > 0 {
            out.push_str(", ");
        }
        quote(&mut out, name);
        out.push_str(": ");
        quote(&mut out, value);
    }
    out.push('}');
    out
}

fn quote(out: &mut String, text: &str) {
    out.push('"');
    for c in text.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            '\u{8}' => out.push_str("\\b"),
            '\u{c}' => out.push_str("\\f"),
            // Python escapes everything outside printable ASCII (space to `~`).
            c if !(' '..='~').contains(&c) => {
                let mut units = [0u16; 2];
                for unit in c.encode_utf16(&mut units) {
                    out.push_str(&format!("\\u{unit:04x}"));
                }
            }
            c => out.push(c),
        }
    }
    out.push('"');
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn matches_python_output() {
        // python3 -c 'import json; print(json.dumps({"a": "港式奶茶 x2", "b": "q\"\\\n😀\x7f"}))'
        let got = python_json_dumps(&[("a", "港式奶茶 x2".into()), ("b", "q\"\\\n😀\u{7f}".into())]);
        assert_eq!(got, r#"{"a": "\u6e2f\u5f0f\u5976\u8336 x2", "b": "q\"\\\n\ud83d\ude00\u007f"}"#);
    }
}
