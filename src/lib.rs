//! A mentorship program server, wire-compatible with the AnitaB.org Mentorship System API.
//!
//! Layers, each knowing only those below it: `http` (parse, authenticate, render) ->
//! `services` (one function per use case, one unit of work each) -> `domain` (pure rules,
//! commands and views) and `store` (SQL for SQLite and PostgreSQL). Messages a change must send
//! leave through the `outbox`; scheduled work lives in `jobs`. `app` assembles it all and is
//! imported by nothing. docs/ARCHITECTURE.md is the guided tour.
#![forbid(unsafe_code)]

pub mod app;
pub mod config;
pub mod context;
pub mod domain;
pub mod error;
pub mod files;
pub mod http;
pub mod jobs;
pub mod mail;
pub mod metrics;
pub mod outbox;
pub mod security;
pub mod services;
pub mod state;
pub mod store;
