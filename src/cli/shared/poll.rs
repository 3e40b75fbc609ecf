//! The CLI side of `--wait`, `--follow` and `--watch`: a spinner line with the latest status on a
//! terminal (nothing on a pipe, under `--quiet` or with json output, as for transfer bars), the
//! Ctrl-C token wired into the poll loop (exit 7), and `--interval`/`--timeout` parsing.
//!
//! Usage, from a handler:
//! ```ignore
//! let poll = shared::poll::plan(ctx, Duration::from_secs(5), Duration::from_secs(30), timeout);
//! let done = shared::poll::wait(ctx, &poll, "container 12", || service::look(client, 12)).await?;
//! ```
//! The loop itself ([`crate::services::poll::Poll`]) lives in services; a service that waits on
//! something takes a `&Poll` and a `&dyn PollStatus` and the handler passes a [`StatusLine`].

use std::future::Future;
use std::io::IsTerminal;
use std::time::Duration;

use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};

use crate::cli::Context;
use crate::core::Result;
use crate::services::poll::{Poll, PollStatus, Step};

/// A spinner with the latest status of the work being waited on; cleared when dropped (done,
/// failed, timed out or interrupted alike), so it never stays on screen above the result.
pub struct StatusLine {
    bar: Option<ProgressBar>,
    label: String,
}

impl StatusLine {
    /// A status line for `label` (`container 12`): drawn on stderr when it is a terminal and the
    /// output is neither quiet nor json; otherwise it draws nothing.
    pub fn new(ctx: &Context, label: &str) -> Self {
        let visible = std::io::stderr().is_terminal() && !ctx.global().quiet && !ctx.is_json();
        let bar = visible.then(|| {
            let bar = ProgressBar::with_draw_target(None, ProgressDrawTarget::stderr());
            let style = ProgressStyle::with_template("{spinner} {wide_msg} {elapsed}")
                .unwrap_or_else(|_| ProgressStyle::default_spinner());
            bar.set_style(style);
            bar.set_message(label.to_string());
            bar.enable_steady_tick(Duration::from_millis(120));
            bar
        });
        StatusLine {
            bar,
            label: label.to_string(),
        }
    }

    /// Whether anything is drawn.
    pub fn is_visible(&self) -> bool {
        self.bar.is_some()
    }

    /// Show a message above the spinner (or nothing when the line is hidden).
    pub fn println(&self, text: &str) {
        if let Some(bar) = &self.bar {
            bar.println(text);
        }
    }
}

impl PollStatus for StatusLine {
    fn status(&self, text: &str) {
        if let Some(bar) = &self.bar {
            bar.set_message(format!("{}: {text}", self.label));
        }
    }
}

impl Drop for StatusLine {
    fn drop(&mut self) {
        if let Some(bar) = &self.bar {
            bar.finish_and_clear();
        }
    }
}

/// The poll plan for a command: first delay `interval`, growing to `ceiling` while nothing
/// changes, giving up after `timeout`, stopping on Ctrl-C. The test knob `XNATCTL_POLL_MS`
/// replaces both delays.
pub fn plan(
    ctx: &Context,
    interval: Duration,
    ceiling: Duration,
    timeout: Option<Duration>,
) -> Poll {
    let knob = std::env::var(crate::core::env::XNATCTL_POLL_MS)
        .ok()
        .and_then(|v| v.trim().parse::<u64>().ok())
        .map(Duration::from_millis);
    let (interval, ceiling) = match knob {
        Some(k) => (k, k),
        None => (interval, ceiling),
    };
    Poll::every(interval)
        .backoff_to(ceiling)
        .timeout(timeout)
        .cancel_on(ctx.cancel_token().clone())
}

/// Poll with `check` under `poll`, showing a [`StatusLine`] labelled `what` meanwhile.
pub async fn wait<T, F, Fut>(ctx: &Context, poll: &Poll, what: &str, check: F) -> Result<T>
where
    F: FnMut() -> Fut,
    Fut: Future<Output = Result<Step<T>>>,
{
    let line = StatusLine::new(ctx, what);
    poll.until(what, &line, check).await
}

/// clap value parser for `--interval`/`--timeout`: seconds, fractions allowed, more than zero.
pub fn seconds(text: &str) -> std::result::Result<Duration, String> {
    let secs: f64 = text
        .trim()
        .parse()
        .map_err(|_| format!("'{text}' is not a number of seconds"))?;
    if !secs.is_finite() || secs <= 0.0 {
        return Err(format!("'{text}' must be more than 0 seconds"));
    }
    Duration::try_from_secs_f64(secs).map_err(|e| e.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn seconds_accepts_fractions_and_refuses_zero_negative_and_words() {
        assert_eq!(seconds("2.5"), Ok(Duration::from_millis(2500)));
        assert_eq!(seconds("3600"), Ok(Duration::from_secs(3600)));
        assert!(seconds("0").is_err());
        assert!(seconds("-1").is_err());
        assert!(seconds("soon").is_err());
        assert!(seconds("inf").is_err());
    }
}
