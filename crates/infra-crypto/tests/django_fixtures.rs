//! Every hash Django 5.2 wrote into the fixtures (made by
//! `deploy/django-fixtures/make-fixtures.sh`) matches its user's password
//! and nothing else, as Django's `check_password` said of it.

use std::collections::HashMap;

use authusers_infra_crypto::django::{self, DjangoAlgorithm, StoredHash};
use serde::Deserialize;

const FIXTURES: &str = concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/../api-actix/tests/fixtures/django"
);

#[derive(Deserialize)]
struct Record {
    model: String,
    pk: serde_json::Value,
    fields: HashMap<String, serde_json::Value>,
}

#[derive(Deserialize)]
struct Known {
    password: String,
    hasher: String,
}

fn stored_hashes() -> HashMap<String, String> {
    let dump = std::fs::read_to_string(format!("{FIXTURES}/users.json")).unwrap();
    let records: Vec<Record> = serde_json::from_str(&dump).unwrap();
    records
        .into_iter()
        .filter(|record| record.model == "users.user")
        .map(|record| {
            let hash = record.fields["password"].as_str().unwrap().to_owned();
            (record.pk.to_string(), hash)
        })
        .collect()
}

#[test]
fn every_hash_django_wrote_matches_its_password_and_nothing_else() {
    let hashes = stored_hashes();
    let known: HashMap<String, Known> = serde_json::from_str(
        &std::fs::read_to_string(format!("{FIXTURES}/passwords.json")).unwrap(),
    )
    .unwrap();
    let mut algorithms = std::collections::BTreeSet::new();
    for (pk, user) in &known {
        let stored = &hashes[pk];
        let StoredHash::Django(algorithm) = StoredHash::of(stored) else {
            panic!("user {pk}: {stored} is not one of Django's formats");
        };
        assert_eq!(algorithm.as_str(), user.hasher, "user {pk}");
        algorithms.insert(algorithm.as_str());
        assert!(django::verify(&user.password, stored), "user {pk}");
        assert!(
            !django::verify(&format!("{}x", user.password), stored),
            "user {pk}"
        );
        assert!(!django::verify("", stored), "user {pk}");
    }
    // Every hasher is there, argon2 in both its variants.
    assert_eq!(algorithms.len(), 6, "{algorithms:?}");
    let argon2: Vec<&String> = hashes
        .values()
        .filter(|hash| StoredHash::of(hash) == StoredHash::Django(DjangoAlgorithm::Argon2))
        .collect();
    assert!(argon2
        .iter()
        .any(|hash| hash.starts_with("argon2$argon2id$")));
    assert!(argon2
        .iter()
        .any(|hash| hash.starts_with("argon2$argon2i$")));
}

#[test]
fn an_unusable_password_matches_nothing() {
    let hashes = stored_hashes();
    let unusable: Vec<&String> = hashes.values().filter(|h| h.starts_with('!')).collect();
    assert_eq!(unusable.len(), 1);
    assert_eq!(StoredHash::of(unusable[0]), StoredHash::Unusable);
    assert!(!django::verify("", unusable[0]));
    assert!(!django::verify(unusable[0], unusable[0]));
}
