//! 统一社会信用代码 (unified social credit code), GB 32100-2015.

use std::fmt;

use super::Invalid;

/// The 31 characters of the code alphabet, in value order (no I, O, S, V, Z).
const ALPHABET: &[u8; 31] = b"0123456789ABCDEFGHJKLMNPQRTUWXY";
/// Position weights 3^i mod 31 for the first 17 characters.
const WEIGHTS: [u32; 17] = [
    1, 3, 9, 27, 19, 26, 16, 17, 20, 29, 25, 13, 8, 24, 10, 30, 28,
];

/// A validated 18-character unified social credit code.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Uscc(String);

impl Uscc {
    /// Parses a code: 18 characters from the GB 32100 alphabet (upper case), the
    /// administrative division part numeric, and a matching check digit.
    pub fn parse(raw: &str) -> Result<Self, Invalid> {
        let code = raw.trim();
        let len = code.chars().count();
        if len != 18 {
            return Err(Invalid::new(format!("must be 18 characters, got {len}")));
        }
        let bytes = code.as_bytes();
        let mut values = [0u32; 18];
        for (i, b) in bytes.iter().enumerate() {
            values[i] = value_of(*b).ok_or_else(|| {
                Invalid::new(format!(
                    "character {} ('{}') is not allowed: use digits and upper-case letters except I, O, S, V, Z",
                    i + 1,
                    char::from(*b)
                ))
            })?;
        }
        if !bytes[2..8].iter().all(u8::is_ascii_digit) {
            return Err(Invalid::new(
                "characters 3 to 8 must be the 6-digit administrative division code",
            ));
        }
        let expected = check_char(&values[..17]);
        if bytes[17] != expected {
            return Err(Invalid::new(format!(
                "check digit is '{}' but should be '{}'",
                char::from(bytes[17]),
                char::from(expected)
            )));
        }
        Ok(Self(code.to_owned()))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// Completes a 17-character body with its check digit (used to build demo data).
    pub fn with_check_digit(body: &str) -> Result<Self, Invalid> {
        let mut values = Vec::with_capacity(17);
        for b in body.bytes() {
            values.push(value_of(b).ok_or_else(|| Invalid::new("invalid character"))?);
        }
        if values.len() != 17 {
            return Err(Invalid::new("body must be 17 characters"));
        }
        let mut code = body.to_owned();
        code.push(char::from(check_char(&values)));
        Self::parse(&code)
    }
}

fn value_of(b: u8) -> Option<u32> {
    ALPHABET.iter().position(|&c| c == b).map(|p| p as u32)
}

fn check_char(values: &[u32]) -> u8 {
    let sum: u32 = values.iter().zip(WEIGHTS).map(|(v, w)| v * w).sum();
    ALPHABET[((31 - sum % 31) % 31) as usize]
}

impl fmt::Display for Uscc {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;

    use super::*;

    #[test]
    fn accepts_published_codes() {
        // Codes printed on real business licences.
        for code in ["91110000802100433B", "91440300708461136T"] {
            assert!(Uscc::parse(code).is_ok(), "{code}");
        }
    }

    #[test]
    fn rejects_wrong_check_digit_and_says_which() {
        let err = Uscc::parse("91110000802100433C").unwrap_err();
        assert!(err.0.contains("should be 'B'"), "{err}");
    }

    #[test]
    fn rejects_bad_length_and_letters() {
        assert!(
            Uscc::parse("9111000080210043")
                .unwrap_err()
                .0
                .contains("18")
        );
        assert!(
            Uscc::parse("91110000802100433I")
                .unwrap_err()
                .0
                .contains("not allowed")
        );
        assert!(
            Uscc::parse("9111000O802100433B")
                .unwrap_err()
                .0
                .contains("not allowed")
        );
        assert!(
            Uscc::parse("91A10000802100433B")
                .unwrap_err()
                .0
                .contains("division")
        );
    }

    proptest! {
        #[test]
        fn completing_any_body_gives_a_valid_code(body in "[0-9A-HJ-NP-RTUWXY]{2}[0-9]{6}[0-9A-HJ-NP-RTUWXY]{9}") {
            let code = Uscc::with_check_digit(&body).unwrap();
            prop_assert!(Uscc::parse(code.as_str()).is_ok());
        }

        #[test]
        fn changing_one_character_breaks_the_check(body in "[0-9A-HJ-NP-RTUWXY]{2}[0-9]{6}[0-9A-HJ-NP-RTUWXY]{9}", pos in 8usize..17, shift in 1u32..31) {
            let code = Uscc::with_check_digit(&body).unwrap();
            let mut bytes = code.as_str().as_bytes().to_vec();
            let v = value_of(bytes[pos]).unwrap();
            bytes[pos] = ALPHABET[((v + shift) % 31) as usize];
            let changed = String::from_utf8(bytes).unwrap();
            prop_assert!(Uscc::parse(&changed).is_err());
        }
    }
}
