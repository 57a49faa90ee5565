//! The 52 `respcd` status codes of the guide, each with a class that says what a client
//! should do about it.
//!
//! Classes follow the spec's notes: `1143`/`1145`/`1298` mean "ask again"; `1100`, `1295`,
//! `1296`, `1297`, `1204`, `1205`, `1252`, `1254` are transient; `1108` is a signature error;
//! `1102`/`2011` are duplicates. We add `invalid-request` for codes that mean the request
//! itself was wrong (format, parameters, amount, unknown order), which no retry can fix.

use core::fmt;

use serde::Serialize;

/// What a status code means for the caller.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum RespClass {
    /// The call succeeded (for MPM: the order and its QR exist; not that anyone paid).
    Success,
    /// Not final yet: query again in a few seconds; never pay again.
    PendingAskAgain,
    /// A passing fault: the same request may be retried with back-off.
    TransientRetry,
    /// The shopper's payment was refused or the order can no longer be paid.
    Declined,
    /// The signature (or the key behind it) is wrong.
    Signature,
    /// A request or serial number that was already used.
    Duplicate,
    /// The merchant's account, store or device needs fixing at QFPay.
    MerchantConfiguration,
    /// A refund, reversal or cancellation rule was broken.
    RefundRule,
    /// The request itself is wrong: format, parameters, amount, or an order that does not exist.
    InvalidRequest,
    /// The gateway failed in a way no retry is known to fix.
    System,
}

impl RespClass {
    /// The kebab-case name used in JSON and by `qfpay explain`.
    pub fn name(self) -> &'static str {
        match self {
            RespClass::Success => "success",
            RespClass::PendingAskAgain => "pending-ask-again",
            RespClass::TransientRetry => "transient-retry",
            RespClass::Declined => "declined",
            RespClass::Signature => "signature",
            RespClass::Duplicate => "duplicate",
            RespClass::MerchantConfiguration => "merchant-configuration",
            RespClass::RefundRule => "refund-rule",
            RespClass::InvalidRequest => "invalid-request",
            RespClass::System => "system",
        }
    }
}

/// One row of the status code table.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct RespInfo {
    /// The four-digit code.
    pub code: &'static str,
    /// The guide's Chinese text.
    pub text_zh: &'static str,
    /// An English text.
    pub text_en: &'static str,
    /// What the caller should do.
    pub class: RespClass,
}

const fn row(code: &'static str, class: RespClass, text_zh: &'static str, text_en: &'static str) -> RespInfo {
    RespInfo { code, text_zh, text_en, class }
}

use RespClass::*;

