//! HTTP-level tests: each starts the real server on port 0 against a fresh database, on SQLite
//! and on PostgreSQL, and reads e-mail from an SMTP server inside the test.

#[allow(dead_code)] // Shared by every area; not each uses every helper.
mod helpers;

mod accounts;
mod admin;
mod audit;
mod cli;
mod console;
mod directory;
mod export;
mod hardening;
mod idempotency;
mod instances;
mod meetings;
mod operations;
mod query_plans;
mod relation_rules;
mod relations;
mod signed_links;
mod structure;
mod substitutes;
mod users;
mod web_browser;
mod webapp;
