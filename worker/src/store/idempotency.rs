//! Idempotency records: a merchant request's answer kept for 24 hours under its key.

use checkout_api::ErrorCode;
use serde::Deserialize;
use worker::Result;

use super::{num, s, Store};

/// A stored idempotent answer.
#[derive(Debug, Clone, Deserialize)]
pub struct IdempotencyRow {
    pub body_hash: String,
    pub status: u64,
    pub response: String,
}

/// The scope of `POST /v1/sessions` keys.
pub const SESSIONS_SCOPE: &str = "sessions";

/// Keys are honoured this long (ms).
const KEPT_MS: u64 = 86_400_000;

impl Store {
    /// Stores an idempotency record's final answer.
    pub async fn finish_idempotent(&self, scope: &str, key: &str, status: u16, body: &str) -> Result<()> {
        self.run(
            "UPDATE idempotency SET status = ?1, response = ?2 WHERE scope = ?3 AND key = ?4",
            &[num(u64::from(status)), s(body), s(scope), s(key)],
        )
        .await?;
        Ok(())
    }

    /// Takes an idempotency key: `Ok(None)` when this request is the first, else the record.
    pub async fn begin_idempotent(
        &self,
        scope: &str,
        key: &str,
        body_hash: &str,
        now: u64,
    ) -> Result<Option<IdempotencyRow>> {
        // An older record than the window is replaced.
        self.run(
            "DELETE FROM idempotency WHERE scope = ?1 AND key = ?2 AND created_at < ?3",
            &[s(scope), s(key), num(now.saturating_sub(KEPT_MS))],
        )
        .await?;
        let inserted = self
            .run(
                "INSERT OR IGNORE INTO idempotency (scope, key, body_hash, status, response, created_at) VALUES (?1, ?2, ?3, 0, '', ?4)",
                &[s(scope), s(key), s(body_hash), num(now)],
            )
            .await?;
        if inserted == 1 {
            return Ok(None);
        }
        self.first(
            "SELECT body_hash, status, response FROM idempotency WHERE scope = ?1 AND key = ?2",
            &[s(scope), s(key)],
        )
        .await
    }

    /// Forgets an idempotency key whose request failed before it changed anything.
    pub async fn release_idempotent(&self, scope: &str, key: &str) -> Result<()> {
        self.run("DELETE FROM idempotency WHERE scope = ?1 AND key = ?2 AND status = 0", &[s(scope), s(key)]).await?;
        Ok(())
    }

    /// Settles keys whose first request never finished (its isolate died half way) before
    /// `before`, so the merchant's retry is not refused as "in progress" for a day. A session
    /// key is freed (a retry creates the session; an unused one just expires). A refund key is
    /// not: the refund may exist and the settler finishes it, so a retry gets a 409 that says to
    /// read the session, never a second refund.
    pub async fn free_stuck_idempotency(&self, before: u64) -> Result<()> {
        self.run(
            "DELETE FROM idempotency WHERE status = 0 AND created_at < ?1 AND scope = ?2",
            &[num(before), s(SESSIONS_SCOPE)],
        )
        .await?;
        let interrupted = checkout_api::ApiError::new(ErrorCode::IdempotencyInterrupted,
            "the first request with this Idempotency-Key was interrupted; its refund, if any, is in GET /v1/sessions/{id} and settles on its own",
        );
        self.run(
            "UPDATE idempotency SET status = 409, response = ?1 WHERE status = 0 AND created_at < ?2",
            &[s(&interrupted.body()), num(before)],
        )
        .await?;
        Ok(())
    }
}
