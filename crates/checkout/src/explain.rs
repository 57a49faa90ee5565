//! What a failed call means for the developer embedding the widget: the error's code and one
//! sentence naming what to check (the `secret`, the page's origin, the `endpoint`). The widget
//! logs it once with `console.error` and puts both on `qfpay:error`; the shopper sees only the
//! error screen. Pure, so every case is tested natively.

use checkout_api::ErrorCode;

use crate::format::number;

/// A failure the page is told of.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Problem {
    /// The worker's error code (`unauthorized`, `origin_not_allowed`, ...), or the widget's own
    /// (`network`, `not_the_worker`, `unreadable_answer`, `bad_redirect`).
    pub code: String,
    /// What happened and what to check.
    pub message: String,
}

/// Where the widget was when the call failed.
pub struct Context<'a> {
    /// The `endpoint` attribute.
    pub endpoint: &'a str,
    /// The `session` attribute.
    pub session: &'a str,
    /// The page's origin.
    pub origin: &'a str,
}

/// A failed call: its HTTP status (0: no answer could be read), the worker's error code and
/// message (empty when the answer was not the worker's JSON), and its `Request-Id`.
pub fn call(status: u16, code: &str, server_message: &str, request_id: Option<&str>, at: &Context) -> Problem {
    // The codes as constants (`ErrorCode::code` is `const`): only these three are downloaded.
    let is = |wanted: &str| code == wanted;
    let (code, advice) = if status == 0 {
        (
            "network",
            [
                "no answer from the worker at ",
                at.endpoint,
                ": check `endpoint`, that the worker runs, and that it allows ",
                at.origin,
            ]
            .concat(),
        )
    } else if is(const { ErrorCode::Unauthorized.code() }) {
        (
            code,
            ["the worker refused `secret` for session ", at.session, ": give the client_secret created with it"]
                .concat(),
        )
    } else if is(const { ErrorCode::OriginNotAllowed.code() }) {
        (
            code,
            [
                "add ",
                at.origin,
                " to the worker's ALLOWED_ORIGINS (locally: cargo xtask dev --allow-origin ",
                at.origin,
                ")",
            ]
            .concat(),
        )
    } else if is(const { ErrorCode::NotFound.code() }) {
        (code, ["no session ", at.session, " at ", at.endpoint, ": check `session` and `endpoint`"].concat())
    } else if code.is_empty() {
        let status = number(status.into());
        (
            "not_the_worker",
            ["HTTP ", &status, " from ", at.endpoint, " is not the worker's answer: check `endpoint`"].concat(),
        )
    } else {
        (code, ["HTTP ", &number(status.into()), ": ", server_message].concat())
    };
    let message = match request_id {
        Some(id) => [&advice, " (Request-Id ", id, ")"].concat(),
        None => advice,
    };
    Problem { code: code.to_owned(), message }
}

/// A problem the widget found itself, with no call to blame.
pub fn own(code: &str, message: &str) -> Problem {
    Problem { code: code.to_owned(), message: message.to_owned() }
}

/// The console line: the element, the code, the advice.
pub fn console_line(problem: &Problem) -> String {
    ["qfpay-checkout: ", &problem.code, ": ", &problem.message].concat()
}

#[cfg(test)]
mod tests {
    use super::*;

    const AT: Context = Context { endpoint: "https://pay.example", session: "cs_1", origin: "http://localhost:3000" };

    #[test]
    fn each_problem_names_what_to_check() {
        let secret = call(401, ErrorCode::Unauthorized.code(), "the bearer key is wrong", Some("req_a"), &AT);
        assert_eq!(secret.code, ErrorCode::Unauthorized.code());
        assert!(secret.message.contains("`secret`") && secret.message.ends_with("(Request-Id req_a)"), "{secret:?}");
        let origin = call(403, ErrorCode::OriginNotAllowed.code(), "", None, &AT);
        assert!(
            origin.message.contains("ALLOWED_ORIGINS")
                && origin.message.contains("--allow-origin http://localhost:3000")
        );
        let endpoint = call(0, "", "", None, &AT);
        assert_eq!(endpoint.code, "network");
        assert!(endpoint.message.contains("`endpoint`") && endpoint.message.contains("https://pay.example"));
        let html = call(404, "", "", None, &AT);
        assert_eq!(html.code, "not_the_worker");
        assert!(html.message.contains("`endpoint`"));
        let missing = call(404, ErrorCode::NotFound.code(), "no such session", None, &AT);
        assert!(missing.message.contains("`session`") && missing.message.contains("cs_1"));
        let other = call(503, ErrorCode::GatewayUnavailable.code(), "the gateway did not answer", None, &AT);
        assert_eq!(
            (other.code.as_str(), other.message.as_str()),
            ("gateway_unavailable", "HTTP 503: the gateway did not answer")
        );
        assert_eq!(console_line(&own("bad_redirect", "x")), "qfpay-checkout: bad_redirect: x");
    }
}
