//! The three tables of the integration guide (支付类型, 支持的货币, 状态码) as named data.
//!
//! Codes are newtypes over the wire string, so a code the tables do not know still parses,
//! compares and prints; only its description is missing.

mod currencies;
mod end_order;
mod pay_types;
mod respcd;

pub use currencies::{lookup as currency, Currency, CurrencyInfo, CURRENCIES};
pub use end_order::{end_order, parse_overrides as parse_end_order_overrides, EndOrder};
pub use pay_types::{
    lookup as pay_type, AmountFloor, CurrencyRule, PayMode, PayType, PayTypeInfo, Region, Wallet, PAY_TYPES,
};
pub use respcd::{RespClass, RespCode, RespInfo, RESP_CODES};
