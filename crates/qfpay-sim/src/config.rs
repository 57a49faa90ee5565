//! What the simulator is started with: merchants, clock speed, faults, switches, its public URL.

use std::collections::HashMap;

use qfpay::{ClientKey, SignType};
use serde::Deserialize;

use crate::faults::Faults;
use crate::switches::Switches;

/// A merchant account the simulated gateway knows.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Merchant {
    /// `X-QF-APPCODE`.
    pub appcode: String,
    /// The client key requests are signed with.
    pub key: ClientKey,
    /// The merchant id; when set, every request must carry it, and when not, none may.
    pub mchid: Option<String>,
    /// A display name for the wallet page.
    pub name: String,
}

impl Merchant {
    /// The merchant used when none is configured: appcode `DEMOAPPCODE`, key `DEMOKEY`.
    pub fn demo() -> Self {
        Merchant {
            appcode: "DEMOAPPCODE".into(),
            key: ClientKey::new("DEMOKEY"),
            mchid: None,
            name: "Demo Tea House".into(),
        }
    }
}

/// The simulator's settings.
#[derive(Debug, Clone)]
pub struct SimConfig {
    /// Merchants by appcode.
    pub merchants: HashMap<String, Merchant>,
    /// Simulated seconds per real second (notification retries and expiry run this much faster).
    pub time_scale: f64,
    /// Faults injected from the start.
    pub faults: Faults,
    /// The base URL shoppers' browsers reach the simulator at (for `qrcode` and `pay_url`).
    pub public_url: String,
    /// The switches at start (`GET`/`POST /sim/switches` read and change them at run time):
    /// the registered `notify_url`, the refund blackout and refusals, how answers are signed,
    /// which call ends an order, the query's list limit.
    pub switches: Switches,
    /// The pay types QFPay enabled for the merchants (`--pay-types`); others are refused as the
    /// gateway refuses them. `None`: every pay type of the table.
    pub pay_types: Option<Vec<String>>,
    /// Enforce the per-merchant rate limits (100/s, 400/min) with HTTP 429.
    pub rate_limit: bool,
    /// Unix seconds at which the simulated clock starts.
    pub start_unix: i64,
    /// Seed for the fault dice, so a fault run can be replayed.
    pub seed: u64,
    /// Read a 64-hex-digit `X-QF-SIGN` sent without `X-QF-SIGNTYPE` as SHA256. Off by default:
    /// the gateway reads a missing header as MD5 and answers such a call `1108`, and a
    /// simulator that forgave it would hide that bug until production. On, the guide's own
    /// Python example (SHA256, no header) runs unchanged.
    pub lenient_sign_type: bool,
    /// The hash answers are signed with (`X-QF-SIGNTYPE` is sent when it is not MD5); what the
    /// signature covers, or that there is none, is the `answer_signature` switch. MD5 by default.
    pub answer_sign_type: SignType,
    /// Print one line per request (method, path, status, milliseconds) on stdout, from a thread
    /// of its own. Off by default, so tests that run the simulator in-process stay quiet;
    /// `qfpay sim` turns it on.
    pub log_requests: bool,
}

impl SimConfig {
    /// The merchants, and defaults as the gateway behaves: strict signature type, MD5-signed
    /// answers, identical retries answered with the original answer, rate limits on, the
    /// documented switches ([`Switches::default`]: refund blackout on, no notification URL
    /// registered); no faults, no request log. `public_url` is set once the port is known.
    pub fn new(merchants: Vec<Merchant>, start_unix: i64) -> Self {
        SimConfig {
            merchants: merchants.into_iter().map(|m| (m.appcode.clone(), m)).collect(),
            time_scale: 1.0,
            faults: Faults::default(),
            public_url: "http://127.0.0.1".into(),
            switches: Switches::default(),
            pay_types: None,
            rate_limit: true,
            start_unix,
            seed: 1,
            lenient_sign_type: false,
            answer_sign_type: SignType::Md5,
            log_requests: false,
        }
    }
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct MerchantsFile {
    merchant: Vec<MerchantEntry>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct MerchantEntry {
    appcode: String,
    key: String,
    mchid: Option<String>,
    name: Option<String>,
}

/// Reads a merchants file:
///
/// ```toml
/// [[merchant]]
/// appcode = "A1"
/// key = "K1"
/// mchid = "M1"      # optional
/// name = "Shop"     # optional
/// ```
pub fn parse_merchants(text: &str) -> Result<Vec<Merchant>, String> {
    let file: MerchantsFile = toml::from_str(text).map_err(|e| format!("merchants file: {e}"))?;
    if file.merchant.is_empty() {
        return Err("merchants file: no [[merchant]] entries".into());
    }
    file.merchant
        .into_iter()
        .map(|m| {
            if m.appcode.is_empty() || m.key.is_empty() {
                return Err("merchants file: appcode and key must not be empty".to_owned());
            }
            Ok(Merchant {
                name: m.name.unwrap_or_else(|| m.appcode.clone()),
                appcode: m.appcode,
                key: ClientKey::new(m.key),
                mchid: m.mchid.filter(|v| !v.is_empty()),
            })
        })
        .collect()
}
