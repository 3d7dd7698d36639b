//! Cryptography used by the services: key derivation, password hashing, access and refresh
//! tokens, and the random one-time tokens sent by e-mail.

pub mod jwt;
pub mod password;
pub mod signed_link;

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use hkdf::Hkdf;
use rand::RngCore;
use sha2::{Digest, Sha256};

/// Per-purpose keys derived from `SECRET_KEY`, so that a key leaked or rotated for one purpose
/// says nothing about the others, and a signature made for one purpose never verifies for another.
#[derive(Clone)]
pub struct Keys {
    pub jwt: [u8; 32],
    pub signed_links: [u8; 32],
    /// Names the link key in signed links, so a rotated `SECRET_KEY` can be told apart.
    pub signed_links_key_id: String,
}

impl Keys {
    pub fn derive(secret: &[u8]) -> Keys {
        let hkdf = Hkdf::<Sha256>::new(Some(b"mentorship"), secret);
        let expand = |info: &[u8]| {
            let mut key = [0u8; 32];
            hkdf.expand(info, &mut key)
                .expect("32 bytes is a valid HKDF-SHA256 length");
            key
        };
        let signed_links = expand(b"substitute-invitation-links/v1");
        let key_id = URL_SAFE_NO_PAD.encode(&Sha256::digest(signed_links)[..6]);
        Keys {
            jwt: expand(b"jwt/v1"),
            signed_links,
            signed_links_key_id: key_id,
        }
    }
}

impl std::fmt::Debug for Keys {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Keys(..)")
    }
}

/// A fresh 256-bit random token, URL-safe.
pub fn random_token() -> String {
    let mut bytes = [0u8; 32];
    rand::rng().fill_bytes(&mut bytes);
    URL_SAFE_NO_PAD.encode(bytes)
}

/// How one-time tokens are stored: only their SHA-256, so a database leak gives no usable link.
pub fn token_hash(token: &str) -> String {
    let digest = Sha256::digest(token.as_bytes());
    digest.iter().map(|b| format!("{b:02x}")).collect()
}

/// Compares two secrets in time that depends only on their lengths, never on where they differ.
pub fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len() && a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}
