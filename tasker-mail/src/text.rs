//! Cleaning user-provided text before it goes into headers and subjects.

/// `text` on one line: every control character and run of whitespace becomes
/// one space, and the ends are trimmed.
pub(crate) fn one_line(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut pending_space = false;
    for c in text.chars() {
        if c.is_control() || c.is_whitespace() {
            pending_space = !out.is_empty();
        } else {
            if pending_space {
                out.push(' ');
                pending_space = false;
            }
            out.push(c);
        }
    }
    out
}

/// `text` cut to at most `max` characters (never inside a character), ending
/// with `…` when something was cut.
pub(crate) fn truncate(text: &str, max: usize) -> String {
    if text.chars().count() <= max {
        return text.to_owned();
    }
    let mut out: String = text.chars().take(max.saturating_sub(1)).collect();
    out.truncate(out.trim_end().len());
    out.push('\u{2026}');
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn control_characters_and_whitespace_collapse_to_single_spaces() {
        assert_eq!(one_line("  a\r\nBcc: x@evil\t\u{0}b  "), "a Bcc: x@evil b");
        assert_eq!(one_line("\r\n\t"), "");
        assert_eq!(one_line("Ada\u{2028}Lovelace"), "Ada Lovelace");
    }

    #[test]
    fn truncation_counts_characters_not_bytes() {
        assert_eq!(truncate("short", 80), "short");
        let long = "é".repeat(200);
        let cut = truncate(&long, 80);
        assert_eq!(cut.chars().count(), 80);
        assert!(cut.ends_with('\u{2026}'));
        assert_eq!(truncate("ab cd", 4), "ab\u{2026}");
    }
}
