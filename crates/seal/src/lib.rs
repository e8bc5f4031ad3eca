//! Sealing personal data at rest: names, phone numbers and what people write, in the
//! service's database and in the bot's. XChaCha20-Poly1305 under a 256-bit key; a
//! random 192-bit nonce per value is stored with it, as
//! `v1:<hex nonce><hex ciphertext+tag>`. The key comes from the configuration or
//! from a key file created (mode 0600) on first start.

use std::path::Path;

use chacha20poly1305::aead::{Aead, KeyInit};
use chacha20poly1305::{Key, XChaCha20Poly1305, XNonce};
use rand::RngCore;

const PREFIX: &str = "v1:";
const NONCE_BYTES: usize = 24;

/// Seals and opens values under one key.
#[derive(Clone)]
pub struct Sealer {
    cipher: XChaCha20Poly1305,
    key: [u8; 32],
}

impl std::fmt::Debug for Sealer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Sealer(<key>)")
    }
}

impl Sealer {
    /// From a 64-character hex key.
    pub fn from_hex(key: &str) -> Result<Self, String> {
        let bytes: [u8; 32] = hex::decode(key.trim())
            .ok()
            .and_then(|b| b.try_into().ok())
            .ok_or_else(|| "the key must be 64 hexadecimal characters (256 bits)".to_owned())?;
        Ok(Self {
            cipher: XChaCha20Poly1305::new(&Key::from(bytes)),
            key: bytes,
        })
    }

    /// The raw key, for deriving other keys from it.
    pub fn key_bytes(&self) -> &[u8; 32] {
        &self.key
    }

    /// A new random key, as hex.
    pub fn generate_hex() -> String {
        let mut key = [0u8; 32];
        rand::rng().fill_bytes(&mut key);
        hex::encode(key)
    }

    pub fn seal(&self, plain: &str) -> String {
        let mut nonce = [0u8; NONCE_BYTES];
        rand::rng().fill_bytes(&mut nonce);
        // Encryption with a valid key and nonce cannot fail for inputs of this size.
        let sealed = self
            .cipher
            .encrypt(&XNonce::from(nonce), plain.as_bytes())
            .unwrap_or_default();
        format!("{PREFIX}{}{}", hex::encode(nonce), hex::encode(sealed))
    }

    /// Whether a stored value is a sealed one.
    pub fn is_sealed(stored: &str) -> bool {
        stored.starts_with(PREFIX)
    }

    /// The plain text, or `None` when the value was sealed with another key or is
    /// damaged.
    pub fn open(&self, sealed: &str) -> Option<String> {
        let bytes = hex::decode(sealed.strip_prefix(PREFIX)?).ok()?;
        if bytes.len() < NONCE_BYTES {
            return None;
        }
        let (nonce, body) = bytes.split_at(NONCE_BYTES);
        let nonce: [u8; NONCE_BYTES] = nonce.try_into().ok()?;
        let plain = self.cipher.decrypt(&XNonce::from(nonce), body).ok()?;
        String::from_utf8(plain).ok()
    }
}

/// The hex key in `path`, or a new one written there (mode 0600) when the file does
/// not exist; `true` when it was created (the caller says to back it up).
pub fn key_file(path: &Path) -> std::io::Result<(String, bool)> {
    match std::fs::read_to_string(path) {
        Ok(hex) => Ok((hex.trim().to_owned(), false)),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            let hex = Sealer::generate_hex();
            let mut options = std::fs::OpenOptions::new();
            options.write(true).create_new(true);
            #[cfg(unix)]
            std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
            let mut file = options.open(path)?;
            std::io::Write::write_all(&mut file, hex.as_bytes())?;
            file.sync_all()?;
            Ok((hex, true))
        }
        Err(e) => Err(e),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sealed_values_open_only_with_their_key() {
        let a = Sealer::from_hex(&Sealer::generate_hex()).expect("key");
        let b = Sealer::from_hex(&Sealer::generate_hex()).expect("key");
        let sealed = a.seal("张三 13812341234");
        assert!(Sealer::is_sealed(&sealed) && !sealed.contains("1381234"));
        assert_ne!(a.seal("x"), a.seal("x"), "a fresh nonce each time");
        assert_eq!(a.open(&sealed).as_deref(), Some("张三 13812341234"));
        assert_eq!(b.open(&sealed), None);
        assert_eq!(a.open("v1:00"), None);
        assert!(Sealer::from_hex("short").is_err());
    }

    #[test]
    fn a_key_file_is_created_once_and_read_after() {
        let dir = tempfile::tempdir().expect("dir");
        let path = dir.path().join("k");
        let (first, created) = key_file(&path).expect("create");
        assert!(created);
        let (again, created) = key_file(&path).expect("read");
        assert!(!created);
        assert_eq!(first, again);
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = std::fs::metadata(&path).expect("meta").permissions().mode();
            assert_eq!(mode & 0o777, 0o600);
        }
    }
}
