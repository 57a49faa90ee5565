//! `answer_signature`: what the answers' `X-QF-SIGN` covers. QFPay "encourages" verifying it
//! and never says over what, so every signed answer the check received is tried under each
//! reading of [`AnswerReading`], and the finding is the readings that hold for all of them.
//!
//! Why the check's answers tell the four cases apart: a query answer has top-level `page` and
//! `page_size` and its `data` is a list, so the guide's reading (the `data` object's fields,
//! else the top level) signs it exactly as `top-level` does, while the raw body differs. A
//! payment answer in the guide's shape carries a `data` object beside the flat fields, and
//! that separates `sorted-data` from `top-level`. When no answer had a `data` object, both
//! hold on every answer seen; `sorted-data` is named (it reads the same on such answers) with a
//! note. When no reading holds for all, the worker cannot verify and must only log.

use qfpay::sign::AnswerReading;
use qfpay::{ClientKey, RespCode, SignType};

use super::client::Answer;

/// What the answers' signatures turned out to be.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AnswerSignature {
    /// No answer carried `X-QF-SIGN`.
    Unsigned,
    /// This reading held for every signed answer; `also_top_level` when `top-level` held too
    /// (no answer had a `data` object to tell them apart).
    Reading {
        /// The reading.
        reading: AnswerReading,
        /// Whether `top-level` held as well.
        also_top_level: bool,
    },
    /// No reading held for every signed answer.
    Unknown,
}

impl AnswerSignature {
    /// The report's word: `none`, a reading's name, or `unknown`.
    pub fn name(self) -> &'static str {
        match self {
            AnswerSignature::Unsigned => "none",
            AnswerSignature::Reading { reading, .. } => reading.name(),
            AnswerSignature::Unknown => "unknown",
        }
    }
}

/// The finding, with what it rests on.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Finding {
    /// The reading found.
    pub signature: AnswerSignature,
    /// The hash of the signatures, when all used the same one.
    pub sign_type: Option<SignType>,
    /// Some signature had 64 hex digits and no `X-QF-SIGNTYPE` (SHA256 undeclared: a client
    /// that reads a missing header as MD5, as the guide says, would reject it).
    pub undeclared_sha256: bool,
    /// How many answers were signed, of how many.
    pub signed: usize,
    /// How many answers were looked at.
    pub total: usize,
}

impl Finding {
    /// The worker's `QFPAY_ANSWER_SIGNATURE`: `off` for unsigned answers; the reading when the
    /// worker can enforce it, which it does on every answer, reading a missing `X-QF-SIGNTYPE`
    /// as MD5; otherwise `log` (accept, and log which reading matched): when nothing verifies,
    /// when some answers came unsigned, or when SHA256 came undeclared, enforcing would refuse
    /// good answers.
    pub fn setting(&self) -> &'static str {
        match self.signature {
            AnswerSignature::Unsigned => "off",
            AnswerSignature::Reading { reading, .. } if self.enforceable() => reading.name(),
            AnswerSignature::Reading { .. } | AnswerSignature::Unknown => "log",
        }
    }

    /// Whether the worker could enforce the reading found on every answer seen.
    pub fn enforceable(&self) -> bool {
        self.signed == self.total && !self.undeclared_sha256
    }
}

/// Decides from every answer received (HTTP 200 ones). Answers refusing a call's own signature
/// (`1108`) are left out: the worker never sends such calls, and a gateway may well not sign
/// an answer to a caller it could not authenticate.
pub fn decide(answers: &[Answer], key: &ClientKey) -> Finding {
    let answers: Vec<&Answer> =
        answers.iter().filter(|a| a.respcd().is_none_or(|c| c != RespCode::SIGNATURE_ERROR)).collect();
    let signed: Vec<(&Answer, &str)> = answers
        .iter()
        .copied()
        .filter_map(|a| a.signature.as_deref().map(str::trim).filter(|s| !s.is_empty()).map(|s| (a, s)))
        .collect();
    let mut finding = Finding {
        signature: AnswerSignature::Unsigned,
        sign_type: None,
        undeclared_sha256: false,
        signed: signed.len(),
        total: answers.len(),
    };
    if signed.is_empty() {
        return finding;
    }
    let mut holding = AnswerReading::ALL.to_vec();
    let mut hashes = Vec::new();
    for (answer, signature) in &signed {
        let declared = answer.sign_type.as_deref().and_then(SignType::parse);
        // Without the header the guide says MD5; a 64-digit signature can only be SHA256, so it
        // is read as such and reported, rather than failing every reading for the wrong hash.
        let hash = declared.unwrap_or(if signature.len() == SignType::Sha256.hex_len() {
            SignType::Sha256
        } else {
            SignType::Md5
        });
        finding.undeclared_sha256 |= declared.is_none() && hash == SignType::Sha256;
        hashes.push(hash);
        holding.retain(|reading| reading.holds(&answer.body, key, hash, signature));
    }
    finding.sign_type = hashes.iter().all(|h| *h == hashes[0]).then_some(hashes[0]);
    finding.signature = match holding.as_slice() {
        [reading] => AnswerSignature::Reading { reading: *reading, also_top_level: false },
        [AnswerReading::SortedData, AnswerReading::TopLevel] => {
            AnswerSignature::Reading { reading: AnswerReading::SortedData, also_top_level: true }
        }
        _ => AnswerSignature::Unknown,
    };
    finding
}

