//! The rules of the code's shape, checked on its source, so that a change that breaks one is
//! seen at once (docs/ARCHITECTURE.md explains them):
//!
//! - nothing imports the composition root (`app`);
//! - `domain` is pure and `services` know no HTTP;
//! - handlers (`http`) reach the database only through services;
//! - every store function that writes takes a transaction, never the pool;
//! - the published OpenAPI document changes only with its snapshot, `docs/openapi.json`.

use std::path::{Path, PathBuf};

const SRC: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/src");

/// Every `.rs` file under `dir`, with its source stripped of comments.
fn sources(dir: &str) -> Vec<(PathBuf, String)> {
    let mut files = Vec::new();
    let mut pending = vec![Path::new(SRC).join(dir)];
    while let Some(path) = pending.pop() {
        if path.is_dir() {
            for entry in std::fs::read_dir(&path).unwrap() {
                pending.push(entry.unwrap().path());
            }
        } else if path.extension().is_some_and(|e| e == "rs") {
            let source = std::fs::read_to_string(&path).unwrap();
            files.push((path, code_only(&source)));
        }
    }
    assert!(!files.is_empty(), "no source under {dir}");
    files
}

/// The source without its comment lines (a comment may name what the code must not use).
fn code_only(source: &str) -> String {
    source
        .lines()
        .filter(|line| !line.trim_start().starts_with("//"))
        .collect::<Vec<_>>()
        .join("\n")
}

/// The files under `dir` that mention any of `forbidden`, with what they mention.
fn offenders(dir: &str, forbidden: &[&str]) -> Vec<String> {
    let mut found = Vec::new();
    for (path, code) in sources(dir) {
        for needle in forbidden {
            if code.contains(needle) {
                found.push(format!("{} uses {needle}", path.display()));
            }
        }
    }
    found
}

#[test]
fn nothing_imports_the_composition_root() {
    let found: Vec<String> = offenders("", &["crate::app", "super::app"])
        .into_iter()
        .filter(|offence| !offence.contains("src/main.rs"))
        .collect();
    assert!(found.is_empty(), "{found:#?}");
}

#[test]
fn domain_is_pure_and_services_know_no_http() {
    let io = [
        "axum",
        "crate::http",
        "crate::store",
        "crate::services",
        "crate::state",
        "sqlx::",
        "tokio",
        "crate::mail",
        "crate::outbox",
    ];
    let found = offenders("domain", &io);
    assert!(found.is_empty(), "{found:#?}");
    let found = offenders("services", &["axum", "crate::http", "StatusCode"]);
    assert!(found.is_empty(), "{found:#?}");
    let found = offenders(
        "store",
        &["axum", "crate::http", "crate::services", "crate::state"],
    );
    assert!(found.is_empty(), "{found:#?}");
}

#[test]
fn handlers_reach_the_database_only_through_services() {
    let found = offenders("http", &["crate::store", "store::", "sqlx"]);
    assert!(found.is_empty(), "{found:#?}");
}

#[test]
fn every_store_function_that_writes_takes_a_transaction() {
    // `UPDATE ... SET`, not the `FOR UPDATE` of a locking read.
    let writes = ["INSERT INTO", "DELETE FROM", " SET ", "'merge'"];
    let mut found = Vec::new();
    for (path, code) in sources("store") {
        // Each function from its `fn` to the next one.
        let starts: Vec<usize> = code.match_indices("async fn ").map(|(i, _)| i).collect();
        for (n, &start) in starts.iter().enumerate() {
            let end = starts.get(n + 1).copied().unwrap_or(code.len());
            let function = &code[start..end];
            let signature = &function[..function.find('{').unwrap_or(function.len())];
            let body = &function[signature.len()..];
            let writes = writes.iter().any(|w| body.contains(w));
            if writes && !signature.contains("&mut Tx") {
                let name = signature.split('(').next().unwrap_or(signature);
                found.push(format!("{}: {name}", path.display()));
            }
        }
    }
    assert!(
        found.is_empty(),
        "writers that do not take a transaction: {found:#?}"
    );
}

/// A change of the published contract must show as a diff of `docs/openapi.json`. After an
/// intended change: `UPDATE_OPENAPI_SNAPSHOT=1 cargo test --test api openapi`, then review and
/// commit the file.
#[test]
fn the_openapi_document_matches_its_snapshot() {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("docs/openapi.json");
    let current = mentorship::http::openapi_document()
        .to_pretty_json()
        .unwrap()
        + "\n";
    if std::env::var_os("UPDATE_OPENAPI_SNAPSHOT").is_some() {
        std::fs::write(&path, &current).unwrap();
    }
    let snapshot = std::fs::read_to_string(&path).unwrap_or_default();
    assert!(
        snapshot == current,
        "the OpenAPI document differs from docs/openapi.json; if the change is intended, run \
         UPDATE_OPENAPI_SNAPSHOT=1 cargo test --test api openapi and commit the file"
    );
}
