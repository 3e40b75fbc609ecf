//! The request builder: describes one logical request, which the client may send several times.
//!
//! Because a retry must resend the same body, bodies are kept in a re-playable form (bytes in
//! memory, or a file path that is opened again for each attempt) rather than as a one-shot stream.

use std::path::PathBuf;
use std::time::Duration;

use bytes::Bytes;
use reqwest::Method;

use super::XnatClient;
use crate::core::error::Result;

/// A request body that can be produced again for every attempt.
#[derive(Debug, Clone, Default)]
pub enum Body {
    /// No body.
    #[default]
    Empty,
    /// Bytes held in memory, with their content type.
    Bytes {
        /// The payload.
        data: Bytes,
        /// Its `Content-Type`.
        content_type: String,
    },
    /// `application/x-www-form-urlencoded` fields.
    Form(Vec<(String, String)>),
    /// A file streamed from disk.
    File {
        /// The file to send.
        path: PathBuf,
        /// Its `Content-Type`.
        content_type: String,
    },
    /// A body produced afresh for every attempt by `make` (e.g. an archive packed while it is
    /// sent), sent with chunked transfer encoding.
    Stream {
        /// Produces the body of one attempt.
        make: StreamSource,
        /// Its `Content-Type`.
        content_type: String,
    },
    /// A `multipart/form-data` body with one file part.
    Multipart {
        /// The form field name.
        field: String,
        /// The file to send.
        path: PathBuf,
    },
}

/// Makes the body of one attempt of a [`Body::Stream`] request.
#[derive(Clone)]
pub struct StreamSource(pub std::sync::Arc<dyn Fn() -> reqwest::Body + Send + Sync>);

impl std::fmt::Debug for StreamSource {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("StreamSource")
    }
}

/// A request being built; finish with [`RequestBuilder::send`].
#[derive(Debug, Clone)]
pub struct RequestBuilder {
    pub(super) client: XnatClient,
    pub(super) method: Method,
    pub(super) path: String,
    pub(super) query: Vec<(String, String)>,
    pub(super) body: Body,
    pub(super) headers: Vec<(String, String)>,
    pub(super) timeout: Option<Duration>,
    pub(super) max_retries: Option<u32>,
    pub(super) retry_non_idempotent: bool,
}

impl RequestBuilder {
    pub(super) fn new(client: XnatClient, method: Method, path: &str) -> Self {
        RequestBuilder {
            client,
            method,
            path: path.to_string(),
            query: Vec::new(),
            body: Body::Empty,
            headers: Vec::new(),
            timeout: None,
            max_retries: None,
            retry_non_idempotent: false,
        }
    }

    /// Append one query parameter (form-encoded, so a space becomes `+`).
    pub fn query(mut self, key: impl Into<String>, value: impl Into<String>) -> Self {
        self.query.push((key.into(), value.into()));
        self
    }

    /// Append several query parameters, in order.
    pub fn query_pairs<K, V>(mut self, pairs: impl IntoIterator<Item = (K, V)>) -> Self
    where
        K: Into<String>,
        V: Into<String>,
    {
        self.query
            .extend(pairs.into_iter().map(|(k, v)| (k.into(), v.into())));
        self
    }

    /// Send `value` as an `application/json` body.
    pub fn json(mut self, value: &serde_json::Value) -> Self {
        let data = serde_json::to_vec(value).expect("a JSON value always serialises");
        self.body = Body::Bytes {
            data: Bytes::from(data),
            content_type: "application/json".into(),
        };
        self
    }

    /// Send form fields as `application/x-www-form-urlencoded`.
    pub fn form<K: AsRef<str>, V: AsRef<str>>(mut self, fields: &[(K, V)]) -> Self {
        self.body = Body::Form(
            fields
                .iter()
                .map(|(k, v)| (k.as_ref().to_string(), v.as_ref().to_string()))
                .collect(),
        );
        self
    }

    /// Send raw bytes with `content_type`.
    pub fn bytes(mut self, data: impl Into<Bytes>, content_type: impl Into<String>) -> Self {
        self.body = Body::Bytes {
            data: data.into(),
            content_type: content_type.into(),
        };
        self
    }

    /// Stream the file at `path` as the body; it is reopened for each attempt.
    pub fn file(mut self, path: impl Into<PathBuf>, content_type: impl Into<String>) -> Self {
        self.body = Body::File {
            path: path.into(),
            content_type: content_type.into(),
        };
        self
    }

    /// Send the body `make` produces; it is called again for each attempt.
    pub fn stream(
        mut self,
        make: impl Fn() -> reqwest::Body + Send + Sync + 'static,
        content_type: impl Into<String>,
    ) -> Self {
        self.body = Body::Stream {
            make: StreamSource(std::sync::Arc::new(make)),
            content_type: content_type.into(),
        };
        self
    }

    /// Send the file at `path` as the single part `field` of a multipart form.
    pub fn multipart_file(mut self, field: impl Into<String>, path: impl Into<PathBuf>) -> Self {
        self.body = Body::Multipart {
            field: field.into(),
            path: path.into(),
        };
        self
    }

    /// Add a header. A `Cookie` header is merged with the session cookie into one header.
    pub fn header(mut self, key: impl Into<String>, value: impl Into<String>) -> Self {
        self.headers.push((key.into(), value.into()));
        self
    }

    /// Limit the whole exchange (connect, send, headers and body) to `timeout`.
    pub fn timeout(mut self, timeout: Duration) -> Self {
        self.timeout = Some(timeout);
        self
    }

    /// Override the client's retry budget for this request.
    pub fn max_retries(mut self, retries: u32) -> Self {
        self.max_retries = Some(retries);
        self
    }

    /// Retry this POST/PATCH on 500/502/504 and broken connections, like an idempotent call.
    pub fn retry_non_idempotent(mut self) -> Self {
        self.retry_non_idempotent = true;
        self
    }

    /// Send the request and read the whole body; a body that breaks off is retried like a
    /// failed request (for methods that may be repeated).
    pub async fn read(self) -> Result<Bytes> {
        let client = self.client.clone();
        client.send_read(&self).await
    }

    /// Send the request; only a successful (below 400) response is returned.
    pub async fn send(self) -> Result<reqwest::Response> {
        let client = self.client.clone();
        client.send(&self).await
    }
}
