//! A mentorship program server, wire-compatible with the AnitaB.org Mentorship System API.
//!
//! Layers: `http` (parse, authenticate, render) -> `services` (workflows, rules, transactions)
//! -> `domain` (pure rules) and `store` (SQL for SQLite and PostgreSQL). Mail goes through the
//! outbox in `mail`; scheduled work lives in `jobs`.
#![forbid(unsafe_code)]

pub mod app;
pub mod config;
pub mod domain;
pub mod error;
pub mod http;
pub mod jobs;
pub mod mail;
pub mod metrics;
pub mod security;
pub mod services;
pub mod store;
