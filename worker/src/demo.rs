//! The demo shop's route, on only with `DEMO_SHOP=true` (which the worker refuses unless
//! `QFPAY_ENV=local`: the route hands anyone a payable session): it creates a session the way
//! a merchant's server would, so the demo page needs no server of its own. `cargo xtask dev`
//! and the end-to-end tests turn it on; a deployment never has it (`--env production`).

use checkout_api::{fitting_pay_types, ids};

use crate::app::{ok_json, Answer, App};
use crate::clock;
use crate::random;
use crate::store::NewSession;

/// `POST /demo/sessions`: a HKD 38.00 milk tea set, payable by every QR and redirect type.
pub async fn create_session(app: &App<'_>) -> Answer {
    let id = ids::session_id(&random::bytes());
    let secret = ids::client_secret(&random::bytes());
    let now = clock::now_ms();
    let offered: Vec<String> =
        fitting_pay_types("HKD", 3800, Some(&app.settings.pay_types)).into_iter().map(|p| p.pay_type).collect();
    let pay_types = serde_json::to_string(&offered).unwrap_or_default();
    let return_url = format!("{}/?session={id}", app.settings.public_url);
    let reference = format!("demo-{now}");
    let expires_at = now + u64::from(app.settings.session_ttl_minutes) * 60_000;
    crate::merchant::record_session(
        app,
        &NewSession {
            id: &id,
            secret_hash: &qfpay::sign::sha256_hex(secret.as_bytes()),
            amount: 3800,
            currency: "HKD",
            goods_name: "Milk tea set 奶茶套餐",
            reference: &reference,
            pay_types_json: &pay_types,
            return_url: Some(&return_url),
            metadata_json: None,
            created_at: now,
            expires_at,
        },
    )
    .await?;
    ok_json(201, &serde_json::json!({"id": id, "client_secret": secret}))
}
