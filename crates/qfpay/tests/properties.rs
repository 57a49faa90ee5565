//! Properties of signing that must hold for any parameters and key.

use proptest::collection::btree_map;
use proptest::prelude::*;
use qfpay::sign::{self, SignType};
use qfpay::ClientKey;

fn name() -> impl Strategy<Value = String> {
    "[a-zA-Z_][a-zA-Z0-9_]{0,11}".prop_filter("sign and sign_type are skipped", |n| n != "sign" && n != "sign_type")
}

fn params() -> impl Strategy<Value = Vec<(String, String)>> {
    btree_map(name(), "\\PC{1,16}", 1..10).prop_map(|m| m.into_iter().collect())
}

fn sign_type() -> impl Strategy<Value = SignType> {
    prop_oneof![Just(SignType::Md5), Just(SignType::Sha256)]
}

fn as_pairs(p: &[(String, String)]) -> impl Iterator<Item = (&str, &str)> {
    p.iter().map(|(k, v)| (k.as_str(), v.as_str()))
}

proptest! {
    #[test]
    fn order_never_matters(p in params(), key in "\\PC{0,16}", t in sign_type(), seed in any::<u64>()) {
        let key = ClientKey::new(key);
        let mut shuffled = p.clone();
        let n = shuffled.len();
        shuffled.rotate_left((seed as usize) % n);
        if seed % 2 == 0 { shuffled.reverse(); }
        prop_assert_eq!(sign::sign(as_pairs(&p), &key, t), sign::sign(as_pairs(&shuffled), &key, t));
    }

    #[test]
    fn an_empty_value_equals_an_absent_one(p in params(), extra in name(), key in "\\PC{0,16}", t in sign_type()) {
        prop_assume!(!p.iter().any(|(k, _)| *k == extra));
        let key = ClientKey::new(key);
        let mut with_empty = p.clone();
        with_empty.push((extra, String::new()));
        prop_assert_eq!(sign::sign(as_pairs(&p), &key, t), sign::sign(as_pairs(&with_empty), &key, t));
    }

    #[test]
    fn any_change_of_a_value_or_the_key_changes_it(p in params(), key in "\\PC{1,16}", t in sign_type(), idx in any::<usize>(), suffix in "[a-z0-9]{1,4}") {
        let k = ClientKey::new(key.clone());
        let original = sign::sign(as_pairs(&p), &k, t);
        let mut changed = p.clone();
        let i = idx % changed.len();
        changed[i].1.push_str(&suffix);
        prop_assert_ne!(&original, &sign::sign(as_pairs(&changed), &k, t));
        let other_key = ClientKey::new(format!("{key}{suffix}"));
        prop_assert_ne!(&original, &sign::sign(as_pairs(&p), &other_key, t));
    }

    #[test]
    fn verify_accepts_what_sign_makes(p in params(), key in "\\PC{0,16}", t in sign_type()) {
        let key = ClientKey::new(key);
        let s = sign::sign(as_pairs(&p), &key, t);
        prop_assert_eq!(s.len(), t.hex_len());
        prop_assert!(sign::verify(as_pairs(&p), &key, t, &s));
        prop_assert!(sign::verify(as_pairs(&p), &key, t, &s.to_lowercase()));
    }

    #[test]
    fn notifications_verify_over_raw_bytes(body in proptest::collection::vec(any::<u8>(), 0..256), key in "\\PC{1,16}", flip in any::<usize>()) {
        let key = ClientKey::new(key);
        let s = sign::sign_notification(&body, &key);
        prop_assert!(sign::verify_notification(&body, &key, &s));
        if !body.is_empty() {
            let mut tampered = body.clone();
            let i = flip % tampered.len();
            tampered[i] ^= 0x01;
            prop_assert!(!sign::verify_notification(&tampered, &key, &s));
        }
    }
}
