//! Signed links for answering a substitute invitation from an e-mail (docs/SECURITY.md).
//!
//! A link is `<PUBLIC_URL>/meeting/<id>/substitute/<decision>?invitee=..&nonce=..&exp=..&kid=..&signature=..`.
//! The signature is HMAC-SHA256, under a key derived for this purpose only, over a text that
//! names the purpose and version, the method and path of the action (rebuilt from the typed
//! route parameters, never the raw request path), the decision, the invitee, the invitation's
//! nonce, the expiry and the key id. The query must hold exactly those keys, once each.

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use hmac::{Hmac, KeyInit, Mac};
use sha2::Sha256;

const PURPOSE: &str = "mentorship/substitute-invitation/v1";
const SIGNED_KEYS: [&str; 4] = ["invitee", "nonce", "exp", "kid"];

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Decision {
    Accept,
    Reject,
}

impl Decision {
    pub fn as_str(self) -> &'static str {
        match self {
            Decision::Accept => "accept",
            Decision::Reject => "reject",
        }
    }

    pub fn parse(text: &str) -> Option<Decision> {
        match text {
            "accept" => Some(Decision::Accept),
            "reject" => Some(Decision::Reject),
            _ => None,
        }
    }
}

/// What a link grants, all of it covered by the signature.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InvitationLink {
    pub meeting_id: i64,
    pub decision: Decision,
    pub invitee_id: i64,
    /// The invitation's random nonce (base64url); the meeting stores only its hash.
    pub nonce: String,
    /// UNIX seconds; the link works up to and including this second.
    pub expires_at: i64,
    pub key_id: String,
}

impl InvitationLink {
    pub fn path(&self) -> String {
        format!(
            "/meeting/{}/substitute/{}",
            self.meeting_id,
            self.decision.as_str()
        )
    }

    fn signed_text(&self) -> String {
        format!(
            "{PURPOSE}\nPOST\n{}\n{}\n{}\n{}\n{}\n{}",
            self.path(),
            self.decision.as_str(),
            self.invitee_id,
            self.nonce,
            self.expires_at,
            self.key_id
        )
    }

    fn mac(&self, key: &[u8]) -> Hmac<Sha256> {
        let mut mac =
            <Hmac<Sha256> as KeyInit>::new_from_slice(key).expect("HMAC takes any key length");
        mac.update(self.signed_text().as_bytes());
        mac
    }

    pub fn signature(&self, key: &[u8]) -> String {
        URL_SAFE_NO_PAD.encode(self.mac(key).finalize().into_bytes())
    }

    /// The full URL to put in the e-mail.
    pub fn url(&self, public_url: &str, key: &[u8]) -> String {
        format!(
            "{public_url}{}?invitee={}&nonce={}&exp={}&kid={}&signature={}",
            self.path(),
            self.invitee_id,
            self.nonce,
            self.expires_at,
            self.key_id,
            self.signature(key)
        )
    }

