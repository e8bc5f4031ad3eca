//! Reporter contact data (names, phone numbers): encrypted at rest, masked in output.
//!
//! Values are sealed with XChaCha20-Poly1305 under a 256-bit key from the
//! configuration; a random 192-bit nonce per value is stored with it, as
//! `v1:<hex nonce><hex ciphertext+tag>`. Phone numbers are masked `138****1234`
//! for everyone but the handling bureau.

use hmac::{Hmac, Mac};
use pingjia_seal::Sealer;
use sha2::{Digest, Sha256};

use super::Invalid;

/// Seals and opens contact data with the installation's key.
#[derive(Clone)]
pub struct ContactCipher {
    sealer: Sealer,
    /// Key of the pseudonyms of channel users, derived from the contact key.
    pseudonym_key: [u8; 32],
}

impl std::fmt::Debug for ContactCipher {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("ContactCipher(<key>)")
    }
}

impl ContactCipher {
    /// From a 64-character hex key.
    pub fn from_hex(key: &str) -> Result<Self, Invalid> {
        let sealer = Sealer::from_hex(key).map_err(|_| {
            Invalid::new("the contact key must be 64 hexadecimal characters (256 bits)")
        })?;
        let mut derive = Sha256::new();
        derive.update(b"pingjia/pseudonym/v1");
        derive.update(sealer.key_bytes());
        Ok(Self {
            pseudonym_key: derive.finalize().into(),
            sealer,
        })
    }

    /// A new random key, as hex.
    pub fn generate_hex() -> String {
        Sealer::generate_hex()
    }

    pub fn seal(&self, plain: &str) -> String {
        self.sealer.seal(plain)
    }

    /// A stable pseudonym of a channel's user id (HMAC-SHA-256, hex): what the
    /// database looks users up by. Without the key it cannot be reversed by trying
    /// every Telegram id.
    pub fn pseudonym(&self, channel: &str, external_id: &str) -> String {
        let mut mac = <Hmac<Sha256> as Mac>::new_from_slice(&self.pseudonym_key)
            .expect("HMAC takes keys of any length");
        mac.update(channel.as_bytes());
        mac.update(b":");
        mac.update(external_id.trim().as_bytes());
        hex::encode(mac.finalize().into_bytes())
    }

    /// The plain text, or `None` when the value was sealed with another key or is
    /// damaged.
    pub fn open(&self, sealed: &str) -> Option<String> {
        self.sealer.open(sealed)
    }
}

/// A mainland mobile number (11 digits starting 1[3-9]); spaces and dashes allowed.
pub fn parse_phone(raw: &str) -> Result<String, Invalid> {
    let digits: String = raw
        .chars()
        .filter(|c| !matches!(c, ' ' | '-'))
        .collect::<String>()
        .trim_start_matches("+86")
        .to_owned();
    let valid = digits.len() == 11
        && digits.chars().all(|c| c.is_ascii_digit())
        && digits.starts_with('1')
        && matches!(digits.as_bytes()[1], b'3'..=b'9');
    if valid {
        Ok(digits)
    } else {
        Err(Invalid::new(
            "must be a mainland mobile number of 11 digits, e.g. 13812341234",
        ))
    }
}

/// `138****1234`: the first three and last four digits.
pub fn mask_phone(phone: &str) -> String {
    let chars: Vec<char> = phone.chars().collect();
    if chars.len() < 8 {
        return "*".repeat(chars.len());
    }
    let head: String = chars[..3].iter().collect();
    let tail: String = chars[chars.len() - 4..].iter().collect();
    format!("{head}{}{tail}", "*".repeat(chars.len() - 7))
}

/// `张*` / `欧阳**`: the first character only.
pub fn mask_name(name: &str) -> String {
    let mut chars = name.chars();
    match chars.next() {
        Some(first) => format!("{first}{}", "*".repeat(chars.count().max(1))),
        None => String::new(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sealed_values_open_only_with_their_key_and_never_hold_the_plain_text() {
        let key = ContactCipher::generate_hex();
        let cipher = ContactCipher::from_hex(&key).expect("key");
        let a = cipher.seal("13812341234");
        let b = cipher.seal("13812341234");
        assert_ne!(a, b, "a fresh nonce per value");
        assert!(!a.contains("13812341234"));
        assert_eq!(cipher.open(&a).as_deref(), Some("13812341234"));
        let other = ContactCipher::from_hex(&ContactCipher::generate_hex()).expect("key");
        assert_eq!(other.open(&a), None);
        let mut damaged = a.clone();
        damaged.replace_range(a.len() - 2.., "00");
        assert_eq!(cipher.open(&damaged), None);
        assert!(ContactCipher::from_hex("abcd").is_err());
        assert!(ContactCipher::from_hex(&"zz".repeat(32)).is_err());
    }

    #[test]
    fn pseudonyms_are_stable_per_key_and_channel() {
        let cipher = ContactCipher::from_hex(&ContactCipher::generate_hex()).expect("key");
        let a = cipher.pseudonym("telegram", "123456789");
        assert_eq!(a, cipher.pseudonym("telegram", " 123456789 "));
        assert_eq!(a.len(), 64);
        assert!(!a.contains("123456789"));
        assert_ne!(a, cipher.pseudonym("web", "123456789"));
        assert_ne!(a, cipher.pseudonym("telegram", "123456780"));
        let other = ContactCipher::from_hex(&ContactCipher::generate_hex()).expect("key");
        assert_ne!(a, other.pseudonym("telegram", "123456789"));
    }

    #[test]
    fn phones_are_checked_and_masked() {
        assert_eq!(parse_phone("138-1234-1234").as_deref(), Ok("13812341234"));
        assert_eq!(
            parse_phone("+86 139 0000 1111").as_deref(),
            Ok("13900001111")
        );
        for bad in [
            "12812341234",
            "1381234123",
            "1381234123x",
            "",
            "025-83451234",
        ] {
            assert!(parse_phone(bad).is_err(), "{bad}");
        }
        assert_eq!(mask_phone("13812341234"), "138****1234");
        assert_eq!(mask_name("张三"), "张*");
        assert_eq!(mask_name("欧阳修文"), "欧***");
        assert_eq!(mask_name("李"), "李*");
    }
}
