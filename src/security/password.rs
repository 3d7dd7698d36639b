//! Argon2id password hashing on a bounded pool of blocking threads.
//!
//! Each hash takes about 25 ms of CPU and 19 MiB of memory. Unbounded, a burst of logins
//! starves every other request and balloons memory, so hashing holds one of a few permits
//! (one per core); a caller that cannot get a permit in time is told to come back later.
//! (Fewer permits, or a lower CPU priority for the hashing threads, were measured and did not
//! shorten the reads' p99 during a login flood on PostgreSQL; see bench/RESULTS.md.)

use std::sync::Arc;
use std::time::Duration;

use anyhow::Context;
use argon2::password_hash::phc::PasswordHash;
use argon2::password_hash::{PasswordHasher as _, PasswordVerifier as _};
use argon2::{Algorithm, Argon2, Params, Version};
use tokio::sync::Semaphore;

use crate::domain::messages;
use crate::error::{Error, Result};

/// Argon2id with m=19456 KiB, t=2, p=1 (OWASP's recommendation, security.md).
fn argon2() -> Argon2<'static> {
    let params = Params::new(19_456, 2, 1, None).expect("valid Argon2 parameters");
    Argon2::new(Algorithm::Argon2id, Version::V0x13, params)
}

/// How long a request may wait for a hashing permit before it is answered 503.
const PERMIT_WAIT: Duration = Duration::from_secs(5);

#[derive(Clone)]
pub struct PasswordHasher {
    permits: Arc<Semaphore>,
    /// A hash of a random password, verified against when a login names no account, so that
    /// an unknown login costs the same time as a wrong password.
    dummy_hash: Arc<String>,
}

/// The outcome of checking a password.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Verification {
    pub matches: bool,
    /// The stored hash uses weaker parameters than today's: store a new one.
    pub needs_rehash: bool,
}

impl PasswordHasher {
    pub fn new(concurrency: usize) -> PasswordHasher {
        let dummy = hash_blocking(&crate::security::random_token()).expect("hashing works");
        PasswordHasher {
            permits: Arc::new(Semaphore::new(concurrency.max(1))),
            dummy_hash: Arc::new(dummy),
        }
    }

    pub async fn hash(&self, password: &str) -> Result<String> {
        let password = password.to_owned();
        self.run(move || hash_blocking(&password)).await
    }

    pub async fn verify(&self, password: &str, stored: &str) -> Result<Verification> {
        let (password, stored) = (password.to_owned(), stored.to_owned());
        self.run(move || Ok(verify_blocking(&password, &stored)))
            .await
    }

    /// Spends the time of a verification and always fails: used when the login is unknown.
    pub async fn verify_dummy(&self, password: &str) -> Result<Verification> {
        let stored = self.dummy_hash.as_str().to_owned();
        let password = password.to_owned();
        self.run(move || Ok(verify_blocking(&password, &stored)))
            .await?;
        Ok(Verification {
            matches: false,
            needs_rehash: false,
        })
    }

    async fn run<T: Send + 'static>(
        &self,
        work: impl FnOnce() -> anyhow::Result<T> + Send + 'static,
    ) -> Result<T> {
        let permit = tokio::time::timeout(PERMIT_WAIT, self.permits.clone().acquire_owned())
            .await
            .map_err(|_| {
                Error::new(
                    axum::http::StatusCode::SERVICE_UNAVAILABLE,
                    messages::SERVICE_UNAVAILABLE,
                )
                .with_retry_after(1)
            })?
            .context("the hashing pool is closed")?;
        let result = tokio::task::spawn_blocking(move || {
            let _permit = permit;
            work()
        })
        .await
        .context("the hashing task failed")??;
        Ok(result)
    }
}

fn hash_blocking(password: &str) -> anyhow::Result<String> {
    let hash = argon2()
        .hash_password(password.as_bytes())
        .map_err(|e| anyhow::anyhow!("hashing a password: {e}"))?;
    Ok(hash.to_string())
}

fn verify_blocking(password: &str, stored: &str) -> Verification {
    let Ok(parsed) = PasswordHash::new(stored) else {
        return Verification {
            matches: false,
            needs_rehash: false,
        };
    };
    let matches = argon2()
        .verify_password(password.as_bytes(), &parsed)
        .is_ok();
    let current = argon2();
    let wanted = current.params();
    let weaker = |p: Params| {
        p.m_cost() < wanted.m_cost() || p.t_cost() < wanted.t_cost() || p.p_cost() < wanted.p_cost()
    };
    let needs_rehash = parsed.algorithm != Algorithm::Argon2id.ident()
        || Params::try_from(&parsed).map(weaker).unwrap_or(true);
    Verification {
        matches,
        needs_rehash,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn a_hash_verifies_its_password_only() {
        let hasher = PasswordHasher::new(1);
        let hash = hasher.hash("correct-horse").await.unwrap();
        assert!(hash.starts_with("$argon2id$v=19$m=19456,t=2,p=1$"));
        let right = hasher.verify("correct-horse", &hash).await.unwrap();
        assert_eq!(
            right,
            Verification {
                matches: true,
                needs_rehash: false
            }
        );
        assert!(!hasher.verify("wrong-horse", &hash).await.unwrap().matches);
        assert!(!hasher.verify_dummy("correct-horse").await.unwrap().matches);
    }

    #[test]
    fn weaker_stored_parameters_ask_for_a_rehash() {
        let weak = Argon2::new(
            Algorithm::Argon2id,
            Version::V0x13,
            Params::new(8, 1, 1, None).unwrap(),
        )
        .hash_password(b"pw123456")
        .unwrap()
        .to_string();
        let outcome = verify_blocking("pw123456", &weak);
        assert!(outcome.matches && outcome.needs_rehash);
    }
}
