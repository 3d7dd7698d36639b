//! Argon2id password hashing on a bounded pool of blocking threads.
//!
//! Each hash takes about 25 ms of CPU and 19 MiB of working memory. Unbounded, a burst of
//! logins starves every other request and balloons memory, so hashing holds one of a few
//! permits (one per core); a caller that cannot get a permit in time is told to come back later.
//!
//! The working memory is kept between hashes and handed from one to the next. Allocated afresh
//! for each hash, the kernel had to fault in and zero its 4,864 pages every time, and, once it
//! was given back, shoot them out of the TLB of every core running the server: during a flood
//! of 64 logins on PostgreSQL the reads' p99 was 35-64 ms, against 10 ms with the memory
//! reused (bench/RESULTS.md). Memory no hash used for [`RELEASE_IDLE_MEMORY_AFTER`] is freed,
//! so the server returns to its idle size after a flood.

use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use anyhow::Context;
use argon2::password_hash::phc::{Output, ParamsString, PasswordHash, Salt};
use argon2::{Algorithm, Argon2, Block, Params, Version};
use rand::RngCore;
use tokio::sync::Semaphore;

use crate::domain::messages;
use crate::error::{Error, ErrorKind, Result};

/// Argon2id with m=19456 KiB, t=2, p=1 (OWASP's recommendation).
fn params() -> Params {
    Params::new(19_456, 2, 1, None).expect("valid Argon2 parameters")
}

fn argon2() -> Argon2<'static> {
    Argon2::new(Algorithm::Argon2id, Version::V0x13, params())
}

/// How long a request may wait for a hashing permit before it is answered 503.
const PERMIT_WAIT: Duration = Duration::from_secs(5);
/// Working memory unused this long is given back to the operating system.
pub const RELEASE_IDLE_MEMORY_AFTER: Duration = Duration::from_secs(2);

#[derive(Clone)]
pub struct PasswordHasher {
    permits: Arc<Semaphore>,
    memory: Arc<WorkingMemory>,
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
        let mut memory = WorkingMemory::allocate();
        let dummy =
            hash_with(&crate::security::random_token(), &mut memory).expect("hashing works");
        PasswordHasher {
            permits: Arc::new(Semaphore::new(concurrency.max(1))),
            memory: Arc::default(),
            dummy_hash: Arc::new(dummy),
        }
    }

    pub async fn hash(&self, password: &str) -> Result<String> {
        let password = password.to_owned();
        self.run(move |memory| hash_with(&password, memory)).await
    }

    pub async fn verify(&self, password: &str, stored: &str) -> Result<Verification> {
        let (password, stored) = (password.to_owned(), stored.to_owned());
        self.run(move |memory| Ok(verify_with(&password, &stored, memory)))
            .await
    }

    /// Spends the time of a verification and always fails: used when the login is unknown.
    pub async fn verify_dummy(&self, password: &str) -> Result<Verification> {
        let stored = self.dummy_hash.as_str().to_owned();
        let password = password.to_owned();
        self.run(move |memory| Ok(verify_with(&password, &stored, memory)))
            .await?;
        Ok(Verification {
            matches: false,
            needs_rehash: false,
        })
    }

    /// Blocks of working memory held for the next hashes (for tests and metrics).
    pub fn idle_memory_blocks(&self) -> usize {
        self.memory.idle_count()
    }

    async fn run<T: Send + 'static>(
        &self,
        work: impl FnOnce(&mut [Block]) -> anyhow::Result<T> + Send + 'static,
    ) -> Result<T> {
        let permit = tokio::time::timeout(PERMIT_WAIT, self.permits.clone().acquire_owned())
            .await
            .map_err(|_| {
                Error::new(ErrorKind::Unavailable, messages::SERVICE_UNAVAILABLE)
                    .with_retry_after(1)
            })?
            .context("the hashing pool is closed")?;
        let memory = self.memory.clone();
        let runtime = tokio::runtime::Handle::current();
        // The permit and the memory go back inside the blocking task, so that a request given
        // up by its client never lets more hashes run, or more memory be held, than permits.
        let result = tokio::task::spawn_blocking(move || {
            let mut blocks = memory.take();
            let result = work(&mut blocks);
            memory.put(blocks, Instant::now());
            drop(permit);
            runtime.spawn(async move {
                tokio::time::sleep(RELEASE_IDLE_MEMORY_AFTER).await;
                memory.release_idle(Instant::now());
            });
            result
        })
        .await
        .context("the hashing task failed")??;
        Ok(result)
    }
}

/// Argon2 working memory for today's parameters, kept between hashes.
#[derive(Default)]
struct WorkingMemory {
    /// Each with the time it was last given back.
    idle: Mutex<Vec<(Vec<Block>, Instant)>>,
}

impl WorkingMemory {
    fn allocate() -> Vec<Block> {
        vec![Block::default(); params().block_count()]
    }

    fn take(&self) -> Vec<Block> {
        self.lock()
            .pop()
            .map_or_else(Self::allocate, |(blocks, _)| blocks)
    }

    fn put(&self, blocks: Vec<Block>, now: Instant) {
        self.lock().push((blocks, now));
    }

    /// Frees the memory no hash used for [`RELEASE_IDLE_MEMORY_AFTER`] before `now`.
    fn release_idle(&self, now: Instant) {
        self.lock()
            .retain(|(_, since)| now.saturating_duration_since(*since) < RELEASE_IDLE_MEMORY_AFTER);
    }

