//! Request-side helpers: the raw query parameters (XNAT keys such as
//! `xnat:subjectData/fields/field[name=K]/field` do not fit serde structs) and the authenticated
//! caller the middleware attaches to each request.

use axum::extract::FromRequestParts;
use axum::http::request::Parts;
use axum::http::{header, HeaderMap};
use percent_encoding::percent_decode_str;

/// Query parameters in order, decoded (`+` → space, `%XX`).
#[derive(Debug, Clone, Default)]
pub struct Params(pub Vec<(String, String)>);

fn decode(s: &str) -> String {
    let s = s.replace('+', " ");
    percent_decode_str(&s).decode_utf8_lossy().into_owned()
}

impl Params {
    pub fn parse(query: Option<&str>) -> Self {
        let mut out = Vec::new();
        for pair in query.unwrap_or("").split('&').filter(|p| !p.is_empty()) {
            let (k, v) = pair.split_once('=').unwrap_or((pair, ""));
            out.push((decode(k), decode(v)));
        }
        Params(out)
    }

    /// Add parameters from an `application/x-www-form-urlencoded` body.
    pub fn merge_form(&mut self, headers: &HeaderMap, body: &[u8]) {
        let is_form = headers
            .get(header::CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .is_some_and(|v| v.starts_with("application/x-www-form-urlencoded"));
        if is_form {
            if let Ok(s) = std::str::from_utf8(body) {
                self.0.extend(Params::parse(Some(s)).0);
            }
        }
    }

    /// Last value for `key` (exact match).
    pub fn get(&self, key: &str) -> Option<&str> {
        self.0
            .iter()
            .rev()
            .find(|(k, _)| k == key)
            .map(|(_, v)| v.as_str())
    }

    /// Last value for `key`, ignoring ASCII case.
    pub fn get_ci(&self, key: &str) -> Option<&str> {
        self.0
            .iter()
            .rev()
            .find(|(k, _)| k.eq_ignore_ascii_case(key))
            .map(|(_, v)| v.as_str())
    }

    pub fn has(&self, key: &str) -> bool {
        self.get_ci(key).is_some()
    }

    /// `true`/`1`/`yes` (any case).
    pub fn flag(&self, key: &str) -> bool {
        self.get_ci(key)
            .is_some_and(|v| matches!(v.to_ascii_lowercase().as_str(), "true" | "1" | "yes"))
    }

    /// The `format` parameter, lower-cased.
    pub fn format(&self) -> Option<String> {
        self.get_ci("format").map(str::to_ascii_lowercase)
    }

    pub fn iter(&self) -> impl Iterator<Item = (&str, &str)> {
        self.0.iter().map(|(k, v)| (k.as_str(), v.as_str()))
    }
}

impl<S: Send + Sync> FromRequestParts<S> for Params {
    type Rejection = std::convert::Infallible;

    async fn from_request_parts(parts: &mut Parts, _state: &S) -> Result<Self, Self::Rejection> {
        Ok(Params::parse(parts.uri.query()))
    }
}

/// Who is calling. Attached by the middleware; anonymous when no valid credentials were given.
#[derive(Debug, Clone, Default)]
pub struct Caller {
    pub username: Option<String>,
    pub admin: bool,
    /// The JSESSIONID bound to this request, if any.
    pub session_id: Option<String>,
}

impl Caller {
    pub fn name(&self) -> &str {
        self.username.as_deref().unwrap_or("guest")
    }
}

impl<S: Send + Sync> FromRequestParts<S> for Caller {
    type Rejection = std::convert::Infallible;

    async fn from_request_parts(parts: &mut Parts, _state: &S) -> Result<Self, Self::Rejection> {
        Ok(parts
            .extensions
            .get::<Caller>()
            .cloned()
            .unwrap_or_default())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn decodes() {
        let p = Params::parse(Some(
            "xnat%3AsubjectData%2Ffields%2Ffield%5Bname%3Dk%5D%2Ffield=a+b&format=JSON&x",
        ));
        assert_eq!(
            p.get("xnat:subjectData/fields/field[name=k]/field"),
            Some("a b")
        );
        assert_eq!(p.format().as_deref(), Some("json"));
        assert_eq!(p.get("x"), Some(""));
    }
}
