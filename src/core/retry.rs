//! Which failed requests are worth repeating, and how long to wait before doing so.
//!
//! This module is pure: it never performs I/O, so the whole policy is unit-tested as a table.
//! The client asks [`classify`] after every attempt and [`RetryPolicy::delay`] before sleeping.

use std::error::Error as StdError;
use std::io;
use std::time::{Duration, SystemTime};

use rand::Rng;
use reqwest::Method;

use crate::core::env;

/// The longest `Retry-After` we obey; a server asking for more gets ordinary backoff instead.
pub const RETRY_AFTER_CAP: Duration = Duration::from_secs(300);

/// How a transport-level failure happened, as far as retrying is concerned.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Transport {
    /// The TCP/TLS connection could not be established (refused, DNS failure, unreachable).
    Connect,
    /// Establishing the connection took longer than the connect timeout.
    ConnectTimeout,
    /// The connection broke after the request may have been sent (reset, closed, broken pipe).
    Interrupted,
    /// The server stopped answering mid-exchange (read timeout or total request timeout).
    ReadTimeout,
    /// Streaming the request or response body failed.
    Body,
    /// A failure that repeating cannot fix (bad URL, redirect loop, decoding error).
    Fatal,
}

/// The result of one attempt, as seen by the policy.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Outcome {
    /// The server answered with this status code.
    Status(u16),
    /// No usable answer: the transport failed this way.
    Transport(Transport),
}

/// What to do after an attempt.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Decision {
    /// The attempt succeeded or failed for good: stop here.
    Stop,
    /// The failure is transient: try again if the budget allows.
    Retry,
}

/// True for methods that can be repeated without changing the result (RFC 9110 §9.2.2).
pub fn is_idempotent(method: &Method) -> bool {
    matches!(
        *method,
        Method::GET | Method::HEAD | Method::PUT | Method::DELETE | Method::OPTIONS
    )
}

/// Decide whether `outcome` of a `method` request should be retried.
///
/// `retry_non_idempotent` lets a caller declare a POST/PATCH safe to repeat (for example because
/// the server deduplicates it), which makes it follow the idempotent rules.
pub fn classify(method: &Method, outcome: Outcome, retry_non_idempotent: bool) -> Decision {
    let repeatable = retry_non_idempotent || is_idempotent(method);
    let retry = match outcome {
        // Rate limiting and "unavailable" mean the server refused the request before acting on
        // it, so repeating is safe even for a POST.
        Outcome::Status(429 | 503) => true,
        // A gateway or server error may arrive after the server has partly acted on the request,
        // so only calls that can be repeated without harm are retried.
        Outcome::Status(500 | 502 | 504) => repeatable,
        Outcome::Status(_) => false,
        // The request never reached the server, so nothing can have happened: safe for any method.
        Outcome::Transport(Transport::Connect) => true,
        // Unlike the reference (which fails fast), a connect timeout is retried: the request was
        // never sent, and a single slow handshake should not abort a long batch.
        Outcome::Transport(Transport::ConnectTimeout) => true,
        // The request may have been received and acted on before the connection broke or stalled.
        Outcome::Transport(Transport::Interrupted | Transport::ReadTimeout | Transport::Body) => {
            repeatable
        }
        Outcome::Transport(Transport::Fatal) => false,
    };
    if retry {
        Decision::Retry
    } else {
        Decision::Stop
    }
}

