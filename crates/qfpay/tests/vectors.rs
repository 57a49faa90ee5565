//! Every vector of `tests/data/signatures.json` (copied unchanged from `shared/vectors/`),
//! computed by the guide's own reference code, must sign and verify here.

use qfpay::sign::{self, SignType};
use qfpay::ClientKey;
use serde_json::Value;

struct Vector {
    name: String,
    params: Vec<(String, String)>,
    key: ClientKey,
    sign_type: SignType,
    signature: String,
}

fn vectors() -> Vec<Vector> {
    let text = include_str!("data/signatures.json");
    let doc: Value = serde_json::from_str(text).expect("signatures.json is JSON");
    let list = doc["vectors"].as_array().expect("a vectors list");
    list.iter()
        .map(|v| Vector {
            name: v["name"].as_str().unwrap().to_owned(),
            params: v["params"]
                .as_object()
                .unwrap()
                .iter()
                .map(|(k, v)| (k.clone(), v.as_str().unwrap().to_owned()))
                .collect(),
            key: ClientKey::new(v["key"].as_str().unwrap()),
            sign_type: SignType::parse(v["sign_type"].as_str().unwrap()).unwrap(),
            signature: v["signature"].as_str().unwrap().to_owned(),
        })
        .collect()
}

fn pairs(v: &Vector) -> impl Iterator<Item = (&str, &str)> {
    v.params.iter().map(|(k, v)| (k.as_str(), v.as_str()))
}

#[test]
fn all_vectors_sign_as_the_reference_does() {
    let all = vectors();
    assert_eq!(all.len(), 20, "the vector file changed size");
    for v in &all {
        let got = sign::sign(pairs(v), &v.key, v.sign_type);
        assert_eq!(got, v.signature, "vector {:?} ({:?})", v.name, v.sign_type);
    }
}

#[test]
fn all_vectors_verify_in_either_case_and_reject_a_flipped_digit() {
    for v in &vectors() {
        assert!(sign::verify(pairs(v), &v.key, v.sign_type, &v.signature), "vector {:?}", v.name);
        assert!(
            sign::verify(pairs(v), &v.key, v.sign_type, &v.signature.to_lowercase()),
            "vector {:?} lower case",
            v.name
        );
        let mut wrong = v.signature.clone().into_bytes();
        wrong[0] = if wrong[0] == b'0' { b'1' } else { b'0' };
        let wrong = String::from_utf8(wrong).unwrap();
        assert!(!sign::verify(pairs(v), &v.key, v.sign_type, &wrong), "vector {:?} flipped", v.name);
    }
}
