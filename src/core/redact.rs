//! Masks secrets that can leak through URLs before text reaches a terminal, a log file or the audit log.
//!
//! Only text inside `http(s)://…` URLs is touched: query values whose key is secret-shaped become
//! `***`, and `user:pass@host` becomes `user:***@host`. As a defensive extra, a `JSESSIONID=<value>`
//! anywhere in the text is masked too, because that cookie is a bearer credential.

use std::sync::OnceLock;

use percent_encoding::percent_decode_str;
use regex::Regex;

/// Names that carry a credential wherever they appear in a name (`db_password`, `X-Auth-Token`,
/// `csrf_token`, `XNAT_CSRF`...).
const SECRET_PARTS: &[&str] = &[
    "password",
    "passwd",
    "pwd",
    "secret",
    "token",
    "api_key",
    "apikey",
    "access_key",
    "private_key",
    "authorization",
    "passphrase",
    "cookie",
    "jsession",
    "csrf",
    "credential",
];

/// Names that carry a credential only as the whole name (as parts they are too common: `key`
/// in `monkey`, `alias` in a label): XNAT's alias tokens are an `alias` and a `secret`.
const SECRET_NAMES: &[&str] = &["auth", "pass", "pw", "key", "alias", "sig", "signature"];

/// The one rule for secret-shaped names, used for URL query keys, audit details and log fields:
/// true when `name` (any case) contains a [`SECRET_PARTS`] entry, is one of [`SECRET_NAMES`], or
/// ends in `_pass`, `_pw` or `_key`.
pub fn is_secret_name(name: &str) -> bool {
    let n = name.to_ascii_lowercase();
    SECRET_PARTS.iter().any(|s| n.contains(s))
        || SECRET_NAMES.contains(&n.as_str())
        || ["_pass", "_pw", "_key", "-key"]
            .iter()
            .any(|s| n.ends_with(s))
}

/// What replaces a secret value.
pub const MASK: &str = "***";

fn url_re() -> &'static Regex {
    static RE: OnceLock<Regex> = OnceLock::new();
    RE.get_or_init(|| Regex::new(r#"(?i)https?://[^\s<>"'`]+"#).expect("valid regex"))
}

fn session_re() -> &'static Regex {
    static RE: OnceLock<Regex> = OnceLock::new();
    RE.get_or_init(|| Regex::new(r"(?i)(JSESSIONID=)([^;\s&]+)").expect("valid regex"))
}

/// Return `text` with secret-shaped URL parts replaced by `***` (see the module docs).
pub fn redact(text: &str) -> String {
    if !text.contains("://") && !text.to_ascii_uppercase().contains("JSESSIONID=") {
        return text.to_string();
    }
    let mut out = String::with_capacity(text.len());
    let mut last = 0;
    for m in url_re().find_iter(text) {
        let raw = m.as_str();
        // Sentence punctuation after a URL is not part of it.
        let url = raw.trim_end_matches(['.', ',', ')', ';', ']']);
        out.push_str(&text[last..m.start()]);
        out.push_str(&redact_url(url));
        last = m.start() + url.len();
    }
    out.push_str(&text[last..]);
    session_re()
        .replace_all(&out, |c: &regex::Captures| format!("{}{}", &c[1], MASK))
        .into_owned()
}

/// Mask a password in the userinfo of one URL (`user:pass@host` → `user:***@host`).
pub fn mask_userinfo(url: &str) -> String {
    let Some(scheme_end) = url.find("://") else {
        return url.to_string();
    };
    let rest_start = scheme_end + 3;
    let rest = &url[rest_start..];
    let auth_end = rest.find(['/', '?', '#']).unwrap_or(rest.len());
    let authority = &rest[..auth_end];
    let Some(at) = authority.rfind('@') else {
        return url.to_string();
    };
    let userinfo = &authority[..at];
    match userinfo.find(':') {
        Some(colon) if colon + 1 < userinfo.len() => format!(
            "{}{}:{}{}",
            &url[..rest_start],
            &userinfo[..colon],
            MASK,
            &url[rest_start + at..]
        ),
        _ => url.to_string(),
    }
}

fn redact_url(url: &str) -> String {
    let url = mask_userinfo(url);
    let Some(q) = url.find('?') else {
        return url;
    };
    let (head, tail) = url.split_at(q + 1);
    let (query, fragment) = match tail.find('#') {
        Some(h) => tail.split_at(h),
        None => (tail, ""),
    };
    let parts: Vec<String> = query
        .split('&')
        .map(|pair| match pair.split_once('=') {
            Some((key, value)) if !value.is_empty() && is_secret_key(key) => {
                format!("{key}={MASK}")
            }
            _ => pair.to_string(),
        })
        .collect();
    format!("{head}{}{fragment}", parts.join("&"))
}

fn is_secret_key(raw_key: &str) -> bool {
    let plus_decoded = raw_key.replace('+', " ");
    let key = percent_decode_str(&plus_decoded)
        .decode_utf8_lossy()
        .to_lowercase();
    is_secret_name(&key)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn spec_examples() {
        let cases = [
            (
                "GET https://x.org/data?token=abc&format=json failed",
                "GET https://x.org/data?token=***&format=json failed",
            ),
            (
                "https://x.org/data?%74oken=abc",
                "https://x.org/data?%74oken=***",
            ),
            (
                "https://x.org/data?api_key=&x=1",
                "https://x.org/data?api_key=&x=1",
            ),
            ("no url here ?token=abc", "no url here ?token=abc"),
            (
                "see https://admin:hunter2@xnat.org/data.",
                "see https://admin:***@xnat.org/data.",
            ),
            (
                "(http://h/x?Password=p&PWD=q&name=n)",
                "(http://h/x?Password=***&PWD=***&name=n)",
            ),
            ("http://h/x?apikey=1#frag", "http://h/x?apikey=***#frag"),
            ("https://user@host/x", "https://user@host/x"),
            (
                "Cookie JSESSIONID=ABCDEF; path=/",
                "Cookie JSESSIONID=***; path=/",
            ),
            ("plain text", "plain text"),
        ];
        for (input, want) in cases {
            assert_eq!(redact(input), want, "input: {input}");
        }
    }

    #[test]
    fn every_secret_shaped_query_key_is_masked() {
        for key in [
            "pass",
            "pw",
            "key",
            "access_token",
            "csrf",
            "XNAT_CSRF",
            "alias",
            "secret",
            "db_password",
            "aws_access_key_id",
        ] {
            let got = redact(&format!("GET http://h/x?{key}=v1&format=json"));
            assert_eq!(
                got,
                format!("GET http://h/x?{key}=***&format=json"),
                "{key}"
            );
        }
        for key in ["format", "label", "monkey", "keyword", "project"] {
            let url = format!("http://h/x?{key}=v1");
            assert_eq!(redact(&url), url, "{key}");
        }
    }

    #[test]
    fn multiple_urls_and_unicode_are_kept_intact() {
        let s = "é http://a/?auth=x, then https://b/?secret=y; done";
        assert_eq!(
            redact(s),
            "é http://a/?auth=***, then https://b/?secret=***; done"
        );
    }

    #[test]
    fn mask_userinfo_leaves_empty_password() {
        assert_eq!(mask_userinfo("https://u:@h"), "https://u:@h");
        assert_eq!(mask_userinfo("https://u:p@h/a@b"), "https://u:***@h/a@b");
    }
}