/// Every status code the guide lists, in the guide's order.
pub const RESP_CODES: [RespInfo; 52] = [
    row(RespCode::SUCCESS, Success, "交易成功", "Success"),
    row(RespCode::SYSTEM_MAINTENANCE, TransientRetry, "系统维护中", "System under maintenance"),
    row("1101", System, "反向错误", "Reversal error"),
    row(RespCode::DUPLICATE_REQUEST, Duplicate, "重复请求", "Duplicate request"),
    row(RespCode::MALFORMED_REQUEST, InvalidRequest, "请求格式错误", "Malformed request"),
    row(RespCode::INVALID_PARAMETER, InvalidRequest, "请求参数错误", "Invalid request parameter"),
    row("1105", MerchantConfiguration, "设备未激活", "Device not activated"),
    row("1106", MerchantConfiguration, "设备无效", "Invalid device"),
    row("1107", MerchantConfiguration, "设备不允许使用", "Device not allowed"),
    row(RespCode::SIGNATURE_ERROR, Signature, "签名错误", "Signature error"),
    row("1125", RefundRule, "交易已退款", "Transaction already refunded"),
    row(
        RespCode::NOT_OPERABLE,
        InvalidRequest,
        "交易不存在或无法操作",
        "Transaction does not exist or cannot be operated on",
    ),
    row(RespCode::ORDER_CLOSED, Declined, "订单已关闭", "Order closed"),
    row(
        RespCode::AWAITING_PASSWORD,
        PendingAskAgain,
        "订单未支付，正在输入密码",
        "Order not paid yet; the shopper is entering the password",
    ),
    row(RespCode::PROCESSING, PendingAskAgain, "正在处理，请稍候", "Processing, please wait"),
    row("1147", Declined, "WeChat Pay交易错误", "WeChat Pay transaction error"),
    row("1150", RefundRule, "T0支付方式不支持取消", "T0 pay types cannot be cancelled"),
    row(RespCode::REFUND_REFUSED, RefundRule, "退款请求被拒绝", "Refund request refused"),
    row(RespCode::ORDER_EXPIRED, Declined, "订单已过期", "Order expired"),
    row(RespCode::INSUFFICIENT_BALANCE, Declined, "账户余额不足", "Insufficient balance"),
    row(RespCode::CODE_WRONG_OR_EXPIRED, Declined, "支付代码错误或已过期", "Payment code wrong or expired"),
    row("1203", MerchantConfiguration, "商家账户错误", "Merchant account error"),
    row("1204", TransientRetry, "银行错误", "Bank error"),
    row("1205", TransientRetry, "交易失败，请稍后再试", "Transaction failed, try again later"),
    row("1212", Declined, "请使用UnionPay海外支付代码", "Use a UnionPay overseas payment code"),
    row("1241", MerchantConfiguration, "商店不存在或状态不正确", "Store does not exist or is in a wrong state"),
    row("1242", MerchantConfiguration, "商店配置不正确", "Store configured incorrectly"),
    row("1243", MerchantConfiguration, "商店已被禁用", "Store disabled"),
    row("1250", Declined, "交易被禁止", "Transaction forbidden"),
    row(RespCode::STORE_CONFIGURATION_ERROR, MerchantConfiguration, "商店配置错误", "Store configuration error"),
    row("1252", TransientRetry, "系统错误，无法提交订单", "System error, order not submitted"),
    row("1254", TransientRetry, "出现问题，正在解决", "A problem is being fixed"),
    row(RespCode::ALREADY_PAID, Duplicate, "订单已支付", "Order already paid"),
    row(RespCode::NOT_PAID, RefundRule, "订单未支付", "Order not paid"),
    row(RespCode::ALREADY_REFUNDED, RefundRule, "订单已退款", "Order already refunded"),
    row(RespCode::ORDER_CANCELLED, Declined, "订单已取消", "Order cancelled"),
    row(RespCode::ORDER_CLOSED_TOO, Declined, "订单已关闭", "Order closed"),
    row(
        RespCode::REFUND_BLACKOUT,
        RefundRule,
        "交易无法退款（晚上11:30至凌晨0:30）",
        "No refunds between 23:30 and 00:30",
    ),
    row(RespCode::WRONG_AMOUNT, InvalidRequest, "交易金额错误", "Wrong transaction amount"),
    row(RespCode::ORDER_MISMATCH, InvalidRequest, "订单信息不匹配", "Order details do not match"),
    row(RespCode::NO_SUCH_ORDER, InvalidRequest, "订单不存在", "Order does not exist"),
    row("1269", RefundRule, "未结算余额不足，无法退款", "Unsettled balance too low to refund"),
    row("1270", RefundRule, "该货币不支持部分退款", "This currency does not allow partial refunds"),
    row("1271", RefundRule, "交易不支持部分退款", "This transaction does not allow partial refunds"),
    row(
        RespCode::REFUND_EXCEEDS_PAYMENT,
        RefundRule,
        "退款金额超过最大退款限额",
        "Refund exceeds the refundable amount",
    ),
    row("1294", Declined, "交易不符合规定，银行禁止", "Transaction non-compliant, refused by the bank"),
    row("1295", TransientRetry, "连接缓慢，请稍后再试", "Slow connection, try again later"),
    row("1296", TransientRetry, "连接缓慢，请稍后再试", "Slow connection, try again later"),
    row("1297", TransientRetry, "银行系统繁忙", "Bank system busy"),
    row(
        RespCode::SLOW_CONNECTION_PENDING,
        PendingAskAgain,
        "连接缓慢，如果已支付请勿重复支付",
        "Slow connection; if paid, do not pay again",
    ),
    row(RespCode::SHOPPER_CODE_WRONG, Declined, "客户支付代码错误或已过期", "Shopper's payment code wrong or expired"),
    row(RespCode::DUPLICATE_SERIAL, Duplicate, "交易序列号重复", "Duplicate transaction serial number"),
];

/// A `respcd` as the gateway sent it; unknown codes parse and print.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct RespCode(String);

