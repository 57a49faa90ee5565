//! Short names between the widget's wasm and its glue. wasm-bindgen names every import after
//! the browser API it calls plus a 16-digit hash (`__wbg_setAttribute_f75317b2b5cabfb4`), and
//! both files carry each name: about a hundred of them, 7 KB that compress poorly. wasm-opt's
//! `--minify-imports-and-exports-and-modules` renames them in the wasm (to `a`, `b`, ... and
//! the module to `a`) and prints the mapping; [`rename_in_glue`] makes the glue use it.

use serde_json::Value;

/// Whether `c` can be part of a JavaScript identifier (as wasm-bindgen's names are written).
fn ident_char(c: char) -> bool {
    c.is_ascii_alphanumeric() || c == '_' || c == '$'
}

/// Replaces each whole-identifier occurrence of `prefix` + `from` in `text` by `prefix` + `to`.
fn replace_ident(text: &str, prefix: &str, from: &str, to: &str) -> String {
    let needle = format!("{prefix}{from}");
    let mut out = String::with_capacity(text.len());
    let mut done = 0;
    for (at, _) in text.match_indices(&needle) {
        if at < done {
            continue;
        }
        let before = text[..at].chars().last().filter(|_| prefix.is_empty());
        let after = text[at + needle.len()..].chars().next();
        if before.is_none_or(|c| !ident_char(c)) && after.is_none_or(|c| !ident_char(c)) {
            out.push_str(&text[done..at]);
            out.push_str(prefix);
            out.push_str(to);
            done = at + needle.len();
        }
    }
    out.push_str(&text[done..]);
    out
}

/// The glue (`wasm-bindgen --target web`'s unminified JS) with the names wasm-opt's `mapping`
/// gave: each import's function key, the import module's key, and each export read as
/// `wasm.<name>`. Fails when a name of the mapping is not in the glue, rather than ship a
/// widget whose glue and wasm disagree.
pub fn rename_in_glue(glue: &str, mapping: &Value, module: &str) -> Result<String, String> {
    let mut out = glue.to_owned();
    let pairs = |key: &str| -> Result<Vec<(String, String)>, String> {
        let list = mapping[key].as_array().ok_or_else(|| format!("wasm-opt's mapping has no {key}"))?;
        Ok(list
            .iter()
            .filter_map(|e| {
                let e = e.as_array()?;
                let (from, to) = (e.get(e.len() - 2)?.as_str()?, e.last()?.as_str()?);
                Some((from.to_owned(), to.to_owned()))
            })
            .collect())
    };
    for (from, to) in pairs("imports")? {
        if !out.contains(&format!("{from}:")) {
            return Err(format!("the glue has no import {from}"));
        }
        out = replace_ident(&out, "", &from, &to);
    }
    for (from, to) in pairs("exports")? {
        if !out.contains(&format!("wasm.{from}")) {
            // An export the glue never reads (wasm-bindgen keeps a few for other targets).
            continue;
        }
        out = replace_ident(&out, "wasm.", &from, &to);
    }
    let key = format!("\"{module}\":");
    if !out.contains(&key) {
        return Err(format!("the glue has no import module {module}"));
    }
    Ok(out.replace(&key, "\"a\":"))
}

#[cfg(test)]
mod tests {
    use super::rename_in_glue;
    use serde_json::json;

    #[test]
    fn imports_exports_and_the_module_are_renamed_as_whole_names() {
        let glue = "const imports = { \"./w_bg.js\": { __wbg_get_1a: function(a) { return a.__wbg_get_1a_b; }, \
                    __wbg_get_1ab: function() {} } };\nwasm.mount(x); wasm.mountain(); wasm.memory.buffer;";
        let mapping = json!({
            "imports": [["./w_bg.js", "__wbg_get_1a", "b"], ["./w_bg.js", "__wbg_get_1ab", "c"]],
            "exports": [["mount", "d"], ["memory", "e"], ["unused", "f"]]
        });
        let out = rename_in_glue(glue, &mapping, "./w_bg.js").unwrap();
        assert_eq!(
            out,
            "const imports = { \"a\": { b: function(a) { return a.__wbg_get_1a_b; }, \
             c: function() {} } };\nwasm.d(x); wasm.mountain(); wasm.e.buffer;"
        );
        assert!(rename_in_glue(glue, &json!({"imports": [["m", "__wbg_missing", "z"]], "exports": []}), "./w_bg.js")
            .is_err());
    }
}
