//! The one error shape of the API: `{"error": {"code", "message", "field"?}}`, never internals.

use serde::Serialize;

/// An API error with its HTTP status.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ApiError {
    /// HTTP status.
    #[serde(skip)]
    pub status: u16,
    /// A stable machine-readable code, e.g. `invalid_field`.
    pub code: &'static str,
    /// A sentence for the developer.
    pub message: String,
    /// The request field at fault, when there is one.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub field: Option<String>,
}

impl ApiError {
    /// A field that breaks a rule (422... here 400, since the body is the problem).
    pub fn field(field: impl Into<String>, message: impl Into<String>) -> Self {
        let field = field.into();
        ApiError {
            status: 400,
            code: "invalid_field",
            message: format!("{field}: {}", message.into()),
            field: Some(field),
        }
    }

    /// Any other error.
    pub fn new(status: u16, code: &'static str, message: impl Into<String>) -> Self {
        ApiError { status, code, message: message.into(), field: None }
    }

    /// The JSON body.
    pub fn body(&self) -> String {
        serde_json::json!({ "error": self }).to_string()
    }
}

impl From<qfpay::InvalidField> for ApiError {
    fn from(e: qfpay::InvalidField) -> Self {
        ApiError::field(e.field, e.rule)
    }
}