#[cfg(test)]
mod tests {
    use super::*;

    const QUERY: &[u8] = br#"{"respcd":"0000","respmsg":"","resperr":"","page":"1","page_size":"10","data":[]}"#;
    const PAYMENT: &[u8] = br#"{"respcd":"0000","syssn":"S1","txamt":"100","data":{"txamt":"100","qf_trade_no":"S1"}}"#;

    fn key() -> ClientKey {
        ClientKey::new("KEY")
    }

    fn signed(body: &[u8], reading: Option<AnswerReading>, hash: SignType, declare: bool) -> Answer {
        let signature = reading.map(|r| r.expected(body, &key(), hash).expect("a JSON object"));
        let sign_type = (declare && signature.is_some()).then(|| hash.header_value().to_owned());
        Answer { status: 200, body: body.to_vec(), signature, sign_type }
    }

    fn run(reading: Option<AnswerReading>, hash: SignType, declare: bool, bodies: &[&[u8]]) -> Finding {
        let answers: Vec<Answer> = bodies.iter().map(|b| signed(b, reading, hash, declare)).collect();
        decide(&answers, &key())
    }

    #[test]
    fn each_reading_is_told_apart_by_a_query_and_a_payment() {
        for reading in AnswerReading::ALL {
            let found = run(Some(reading), SignType::Md5, false, &[QUERY, PAYMENT, QUERY]);
            assert_eq!(found.signature.name(), reading.name());
            assert_eq!(found.setting(), reading.name());
            assert_eq!((found.sign_type, found.signed, found.total), (Some(SignType::Md5), 3, 3));
        }
        let found = run(None, SignType::Md5, false, &[QUERY, PAYMENT]);
        assert_eq!((found.signature, found.setting(), found.sign_type), (AnswerSignature::Unsigned, "off", None));
    }

    #[test]
    fn flat_answers_alone_cannot_separate_sorted_data_from_top_level() {
        let found = run(Some(AnswerReading::TopLevel), SignType::Sha256, true, &[QUERY, QUERY]);
        let expected = AnswerSignature::Reading { reading: AnswerReading::SortedData, also_top_level: true };
        assert_eq!((found.signature, found.sign_type), (expected, Some(SignType::Sha256)));
        assert!(!found.undeclared_sha256);
    }

    #[test]
    fn undeclared_sha256_is_read_and_reported() {
        let found = run(Some(AnswerReading::RawBody), SignType::Sha256, false, &[QUERY, PAYMENT]);
        assert_eq!(found.signature.name(), "raw-body");
        assert!(found.undeclared_sha256);
        assert_eq!(found.setting(), "log", "the worker reads a missing X-QF-SIGNTYPE as MD5");
    }

    #[test]
    fn a_signature_no_reading_explains_is_unknown() {
        let mut answers = vec![signed(QUERY, Some(AnswerReading::SortedData), SignType::Md5, false)];
        answers.push(Answer { signature: Some("0".repeat(32)), ..signed(PAYMENT, None, SignType::Md5, false) });
        let found = decide(&answers, &key());
        assert_eq!((found.signature.name(), found.setting()), ("unknown", "log"));
        let unsigned_too = [
            signed(QUERY, None, SignType::Md5, false),
            signed(PAYMENT, Some(AnswerReading::TopLevel), SignType::Md5, false),
        ];
        let found = decide(&unsigned_too, &key());
        assert_eq!((found.signature.name(), found.signed, found.total), ("top-level", 1, 2));
        assert_eq!(found.setting(), "log", "enforcing would refuse the unsigned answers");
    }

    #[test]
    fn an_unsigned_refusal_of_the_calls_own_signature_does_not_count() {
        let refusal = br#"{"respcd":"1108","respmsg":"","resperr":"signature"}"#;
        let answers = [
            signed(refusal, None, SignType::Md5, false),
            signed(QUERY, Some(AnswerReading::TopLevel), SignType::Md5, false),
        ];
        let found = decide(&answers, &key());
        assert_eq!((found.setting(), found.signed, found.total), ("sorted-data", 1, 1));
    }
}
