//! `sign`, `verify` and `verify-notify`.

use std::io::Read;

use clap::Args;
use qfpay::sign::{self, SignType};
use qfpay::ClientKey;

use crate::Failure;

#[derive(Args, Debug)]
pub struct SignArgs {
    /// The client key.
    #[arg(long)]
    key: String,
    /// md5 or sha256.
    #[arg(long, default_value = "sha256")]
    sign_type: String,
    /// Parameters as NAME=VALUE (split at the first `=`; `NAME=` is an empty value).
    #[arg(required = true)]
    params: Vec<String>,
}

#[derive(Args, Debug)]
pub struct VerifyArgs {
    /// The client key.
    #[arg(long)]
    key: String,
    /// The signature to check (either case).
    #[arg(long)]
    signature: String,
    /// md5 or sha256; by default read from the signature's length (32 or 64 hex digits).
    #[arg(long)]
    sign_type: Option<String>,
    /// Parameters as NAME=VALUE.
    #[arg(required = true)]
    params: Vec<String>,
}

#[derive(Args, Debug)]
pub struct VerifyNotifyArgs {
    /// The client key.
    #[arg(long)]
    key: String,
    /// The X-QF-SIGN header of the notification.
    #[arg(long)]
    signature: String,
    /// File holding the raw body, or `-` for stdin.
    body_file: String,
}

fn parse_params(args: &[String]) -> Result<Vec<(String, String)>, Failure> {
    args.iter()
        .map(|arg| match arg.split_once('=') {
            Some(("", _)) => Err(Failure::Usage(format!("parameter {arg:?} has no name before `=`"))),
            Some((name, value)) => Ok((name.to_owned(), value.to_owned())),
            None => Err(Failure::Usage(format!("parameter {arg:?} is not NAME=VALUE"))),
        })
        .collect()
}

fn parse_sign_type(text: &str) -> Result<SignType, Failure> {
    SignType::parse(text).ok_or_else(|| Failure::Usage(format!("--sign-type must be md5 or sha256 (got {text:?})")))
}

fn pairs(params: &[(String, String)]) -> impl Iterator<Item = (&str, &str)> {
    params.iter().map(|(n, v)| (n.as_str(), v.as_str()))
}

pub fn sign(args: SignArgs) -> Result<(), Failure> {
    let sign_type = parse_sign_type(&args.sign_type)?;
    let params = parse_params(&args.params)?;
    println!("{}", sign::sign(pairs(&params), &ClientKey::new(args.key), sign_type));
    Ok(())
}

pub fn verify(args: VerifyArgs) -> Result<(), Failure> {
    let sign_type = match &args.sign_type {
        Some(text) => parse_sign_type(text)?,
        None => match args.signature.len() {
            32 => SignType::Md5,
            64 => SignType::Sha256,
            n => {
                return Err(Failure::Usage(format!("--signature has {n} characters; MD5 has 32 hex digits, SHA256 64")))
            }
        },
    };
    let params = parse_params(&args.params)?;
    let key = ClientKey::new(args.key);
    if sign::verify(pairs(&params), &key, sign_type, &args.signature) {
        println!("OK: the {} signature matches", sign_type.header_value());
        Ok(())
    } else {
        let expected = sign::sign(pairs(&params), &key, sign_type);
        let canonical = sign::canonical_string(pairs(&params));
        Err(Failure::Mismatch(format!(
            "MISMATCH: the {} signature does not match; these parameters and key sign as {expected}\nsigned string (key not shown): {canonical}",
            sign_type.header_value()
        )))
    }
}

pub fn verify_notify(args: VerifyNotifyArgs) -> Result<(), Failure> {
    let mut body = Vec::new();
    let read = if args.body_file == "-" {
        std::io::stdin().read_to_end(&mut body).map(|_| ())
    } else {
        std::fs::read(&args.body_file).map(|b| body = b)
    };
    read.map_err(|e| Failure::Usage(format!("cannot read {}: {e}", args.body_file)))?;
    let key = ClientKey::new(args.key);
    if sign::verify_notification(&body, &key, &args.signature) {
        println!("OK: the notification signature matches the {} body bytes", body.len());
        Ok(())
    } else {
        Err(Failure::Mismatch(format!(
            "MISMATCH: MD5(body + key) over the {} body bytes is {}; check that the body is byte-for-byte what was received",
            body.len(),
            sign::sign_notification(&body, &key)
        )))
    }
}
