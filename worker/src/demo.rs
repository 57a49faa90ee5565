//! The demo shop's route, on only against the local simulator (`QFPAY_ENV=local`): it creates a
//! session the way a merchant's server would, so the demo page needs no server of its own.

use checkout_api::{fitting_pay_types, ids};

use crate::app::{ok_json, Answer, App, OrInternal};
use crate::random;
use crate::store::{num, s};

/// `POST /demo/sessions`: a HKD 38.00 milk tea set, payable by every QR and redirect type.
pub async fn create_session(app: &App<'_>) -> Answer {
    let id = ids::session_id(&random::bytes());
    let secret = ids::client_secret(&random::bytes());
    let now = random::now_ms();
    let offered: Vec<String> = fitting_pay_types("HKD", 3800, None).into_iter().map(|p| p.pay_type).collect();
    app.store
        .run(
            "INSERT INTO sessions (id, secret_hash, status, amount, currency, goods_name, reference, pay_types, return_url, created_at, expires_at) \
             VALUES (?1, ?2, 'open', 3800, 'HKD', ?3, ?4, ?5, ?6, ?7, ?8)",
            &[
                s(&id),
                s(&qfpay::sign::sha256_hex(secret.as_bytes())),
                s("Milk tea set 奶茶套餐"),
                s(&format!("demo-{now}")),
                s(&serde_json::to_string(&offered).unwrap_or_default()),
                s(&format!("{}/?session={id}", app.settings.public_url)),
                num(now),
                num(now + u64::from(app.settings.session_ttl_minutes) * 60_000),
            ],
        )
        .await
        .or_500()?;
    app.ctx.note_session(&id);
    ok_json(201, &serde_json::json!({"id": id, "client_secret": secret}))
}