    /// Reads a link from its typed path parameters and its raw query, and checks its signature.
    /// `None` for any defect: missing, duplicated, unknown or empty key, bad encoding, wrong
    /// signature. The caller answers all of them alike.
    pub fn verify(
        meeting_id: i64,
        decision: Decision,
        raw_query: &str,
        key: &[u8],
        key_id: &str,
    ) -> Option<InvitationLink> {
        let mut values: [Option<String>; 5] = Default::default();
        for pair in raw_query.split('&') {
            let (name, value) = pair.split_once('=')?;
            let slot = match name {
                "invitee" => 0,
                "nonce" => 1,
                "exp" => 2,
                "kid" => 3,
                "signature" => 4,
                _ => return None,
            };
            // Values are base64url or digits: anything percent-encoded is not ours.
            if value.is_empty()
                || values[slot].is_some()
                || !value
                    .bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
            {
                return None;
            }
            values[slot] = Some(value.to_owned());
        }
        let [
            Some(invitee),
            Some(nonce),
            Some(exp),
            Some(kid),
            Some(signature),
        ] = values
        else {
            return None;
        };
        debug_assert_eq!(SIGNED_KEYS.len() + 1, 5);
        let link = InvitationLink {
            meeting_id,
            decision,
            invitee_id: invitee
                .parse()
                .ok()
                .filter(|id: &i64| id.to_string() == invitee)?,
            nonce,
            expires_at: exp.parse().ok().filter(|e: &i64| e.to_string() == exp)?,
            key_id: kid,
        };
        if link.key_id != key_id {
            return None;
        }
        let signature = URL_SAFE_NO_PAD.decode(signature.as_bytes()).ok()?;
        link.mac(key).verify_slice(&signature).ok()?;
        Some(link)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    const KEY: &[u8] = b"0123456789abcdef0123456789abcdef";

    fn link() -> InvitationLink {
        InvitationLink {
            meeting_id: 7,
            decision: Decision::Accept,
            invitee_id: 42,
            nonce: "bm9uY2Utbm9uY2Utbm9uYw".into(),
            expires_at: 1_800_000_000,
            key_id: "k1".into(),
        }
    }

    fn query_of(url: &str) -> &str {
        url.split_once('?').unwrap().1
    }

    #[test]
    fn a_signed_link_verifies_and_a_changed_one_does_not() {
        let url = link().url("http://x", KEY);
        let query = query_of(&url);
        assert_eq!(
            InvitationLink::verify(7, Decision::Accept, query, KEY, "k1"),
            Some(link())
        );
        assert_eq!(
            InvitationLink::verify(8, Decision::Accept, query, KEY, "k1"),
            None,
            "other meeting"
        );
        assert_eq!(
            InvitationLink::verify(7, Decision::Reject, query, KEY, "k1"),
            None,
            "other decision"
        );
        assert_eq!(
            InvitationLink::verify(7, Decision::Accept, query, b"another key", "k1"),
            None,
            "other key"
        );
        assert_eq!(
            InvitationLink::verify(7, Decision::Accept, query, KEY, "k2"),
            None,
            "other key id"
        );
        for (from, to) in [
            ("invitee=42", "invitee=43"),
            ("exp=1800000000", "exp=1800000001"),
            ("kid=k1", "kid=k2"),
        ] {
            assert_eq!(
                InvitationLink::verify(7, Decision::Accept, &query.replace(from, to), KEY, "k1"),
                None,
                "{to}"
            );
        }
    }

    #[test]
    fn the_query_must_hold_each_signed_key_exactly_once() {
        let url = link().url("http://x", KEY);
        let query = query_of(&url);
        let reordered: Vec<&str> = query.split('&').rev().collect();
        assert!(
            InvitationLink::verify(7, Decision::Accept, &reordered.join("&"), KEY, "k1").is_some()
        );
        for bad in [
            format!("{query}&extra=1"),
            format!("{query}&kid=k1"),
            query.replace("&kid=k1", ""),
            query.replace("kid=k1", "kid="),
            format!("{query}=="),
            query.replace("signature=", "signature=%41"),
        ] {
            assert!(
                InvitationLink::verify(7, Decision::Accept, &bad, KEY, "k1").is_none(),
                "{bad}"
            );
        }
    }

    #[test]
    fn mangled_signatures_are_refused() {
        let url = link().url("http://x", KEY);
        let query = query_of(&url);
        let signature = query.rsplit_once("signature=").unwrap().1;
        let hex: String = URL_SAFE_NO_PAD
            .decode(signature)
            .unwrap()
            .iter()
            .map(|b| format!("{b:02x}"))
            .collect();
        for bad in [
            String::new(),
            signature[..signature.len() - 2].to_owned(),
            format!("{signature}AA"),
            signature.to_uppercase(),
            hex,
        ] {
            let mangled = query.replace(signature, &bad);
            assert!(
                InvitationLink::verify(7, Decision::Accept, &mangled, KEY, "k1").is_none(),
                "{bad}"
            );
        }
    }

    proptest! {
        #[test]
        fn any_single_byte_change_of_the_signed_text_fails(index in 0usize..200, byte in any::<u8>()) {
            let original = link();
            let signature = URL_SAFE_NO_PAD.decode(original.signature(KEY)).unwrap();
            let mut text = original.signed_text().into_bytes();
            let index = index % text.len();
            prop_assume!(text[index] != byte);
            text[index] = byte;
            let mut mac = <Hmac<Sha256> as KeyInit>::new_from_slice(KEY).unwrap();
            mac.update(&text);
            prop_assert!(mac.verify_slice(&signature).is_err());
        }

        #[test]
        fn arbitrary_queries_never_panic(query in ".{0,300}", meeting in any::<i64>()) {
            let _ = InvitationLink::verify(meeting, Decision::Reject, &query, KEY, "k1");
        }
    }
}