/// The codes this project reacts to, by name: the only place besides [`RESP_CODES`] where a
/// code is written as a literal (a test scans the sources for others).
impl RespCode {
    /// `0000`: The call succeeded; for a query row or notification, paid.
    pub const SUCCESS: &'static str = "0000";
    /// `1100`: The gateway is under maintenance (transient); also what it answers when rate limited.
    pub const SYSTEM_MAINTENANCE: &'static str = "1100";
    /// `1102`: A payment's `out_trade_no` was used before with other parameters.
    pub const DUPLICATE_REQUEST: &'static str = "1102";
    /// `1103`: The request's format is wrong (content type, body, path).
    pub const MALFORMED_REQUEST: &'static str = "1103";
    /// `1104`: A parameter is missing or wrong; `resperr` names it.
    pub const INVALID_PARAMETER: &'static str = "1104";
    /// `1108`: The signature, the appcode or the key behind them is wrong.
    pub const SIGNATURE_ERROR: &'static str = "1108";
    /// `1136`: The transaction does not exist or cannot be operated on (e.g. reversing a QR payment).
    pub const NOT_OPERABLE: &'static str = "1136";
    /// `1142`: The order was closed (a closed order's query row).
    pub const ORDER_CLOSED: &'static str = "1142";
    /// `1143`: Not paid yet: the shopper is entering the password. Ask again.
    pub const AWAITING_PASSWORD: &'static str = "1143";
    /// `1145`: Processing. Ask again.
    pub const PROCESSING: &'static str = "1145";
    /// `1155`: The refund was refused (e.g. a pay type that cannot be refunded).
    pub const REFUND_REFUSED: &'static str = "1155";
    /// `1181`: The order's time ran out.
    pub const ORDER_EXPIRED: &'static str = "1181";
    /// `1201`: The shopper's balance is too low (the simulator's default decline).
    pub const INSUFFICIENT_BALANCE: &'static str = "1201";
    /// `1202`: The shopper's payment code is wrong or expired.
    pub const CODE_WRONG_OR_EXPIRED: &'static str = "1202";
    /// `1251`: The store's configuration is wrong; the simulator's answer to a pay type QFPay has
    /// not enabled for the appcode (the gateway's `filter_error`).
    pub const STORE_CONFIGURATION_ERROR: &'static str = "1251";
    /// `1260`: The order is paid (the answer to closing a paid order).
    pub const ALREADY_PAID: &'static str = "1260";
    /// `1261`: The order is not paid, so it cannot be refunded.
    pub const NOT_PAID: &'static str = "1261";
    /// `1262`: The order was refunded, so it cannot be reversed.
    pub const ALREADY_REFUNDED: &'static str = "1262";
    /// `1263`: The order was cancelled.
    pub const ORDER_CANCELLED: &'static str = "1263";
    /// `1264`: The order was closed (the guide lists 订单已关闭 under two codes).
    pub const ORDER_CLOSED_TOO: &'static str = "1264";
    /// `1265`: No refunds between 23:30 and 00:30 Hong Kong time: try after.
    pub const REFUND_BLACKOUT: &'static str = "1265";
    /// `1266`: The transaction amount is wrong.
    pub const WRONG_AMOUNT: &'static str = "1266";
    /// `1267`: The order's details do not match (e.g. `txamt` of a close).
    pub const ORDER_MISMATCH: &'static str = "1267";
    /// `1268`: The order does not exist.
    pub const NO_SUCH_ORDER: &'static str = "1268";
    /// `1272`: The refund exceeds what is left to refund.
    pub const REFUND_EXCEEDS_PAYMENT: &'static str = "1272";
    /// `1298`: Slow connection; if paid, do not pay again. Ask again.
    pub const SLOW_CONNECTION_PENDING: &'static str = "1298";
    /// `2005`: The shopper's payment code is wrong or expired.
    pub const SHOPPER_CODE_WRONG: &'static str = "2005";
    /// `2011`: A refund's `out_trade_no` was used before.
    pub const DUPLICATE_SERIAL: &'static str = "2011";
}

impl RespCode {
    /// Wraps any code, known or not.
    pub fn new(code: impl Into<String>) -> Self {
        RespCode(code.into())
    }

    /// The code as received.
    pub fn code(&self) -> &str {
        &self.0
    }

    /// The table row, when the guide lists this code.
    pub fn info(&self) -> Option<&'static RespInfo> {
        RESP_CODES.iter().find(|r| r.code == self.0)
    }

    /// The class of a known code; unknown codes are `System` (final, not understood).
    pub fn class(&self) -> RespClass {
        self.info().map_or(RespClass::System, |r| r.class)
    }

    /// True for `0000`.
    pub fn is_success(&self) -> bool {
        self.0 == Self::SUCCESS
    }

    /// True when the code is `code` (one of the named constants).
    pub fn is(&self, code: &str) -> bool {
        self.0 == code
    }

    /// True for the codes that say an order is closed or cancelled (a query row's status).
    pub fn is_closed_order(&self) -> bool {
        [Self::ORDER_CLOSED, Self::ORDER_CANCELLED, Self::ORDER_CLOSED_TOO].contains(&self.0.as_str())
    }
}

impl fmt::Display for RespCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}
