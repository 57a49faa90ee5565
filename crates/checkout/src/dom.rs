//! Building elements with DOM calls only: no `innerHTML`, so the widget works under Trusted
//! Types and a strict Content-Security-Policy.

use wasm_bindgen::prelude::*;
use wasm_bindgen::JsCast;
use web_sys::{Document, Element, Window};

use crate::format::number;

const SVG_NS: &str = "http://www.w3.org/2000/svg";

// Failures here throw to JS (`expect_throw`) rather than panic: a panic's message would be
// formatted with `Debug` of the `JsValue`, and that brings a JS value printer to the glue.

#[wasm_bindgen]
extern "C" {
    /// The page's `window`, `None` where there is none. Looked up by its name once, where
    /// `web_sys::window()` tries four global objects on every call.
    #[wasm_bindgen(thread_local_v2, js_name = window)]
    static WINDOW: Option<Window>;
}

/// The page's window.
pub fn window() -> Option<Window> {
    WINDOW.with(Clone::clone)
}

/// The page's document.
pub fn document() -> Document {
    window().and_then(|w| w.document()).expect_throw("a document")
}

/// `<tag class=...>` with text.
pub fn el(tag: &str, class: &str, text: &str) -> Element {
    let e = document().create_element(tag).expect_throw("createElement");
    if !class.is_empty() {
        e.set_class_name(class);
    }
    if !text.is_empty() {
        e.set_text_content(Some(text));
    }
    e
}

/// Sets attributes, ignoring failures (they cannot fail for the names used here).
pub fn attrs(e: &Element, pairs: &[(&str, &str)]) {
    for (name, value) in pairs {
        let _ = e.set_attribute(name, value);
    }
}

/// Appends children.
pub fn append(parent: &Element, children: &[&Element]) {
    for c in children {
        let _ = parent.append_child(c);
    }
}

/// Removes every child.
pub fn clear(e: &Element) {
    while let Some(child) = e.first_child() {
        let _ = e.remove_child(&child);
    }
}

/// The QR matrix as an SVG element: one `<rect>` per horizontal run of dark modules.
pub fn qr_svg(matrix: &crate::qr::Matrix, label: &str) -> Element {
    let svg = svg_el("svg");
    let size = number(matrix.size as u64);
    attrs(
        &svg,
        &[
            ("viewBox", &["0 0 ", &size, " ", &size].concat()),
            ("role", "img"),
            ("aria-label", label),
            ("class", "qr"),
            ("part", "qr"),
            ("shape-rendering", "crispEdges"),
            ("data-modules", &size),
        ],
    );
    let title = svg_el("title");
    title.set_text_content(Some(label));
    let _ = svg.append_child(&title);
    let background = svg_el("rect");
    attrs(&background, &[("width", &size), ("height", &size), ("fill", "#fff")]);
    let _ = svg.append_child(&background);
    for (x, y, len) in matrix.runs() {
        let rect = svg_el("rect");
        attrs(
            &rect,
            &[
                ("x", &number(x as u64)),
                ("y", &number(y as u64)),
                ("width", &number(len as u64)),
                ("height", "1"),
                ("fill", "#000"),
            ],
        );
        let _ = svg.append_child(&rect);
    }
    svg
}

/// A wallet's badge (see [`crate::marks`]): decoration, hidden from assistive technology, as
/// the wallet's name is written beside it.
pub fn mark_svg(mark: &crate::marks::Mark) -> Element {
    let svg = svg_el("svg");
    attrs(
        &svg,
        &[
            ("viewBox", "0 0 24 24"),
            ("aria-hidden", "true"),
            ("focusable", "false"),
            ("class", "mark"),
            ("part", "mark"),
        ],
    );
    let square = svg_el("rect");
    attrs(&square, &[("width", "24"), ("height", "24"), ("rx", "6"), ("fill", mark.colour)]);
    let letter = svg_el("text");
    attrs(
        &letter,
        &[
            ("x", "12"),
            ("y", "17"),
            ("text-anchor", "middle"),
            ("font-size", "14"),
            ("font-weight", "700"),
            ("fill", "#fff"),
        ],
    );
    letter.set_text_content(Some(&String::from(mark.letter)));
    append(&svg, &[&square, &letter]);
    svg
}

fn svg_el(tag: &str) -> Element {
    document().create_element_ns(Some(SVG_NS), tag).expect_throw("an SVG element")
}

/// Casts an element to `HtmlElement` (for focus).
pub fn focus(e: &Element) {
    if let Some(h) = e.dyn_ref::<web_sys::HtmlElement>() {
        let _ = h.focus();
    }
}
