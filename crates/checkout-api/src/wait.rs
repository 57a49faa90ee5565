//! Waiting for a status change: the widget's `GET /v1/checkout/{id}/status` with
//! `Prefer: wait=N` (RFC 7240's `wait` preference) is held by the worker until the session or
//! its latest attempt changes, or N seconds pass. Pure: what the header asks for, and whether a
//! status is still one a change can follow (otherwise the answer comes at once).

use crate::states::SessionStatus;
use crate::views::StatusView;

/// The longest wait the worker holds (s): under the 30 s after which many proxies and load
/// balancers cut an idle request, so a wait normally ends by itself before anything cuts it.
pub const MAX_WAIT_SECONDS: u32 = 25;

/// The seconds a `Prefer` header asks to wait: its `wait=N` preference (case-insensitive, among
/// other preferences separated by commas or semicolons), capped at [`MAX_WAIT_SECONDS`]. `None`
/// when it asks for no wait, or for 0, or the value is not a number.
pub fn requested_seconds(prefer: &str) -> Option<u32> {
    prefer
        .split([',', ';'])
        .filter_map(|p| p.split_once('='))
        .find(|(name, _)| name.trim().eq_ignore_ascii_case("wait"))
        .and_then(|(_, value)| value.trim().trim_matches('"').parse::<u32>().ok())
        .filter(|s| *s > 0)
        .map(|s| s.min(MAX_WAIT_SECONDS))
}

impl StatusView {
    /// True while a change can still follow that a waiting widget acts on: the session is open
    /// or closing and its latest attempt (if any) is still open. Anything else (paid, over, an
    /// attempt that failed or ended) is answered at once.
    pub fn awaits_change(&self) -> bool {
        let attempt_open = self.attempt.as_ref().is_none_or(|a| a.status.is_open());
        matches!(self.status, SessionStatus::Open | SessionStatus::Closing) && attempt_open
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::states::AttemptStatus;
    use crate::views::{AttemptView, UnixSeconds};

    #[test]
    fn the_wait_preference_is_read_and_capped() {
        assert_eq!(requested_seconds("wait=25"), Some(25));
        assert_eq!(requested_seconds("respond-async, WAIT=10"), Some(10));
        assert_eq!(requested_seconds("return=minimal; wait=\"5\""), Some(5));
        assert_eq!(requested_seconds("wait=600"), Some(MAX_WAIT_SECONDS));
        assert_eq!(requested_seconds("wait=0"), None);
        assert_eq!(requested_seconds("wait=soon"), None);
        assert_eq!(requested_seconds("respond-async"), None);
        assert_eq!(requested_seconds(""), None);
    }

    fn status(session: SessionStatus, attempt: Option<AttemptStatus>) -> StatusView {
        StatusView {
            status: session,
            attempt: attempt.map(|status| AttemptView {
                id: "pa_1".into(),
                pay_type: "800101".into(),
                status,
                out_trade_no: "Q1".into(),
                syssn: None,
                qrcode: None,
                redirect_url: None,
                respcd: None,
                created_at: UnixSeconds::from_secs(0),
                expires_at: UnixSeconds::from_secs(1),
                paid_at: None,
            }),
            paid_at: None,
            expires_at: UnixSeconds::from_secs(1),
        }
    }

    #[test]
    fn only_an_unsettled_status_waits() {
        assert!(status(SessionStatus::Open, None).awaits_change());
        assert!(status(SessionStatus::Open, Some(AttemptStatus::Pending)).awaits_change());
        assert!(status(SessionStatus::Closing, Some(AttemptStatus::Pending)).awaits_change());
        assert!(!status(SessionStatus::Paid, Some(AttemptStatus::Paid)).awaits_change());
        assert!(!status(SessionStatus::Open, Some(AttemptStatus::Failed)).awaits_change());
        assert!(!status(SessionStatus::Closing, Some(AttemptStatus::Closed)).awaits_change());
        assert!(!status(SessionStatus::Expired, None).awaits_change());
        assert!(!status(SessionStatus::Closed, None).awaits_change());
    }
}