    fn idle_count(&self) -> usize {
        self.lock().len()
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Vec<(Vec<Block>, Instant)>> {
        self.idle
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }
}

/// A PHC string (`$argon2id$v=19$m=19456,t=2,p=1$<salt>$<hash>`) of `password` with a random
/// salt and today's parameters, computed in `memory`.
fn hash_with(password: &str, memory: &mut [Block]) -> anyhow::Result<String> {
    let argon2 = argon2();
    let mut salt = [0u8; 16];
    rand::rng().fill_bytes(&mut salt);
    let mut out = [0u8; Params::DEFAULT_OUTPUT_LEN];
    argon2
        .hash_password_into_with_memory(password.as_bytes(), &salt, &mut out, memory)
        .map_err(|e| anyhow::anyhow!("hashing a password: {e}"))?;
    let hash = PasswordHash {
        algorithm: Algorithm::Argon2id.ident(),
        version: Some(Version::V0x13.into()),
        params: ParamsString::try_from(argon2.params())
            .map_err(|e| anyhow::anyhow!("encoding Argon2 parameters: {e}"))?,
        salt: Some(Salt::new(&salt).map_err(|e| anyhow::anyhow!("encoding a salt: {e}"))?),
        hash: Some(Output::new(&out).map_err(|e| anyhow::anyhow!("encoding a hash: {e}"))?),
    };
    Ok(hash.to_string())
}

/// Checks `password` against a stored PHC string, with the parameters it names, computing in
/// `memory` (or in memory of its own, should an old hash need more).
fn verify_with(password: &str, stored: &str, memory: &mut [Block]) -> Verification {
    let refused = Verification {
        matches: false,
        needs_rehash: false,
    };
    let Ok(parsed) = PasswordHash::new(stored) else {
        return refused;
    };
    let (Some(salt), Some(expected)) = (&parsed.salt, &parsed.hash) else {
        return refused;
    };
    let Ok(algorithm) = Algorithm::try_from(parsed.algorithm.as_str()) else {
        return refused;
    };
    let version = match parsed.version.map(Version::try_from).transpose() {
        Ok(version) => version.unwrap_or_default(),
        Err(_) => return refused,
    };
    let Ok(stored_params) = Params::try_from(&parsed) else {
        return refused;
    };
    let mut own_memory = Vec::new();
    let memory = if stored_params.block_count() <= memory.len() {
        memory
    } else {
        own_memory.resize(stored_params.block_count(), Block::default());
        &mut own_memory[..]
    };
    let mut out = vec![0u8; expected.len()];
    let computed = Argon2::new(algorithm, version, stored_params.clone())
        .hash_password_into_with_memory(password.as_bytes(), salt.as_ref(), &mut out, memory);
    // `Output` compares in constant time.
    let matches = computed.is_ok() && Output::new(&out).is_ok_and(|out| &out == expected);
    let wanted = params();
    let weaker = stored_params.m_cost() < wanted.m_cost()
        || stored_params.t_cost() < wanted.t_cost()
        || stored_params.p_cost() < wanted.p_cost();
    Verification {
        matches,
        needs_rehash: algorithm != Algorithm::Argon2id || weaker,
    }
}

#[cfg(test)]
mod tests {
    use argon2::password_hash::{PasswordHasher as _, PasswordVerifier as _};

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
        assert!(
            !hasher
                .verify("correct-horse", "not a hash")
                .await
                .unwrap()
                .matches
        );
    }

    #[test]
    fn hashes_agree_with_the_argon2_crates_own() {
        let mut memory = WorkingMemory::allocate();
        let theirs = argon2().hash_password(b"pw123456").unwrap().to_string();
        assert!(verify_with("pw123456", &theirs, &mut memory).matches);
        assert!(!verify_with("pw1234567", &theirs, &mut memory).matches);
        let ours = hash_with("pw123456", &mut memory).unwrap();
        assert!(
            argon2()
                .verify_password(b"pw123456", &PasswordHash::new(&ours).unwrap())
                .is_ok()
        );
        // Reused memory gives the same answer as fresh memory.
        assert!(verify_with("pw123456", &ours, &mut memory).matches);
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
        let outcome = verify_with("pw123456", &weak, &mut WorkingMemory::allocate());
        assert!(outcome.matches && outcome.needs_rehash);
        // A hash that needs more memory than today's parameters still verifies.
        let stronger = Argon2::new(
            Algorithm::Argon2id,
            Version::V0x13,
            Params::new(32_768, 2, 1, None).unwrap(),
        )
        .hash_password(b"pw123456")
        .unwrap()
        .to_string();
        let outcome = verify_with("pw123456", &stronger, &mut WorkingMemory::allocate());
        assert!(outcome.matches && !outcome.needs_rehash);
    }

    #[tokio::test]
    async fn working_memory_is_handed_from_hash_to_hash() {
        let hasher = PasswordHasher::new(2);
        let hash = hasher.hash("pw123456").await.unwrap();
        assert_eq!(hasher.idle_memory_blocks(), 1);
        hasher.verify("pw123456", &hash).await.unwrap();
        assert_eq!(
            hasher.idle_memory_blocks(),
            1,
            "the same memory served both"
        );
    }

    #[test]
    fn working_memory_is_freed_once_idle() {
        let memory = WorkingMemory::default();
        let start = Instant::now();
        memory.put(memory.take(), start);
        memory.put(WorkingMemory::allocate(), start + Duration::from_secs(1));
        memory.release_idle(start + RELEASE_IDLE_MEMORY_AFTER);
        assert_eq!(
            memory.idle_count(),
            1,
            "the one used a second later is kept"
        );
        memory.release_idle(start + Duration::from_secs(1) + RELEASE_IDLE_MEMORY_AFTER);
        assert_eq!(memory.idle_count(), 0);
    }
}