/// Classify a transport error by walking its whole source chain.
///
/// reqwest wraps hyper and io errors several layers deep, and only the inner layers say whether
/// the connection was refused, reset or timed out, so every layer is inspected.
pub fn transport_kind(err: &(dyn StdError + 'static)) -> Transport {
    let mut connect = false;
    let mut timeout = false;
    let mut interrupted = false;
    let mut body = false;
    let mut fatal = false;
    let mut request = false;
    let mut current: Option<&(dyn StdError + 'static)> = Some(err);
    while let Some(e) = current {
        if let Some(r) = e.downcast_ref::<reqwest::Error>() {
            connect |= r.is_connect();
            timeout |= r.is_timeout();
            body |= r.is_body();
            request |= r.is_request();
            fatal |= r.is_builder() || r.is_redirect() || r.is_decode();
        }
        if let Some(io) = e.downcast_ref::<io::Error>() {
            match io.kind() {
                io::ErrorKind::ConnectionRefused => connect = true,
                io::ErrorKind::ConnectionReset
                | io::ErrorKind::ConnectionAborted
                | io::ErrorKind::BrokenPipe
                | io::ErrorKind::UnexpectedEof => interrupted = true,
                io::ErrorKind::TimedOut => timeout = true,
                _ => {}
            }
        }
        current = e.source();
    }
    if fatal {
        Transport::Fatal
    } else if connect && timeout {
        Transport::ConnectTimeout
    } else if connect {
        Transport::Connect
    } else if timeout {
        Transport::ReadTimeout
    } else if body {
        Transport::Body
    } else if interrupted || request {
        // A request-level error with no finer cause is hyper giving up on a live connection
        // (closed early, incomplete message): the server may have seen the request.
        Transport::Interrupted
    } else {
        Transport::Fatal
    }
}

/// Whether writing a small request failed because the peer had already closed the connection
/// (`EPIPE`): a request written in one piece, such as a login, then never reached the server.
/// (A large body may break off with the same error after the server read part of it.)
pub fn never_received(err: &(dyn StdError + 'static)) -> bool {
    let mut current: Option<&(dyn StdError + 'static)> = Some(err);
    while let Some(e) = current {
        if e.downcast_ref::<io::Error>()
            .is_some_and(|io| io.kind() == io::ErrorKind::BrokenPipe)
        {
            return true;
        }
        current = e.source();
    }
    false
}

/// Retry budget and backoff shape.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RetryPolicy {
    /// Retries after the first attempt (3 means 4 attempts in total).
    pub max_retries: u32,
    /// Backoff base: the first retry waits up to this long.
    pub base: Duration,
    /// Longest backoff window.
    pub cap: Duration,
    /// When true every delay is zero (set from [`env::XNATCTL_RETRY_NO_DELAY`] or by tests).
    pub no_delay: bool,
}

impl Default for RetryPolicy {
    fn default() -> Self {
        RetryPolicy {
            max_retries: 3,
            base: Duration::from_secs(1),
            cap: Duration::from_secs(30),
            no_delay: false,
        }
    }
}

/// Why a delay was chosen; used in the retry warning.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DelaySource {
    /// Randomised exponential backoff.
    Backoff,
    /// The server's `Retry-After` header.
    RetryAfter,
}

impl RetryPolicy {
    /// The default policy with `max_retries`, honouring `XNATCTL_RETRY_NO_DELAY`.
    pub fn from_env(max_retries: u32) -> Self {
        RetryPolicy {
            max_retries,
            no_delay: env::flag(env::XNATCTL_RETRY_NO_DELAY),
            ..RetryPolicy::default()
        }
    }

    /// The backoff window for the retry after attempt `attempt` (0-based): `min(cap, base·2^attempt)`.
    pub fn window(&self, attempt: u32) -> Duration {
        let factor = 1u32.checked_shl(attempt.min(31)).unwrap_or(u32::MAX);
        self.base.saturating_mul(factor).min(self.cap)
    }

    /// Full-jitter backoff: uniform in `[0, window(attempt)]`.
    pub fn backoff(&self, attempt: u32) -> Duration {
        if self.no_delay {
            return Duration::ZERO;
        }
        let window = self.window(attempt).as_secs_f64();
        if window <= 0.0 {
            return Duration::ZERO;
        }
        Duration::from_secs_f64(rand::thread_rng().gen_range(0.0..=window))
    }

    /// How long to wait after attempt `attempt` (0-based) failed with `outcome`.
    ///
    /// `Retry-After` is honoured only for 429 and 503, and only up to [`RETRY_AFTER_CAP`].
    pub fn delay(
        &self,
        attempt: u32,
        outcome: Outcome,
        retry_after: Option<&str>,
    ) -> (Duration, DelaySource) {
        let honoured = match (outcome, retry_after) {
            (Outcome::Status(429 | 503), Some(value)) => {
                parse_retry_after(value, SystemTime::now()).filter(|d| *d <= RETRY_AFTER_CAP)
            }
            _ => None,
        };
        match honoured {
            Some(_) if self.no_delay => (Duration::ZERO, DelaySource::RetryAfter),
            Some(d) => (d, DelaySource::RetryAfter),
            None => (self.backoff(attempt), DelaySource::Backoff),
        }
    }
}

/// Parse a `Retry-After` value: whole seconds (negative means now) or an HTTP date.
///
/// Fractional seconds are not valid per RFC 9110 and are refused, as is anything unparseable.
pub fn parse_retry_after(value: &str, now: SystemTime) -> Option<Duration> {
    let value = value.trim();
    if let Ok(secs) = value.parse::<i64>() {
        return Some(Duration::from_secs(secs.max(0) as u64));
    }
    // All three HTTP-date forms of RFC 9110 §5.6.7: IMF-fixdate, RFC 850 and asctime.
    let when = httpdate::parse_http_date(value).ok()?;
    Some(when.duration_since(now).unwrap_or(Duration::ZERO))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn classification_table() {
        use Outcome::{Status as S, Transport as T};
        let post = Method::POST;
        let get = Method::GET;
        let put = Method::PUT;
        let patch = Method::PATCH;
        let cases: &[(&Method, Outcome, bool, Decision)] = &[
            (&get, S(200), false, Decision::Stop),
            (&get, S(404), false, Decision::Stop),
            (&get, S(400), false, Decision::Stop),
            (&get, S(401), false, Decision::Stop),
            (&get, S(429), false, Decision::Retry),
            (&post, S(429), false, Decision::Retry),
            (&post, S(503), false, Decision::Retry),
            (&get, S(503), false, Decision::Retry),
            (&get, S(500), false, Decision::Retry),
            (&put, S(502), false, Decision::Retry),
            (&get, S(504), false, Decision::Retry),
            (&post, S(500), false, Decision::Stop),
            (&post, S(502), false, Decision::Stop),
            (&patch, S(504), false, Decision::Stop),
            (&post, S(500), true, Decision::Retry),
            (&post, S(501), true, Decision::Stop),
            (&post, T(Transport::Connect), false, Decision::Retry),
            (&post, T(Transport::ConnectTimeout), false, Decision::Retry),
            (&post, T(Transport::Interrupted), false, Decision::Stop),
            (&post, T(Transport::ReadTimeout), false, Decision::Stop),
            (&post, T(Transport::Body), false, Decision::Stop),
            (&post, T(Transport::ReadTimeout), true, Decision::Retry),
            (&get, T(Transport::Interrupted), false, Decision::Retry),
            (&get, T(Transport::ReadTimeout), false, Decision::Retry),
            (&Method::DELETE, T(Transport::Body), false, Decision::Retry),
            (&get, T(Transport::Fatal), false, Decision::Stop),
            (&post, T(Transport::Fatal), true, Decision::Stop),
        ];
        for (method, outcome, opt_in, want) in cases {
            assert_eq!(
                classify(method, *outcome, *opt_in),
                *want,
                "{method} {outcome:?} opt_in={opt_in}"
            );
        }
    }

    #[test]
    fn backoff_window_doubles_up_to_cap() {
        let p = RetryPolicy::default();
        let secs: Vec<u64> = (0..8).map(|a| p.window(a).as_secs()).collect();
        assert_eq!(secs, vec![1, 2, 4, 8, 16, 30, 30, 30]);
        assert_eq!(p.window(200), Duration::from_secs(30));
        for attempt in 0..6 {
            for _ in 0..50 {
                assert!(p.backoff(attempt) <= p.window(attempt));
            }
        }
    }

    #[test]
    fn no_delay_zeroes_everything() {
        let p = RetryPolicy {
            no_delay: true,
            ..RetryPolicy::default()
        };
        assert_eq!(p.backoff(5), Duration::ZERO);
        assert_eq!(
            p.delay(0, Outcome::Status(429), Some("5")).0,
            Duration::ZERO
        );
    }

    #[test]
    fn retry_after_values() {
        let now = SystemTime::UNIX_EPOCH + Duration::from_secs(1_000_000_000);
        let cases: &[(&str, Option<u64>)] = &[
            ("5", Some(5)),
            (" 300 ", Some(300)),
            ("-3", Some(0)),
            ("1.5", None),
            ("abc", None),
            ("", None),
            // 1_000_000_000 is Sun, 09 Sep 2001 01:46:40 GMT.
            ("Sun, 09 Sep 2001 01:47:00 GMT", Some(20)),
            ("Sun, 09 Sep 2001 01:00:00 GMT", Some(0)),
            // The two obsolete forms recipients must still accept (RFC 9110 §5.6.7).
            ("Sunday, 09-Sep-01 01:47:30 GMT", Some(50)),
            ("Sun Sep  9 01:48:00 2001", Some(80)),
        ];
        for (value, want) in cases {
            assert_eq!(
                parse_retry_after(value, now).map(|d| d.as_secs()),
                *want,
                "{value:?}"
            );
        }
    }

    #[test]
    fn retry_after_only_for_429_and_503_and_capped() {
        let p = RetryPolicy {
            base: Duration::ZERO,
            ..RetryPolicy::default()
        };
        let d = |outcome, v| p.delay(0, outcome, Some(v));
        assert_eq!(
            d(Outcome::Status(503), "5"),
            (Duration::from_secs(5), DelaySource::RetryAfter)
        );
        assert_eq!(
            d(Outcome::Status(429), "300"),
            (Duration::from_secs(300), DelaySource::RetryAfter)
        );
        assert_eq!(d(Outcome::Status(429), "301").1, DelaySource::Backoff);
        assert_eq!(d(Outcome::Status(429), "abc").1, DelaySource::Backoff);
        assert_eq!(d(Outcome::Status(502), "5").1, DelaySource::Backoff);
        assert_eq!(d(Outcome::Status(500), "5").1, DelaySource::Backoff);
    }

    #[test]
    fn io_errors_are_classified_through_the_chain() {
        #[derive(Debug)]
        struct Wrapper(io::Error);
        impl std::fmt::Display for Wrapper {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str("wrapped")
            }
        }
        impl StdError for Wrapper {
            fn source(&self) -> Option<&(dyn StdError + 'static)> {
                Some(&self.0)
            }
        }
        let k = |kind| transport_kind(&Wrapper(io::Error::new(kind, "x")));
        assert_eq!(k(io::ErrorKind::ConnectionRefused), Transport::Connect);
        assert_eq!(k(io::ErrorKind::ConnectionReset), Transport::Interrupted);
        assert_eq!(k(io::ErrorKind::BrokenPipe), Transport::Interrupted);
        assert_eq!(k(io::ErrorKind::TimedOut), Transport::ReadTimeout);
        assert_eq!(k(io::ErrorKind::PermissionDenied), Transport::Fatal);
    }
}
