//! What the router, the CORS check and the limits read of a request before its handler runs:
//! its method, URL, path and headers, taken from the platform's request as it is. workers-rs's
//! conversion to [`worker::Request`] also builds `request.cf` (some thirty fields read from
//! JavaScript), which a V8 profile of the abuser run put at a tenth of the CPU of a refused
//! request; so a request is converted only once the limits have let it through.

use worker::{web_sys, Headers, Method};

/// A request's method, URL, path and headers.
pub struct Head {
    pub method: Method,
    pub url: String,
    pub path: String,
    pub headers: Headers,
}

impl Head {
    pub fn of(raw: &web_sys::Request) -> Head {
        let url = raw.url();
        Head {
            method: Method::from(raw.method()),
            path: path_of(&url).to_owned(),
            url,
            headers: Headers(raw.headers()),
        }
    }

    /// Header `name`, if present.
    pub fn header(&self, name: &str) -> Option<String> {
        self.headers.get(name).ok().flatten()
    }
}

/// The token of `Authorization: Bearer <token>` in `headers`.
pub fn bearer(headers: &Headers) -> Option<String> {
    let value = headers.get("Authorization").ok().flatten()?;
    let token = value.strip_prefix("Bearer ").or_else(|| value.strip_prefix("bearer "))?;
    Some(token.trim().to_owned()).filter(|t| !t.is_empty())
}

/// The path of a URL as the platform serializes it (scheme, `://`, host, then the path, in
/// which `?` and `#` can only start the query and the fragment), undecoded: the same path
/// [`worker::Request::path`] gives.
fn path_of(url: &str) -> &str {
    let after_scheme = url.find("://").map_or(0, |i| i + 3);
    let rest = &url[after_scheme..];
    let Some(start) = rest.find('/') else { return "/" };
    let path = &rest[start..];
    path.find(['?', '#']).map_or(path, |end| &path[..end])
}

#[cfg(test)]
mod tests {
    use super::path_of;

    #[test]
    fn the_path_is_cut_from_the_url_as_the_platform_writes_it() {
        assert_eq!(path_of("https://shop.example/v1/checkout/cs_1/pay"), "/v1/checkout/cs_1/pay");
        assert_eq!(path_of("http://127.0.0.1:8787/v1/sessions?status=paid&x=/y"), "/v1/sessions");
        assert_eq!(path_of("https://shop.example/a#/b?c"), "/a");
        assert_eq!(path_of("https://shop.example"), "/");
        assert_eq!(path_of("https://shop.example/"), "/");
        assert_eq!(path_of("https://shop.example/%2e%2e/x"), "/%2e%2e/x");
    }
}
