//! What text the service stores may hold. Control characters other than tab and
//! line breaks (NUL among them, which PostgreSQL refuses in text and JSON), and the
//! bidirectional overrides and isolates that make a case number or a name display
//! other than it reads (U+202A–U+202E, U+2066–U+2069), are refused everywhere text
//! comes in: JSON and form bodies, query strings, import cells, answers.

/// The first character `text` may not hold, if any.
pub fn forbidden_char(text: &str) -> Option<char> {
    text.chars().find(|&c| {
        (c.is_control() && !matches!(c, '\t' | '\n' | '\r'))
            || matches!(c, '\u{202A}'..='\u{202E}' | '\u{2066}'..='\u{2069}')
    })
}

/// Why `text` is refused, if it is.
pub fn refusal(text: &str) -> Option<String> {
    forbidden_char(text).map(|c| {
        format!(
            "holds the character U+{:04X}, which text here may not hold (control characters and bidirectional overrides)",
            u32::from(c)
        )
    })
}

#[cfg(test)]
mod tests {
    use super::forbidden_char;

    #[test]
    fn controls_and_overrides_are_refused_and_line_breaks_kept() {
        for bad in [
            "a\u{0}b",
            "\u{1b}[31m",
            "abc\u{202E}cba",
            "\u{2066}x",
            "x\u{7f}",
            "\u{85}",
        ] {
            assert!(forbidden_char(bad).is_some(), "{bad:?}");
        }
        for good in [
            "第一行\n第二行\t完",
            "连执罚〔2026〕1号",
            "",
            "a\r\nb",
            "⚖️ 法",
        ] {
            assert_eq!(forbidden_char(good), None, "{good:?}");
        }
    }
}
