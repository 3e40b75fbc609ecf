//! Percent-encoding of single URL path segments built from user input.
//!
//! XNAT identifiers end up inside paths, so a label with `/`, `?` or `..` must never change which
//! resource a request addresses. Only unreserved characters stay literal.

use percent_encoding::{utf8_percent_encode, AsciiSet, NON_ALPHANUMERIC};

use crate::core::error::{Error, Result};

/// Everything but `A-Za-z0-9_.-~` is encoded.
const SEGMENT: &AsciiSet = &NON_ALPHANUMERIC
    .remove(b'_')
    .remove(b'.')
    .remove(b'-')
    .remove(b'~');

/// As [`SEGMENT`], and `.` too (the prearchive treats dots specially).
const SEGMENT_STRICT: &AsciiSet = &SEGMENT.add(b'.');

fn check(value: &str) -> Result<()> {
    if value.trim().is_empty() {
        return Err(Error::invalid_id(
            "path segment",
            value,
            "must not be empty or whitespace",
        ));
    }
    if value.chars().all(|c| c == '.') {
        return Err(Error::invalid_id(
            "path segment",
            value,
            "must not consist only of dots",
        ));
    }
    Ok(())
}

/// Percent-encode `value` as one path segment; empty, blank or dot-only values are refused.
pub fn seg(value: &str) -> Result<String> {
    check(value)?;
    Ok(utf8_percent_encode(value, SEGMENT).to_string())
}

/// Like [`seg`], but `.` is encoded as `%2E` as well (prearchive paths).
pub fn seg_strict(value: &str) -> Result<String> {
    check(value)?;
    Ok(utf8_percent_encode(value, SEGMENT_STRICT).to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn encodes_everything_but_unreserved() {
        let cases = [
            ("abc_XYZ-0.9~", "abc_XYZ-0.9~"),
            ("a b", "a%20b"),
            ("a/b", "a%2Fb"),
            ("é", "%C3%A9"),
            ("a?b#c&d=e+f%", "a%3Fb%23c%26d%3De%2Bf%25"),
            ("..a", "..a"),
        ];
        for (input, want) in cases {
            assert_eq!(seg(input).unwrap(), want, "{input}");
        }
        assert_eq!(seg_strict("a.b c").unwrap(), "a%2Eb%20c");
    }

    #[test]
    fn refuses_empty_and_dot_segments() {
        for bad in ["", "  ", "\t", ".", "..", "..."] {
            assert!(
                matches!(seg(bad), Err(Error::InvalidIdentifier { .. })),
                "{bad:?}"
            );
            assert!(seg_strict(bad).is_err(), "{bad:?}");
        }
    }
}
