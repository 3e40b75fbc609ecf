//! Waiting on server-side work (a container, a pipeline job): look, sleep with backoff, look
//! again, until the work says it is done, a deadline passes or the user interrupts.
//!
//! The loop knows nothing about containers or jobs: each look is a closure that answers
//! [`Step::Pending`] with a short status text, or [`Step::Done`] with the final value. Whether a
//! finished job *failed* is the caller's business (it usually prints the final record first, then
//! returns [`job_failed`]). The status text goes to a [`PollStatus`], which the CLI draws as a
//! spinner line on a terminal and nothing otherwise; the services never print.
//!
//! Backoff: the first look is immediate; the delay starts at the interval and grows by half up to
//! the ceiling while the status text stays the same, and falls back to the interval as soon as it
//! changes (a new state, a log that grew), so a moving job is followed closely and an idle one is
//! not hammered. The deadline is exact: the last sleep is cut short so that the final look happens
//! at the deadline, not one interval after it (the reference overshoots by up to an interval).

use std::future::Future;
use std::time::Duration;

use tokio::time::Instant;
use tokio_util::sync::CancellationToken;

use crate::core::{Error, Result};

/// What one look at the work said.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Step<T> {
    /// Not finished; the text describes where it is (`Running`, `Running · 12 KiB of log`).
    Pending(String),
    /// Finished (successfully or not): the value to return.
    Done(T),
}

/// Receives the status text of every look (the CLI's spinner line).
pub trait PollStatus: Send + Sync {
    /// The latest status of the work being waited on.
    fn status(&self, text: &str);
}

/// A [`PollStatus`] that shows nothing.
#[derive(Debug, Clone, Copy, Default)]
pub struct NoStatus;

impl PollStatus for NoStatus {
    fn status(&self, _text: &str) {}
}

/// How to poll: interval, backoff ceiling, optional deadline and cancel token.
#[derive(Debug, Clone)]
pub struct Poll {
    interval: Duration,
    ceiling: Duration,
    timeout: Option<Duration>,
    cancel: Option<CancellationToken>,
}

impl Poll {
    /// Poll every `interval`, without backoff, deadline or cancel token (add them with the
    /// builder methods).
    pub fn every(interval: Duration) -> Self {
        let interval = interval.max(Duration::from_millis(1));
        Poll {
            interval,
            ceiling: interval,
            timeout: None,
            cancel: None,
        }
    }

    /// Let the delay grow up to `ceiling` while nothing changes.
    pub fn backoff_to(mut self, ceiling: Duration) -> Self {
        self.ceiling = ceiling.max(self.interval);
        self
    }

    /// Give up with [`Error::Timeout`] (exit 4) once `timeout` has passed.
    pub fn timeout(mut self, timeout: Option<Duration>) -> Self {
        self.timeout = timeout;
        self
    }

    /// Stop with [`Error::Cancelled`] (exit 7) as soon as `token` is cancelled.
    pub fn cancel_on(mut self, token: CancellationToken) -> Self {
        self.cancel = Some(token);
        self
    }

    /// The delay after the first look.
    pub fn interval(&self) -> Duration {
        self.interval
    }

    /// Look at the work with `check` until it is done. `what` names the work in the timeout
    /// error (`container 12`). The last status text is in that error too.
    pub async fn until<T, F, Fut>(
        &self,
        what: &str,
        status: &dyn PollStatus,
        mut check: F,
    ) -> Result<T>
    where
        F: FnMut() -> Fut,
        Fut: Future<Output = Result<Step<T>>>,
    {
        let started = Instant::now();
        let deadline = self.timeout.map(|t| started + t);
        let mut delay = self.interval;
        let mut last: Option<String> = None;
        loop {
            let text = match self.cancellable(check()).await?? {
                Step::Done(value) => return Ok(value),
                Step::Pending(text) => text,
            };
            status.status(&text);
            if last.as_deref() == Some(text.as_str()) {
                delay = self.ceiling.min(delay + delay / 2);
            } else {
                delay = self.interval;
            }
            last = Some(text);
            let mut wake = Instant::now() + delay;
            if let Some(deadline) = deadline {
                if Instant::now() >= deadline {
                    let secs = self.timeout.unwrap_or_default().as_secs_f64();
                    return Err(Error::Timeout(format!(
                        "{what} after {}s: still '{}'",
                        trim_secs(secs),
                        last.unwrap_or_default()
                    )));
                }
                wake = wake.min(deadline);
            }
            self.cancellable(tokio::time::sleep_until(wake)).await?;
        }
    }

    async fn cancellable<O>(&self, fut: impl Future<Output = O>) -> Result<O> {
        match &self.cancel {
            Some(token) => tokio::select! {
                biased;
                _ = token.cancelled() => Err(Error::Cancelled),
                out = fut => Ok(out),
            },
            None => Ok(fut.await),
        }
    }
}

/// The error for work that finished in a failed state (exit 1): `container 12 ended with status
/// 'Failed': exit code 3`.
pub fn job_failed(what: &str, status: &str, message: Option<&str>) -> Error {
    match message.map(str::trim).filter(|m| !m.is_empty()) {
        Some(m) => Error::Operation(format!("{what} ended with status '{status}': {m}")),
        None => Error::Operation(format!("{what} ended with status '{status}'")),
    }
}

fn trim_secs(secs: f64) -> String {
    if secs.fract() == 0.0 {
        format!("{secs:.0}")
    } else {
        format!("{secs}")
    }
}

#[cfg(test)]
mod tests {
    use std::sync::{Arc, Mutex};

    use super::*;

    #[derive(Default)]
    struct Seen(Mutex<Vec<String>>);

    impl PollStatus for Seen {
        fn status(&self, text: &str) {
            self.0.lock().unwrap().push(text.to_string());
        }
    }

    /// A job that reports `states` one per look and is done after the last one.
    fn job(states: &[&str]) -> impl FnMut() -> std::future::Ready<Result<Step<String>>> {
        let mut states: Vec<String> = states.iter().map(|s| s.to_string()).collect();
        states.reverse();
        move || {
            let s = states.pop().expect("polled past the end");
            std::future::ready(Ok(if states.is_empty() {
                Step::Done(s)
            } else {
                Step::Pending(s)
            }))
        }
    }

    #[tokio::test(start_paused = true)]
    async fn returns_the_final_value_and_shows_every_pending_status() {
        let seen = Seen::default();
        let started = Instant::now();
        let out = Poll::every(Duration::from_secs(5))
            .until("job 1", &seen, job(&["Created", "Running", "Complete"]))
            .await
            .unwrap();
        assert_eq!(out, "Complete");
        assert_eq!(*seen.0.lock().unwrap(), ["Created", "Running"]);
        // two sleeps of the interval: the status changed each time, so no backoff
        assert_eq!(started.elapsed(), Duration::from_secs(10));
    }

    #[tokio::test(start_paused = true)]
    async fn backs_off_while_nothing_changes_and_resets_when_it_does() {
        let times = Arc::new(Mutex::new(Vec::new()));
        let started = Instant::now();
        let states = ["A", "A", "A", "A", "B", "B", "done"];
        let mut inner = job(&states);
        let t = times.clone();
        Poll::every(Duration::from_secs(1))
            .backoff_to(Duration::from_secs(2))
            .until("job", &NoStatus, move || {
                t.lock().unwrap().push(started.elapsed().as_millis() as u64);
                inner()
            })
            .await
            .unwrap();
        // delays: 1 (new A), 1.5, 2 (ceiling), 2, then 1 (new B), 1.5
        assert_eq!(
            *times.lock().unwrap(),
            [0, 1000, 2500, 4500, 6500, 7500, 9000]
        );
    }

    #[tokio::test(start_paused = true)]
    async fn gives_up_at_the_deadline_exactly_with_exit_4() {
        let started = Instant::now();
        let looks = Arc::new(Mutex::new(0));
        let l = looks.clone();
        let err = Poll::every(Duration::from_secs(5))
            .timeout(Some(Duration::from_secs(6)))
            .until("container 7", &NoStatus, move || {
                *l.lock().unwrap() += 1;
                std::future::ready(Ok(Step::<()>::Pending("Running".into())))
            })
            .await
            .unwrap_err();
        assert_eq!(err.exit_code(), 4);
        assert_eq!(
            err.to_string(),
            "timed out: container 7 after 6s: still 'Running'"
        );
        // looks at 0 s, 5 s and a last one at the deadline (6 s), not at 10 s
        assert_eq!(started.elapsed(), Duration::from_secs(6));
        assert_eq!(*looks.lock().unwrap(), 3);
    }

    #[tokio::test(start_paused = true)]
    async fn a_cancelled_token_stops_the_wait_with_exit_7() {
        let token = CancellationToken::new();
        let t = token.clone();
        tokio::spawn(async move {
            tokio::time::sleep(Duration::from_secs(12)).await;
            t.cancel();
        });
        let started = Instant::now();
        let err = Poll::every(Duration::from_secs(5))
            .cancel_on(token)
            .until("job", &NoStatus, || {
                std::future::ready(Ok(Step::<()>::Pending("Running".into())))
            })
            .await
            .unwrap_err();
        assert_eq!(err.exit_code(), 7);
        assert_eq!(started.elapsed(), Duration::from_secs(12));
    }

    #[tokio::test]
    async fn an_error_from_a_look_ends_the_wait_with_that_error() {
        let err = Poll::every(Duration::from_millis(1))
            .until("job", &NoStatus, || {
                std::future::ready(Err::<Step<()>, _>(Error::NotFound {
                    kind: "container".into(),
                    id: "9".into(),
                }))
            })
            .await
            .unwrap_err();
        assert_eq!(err.exit_code(), 5);
    }

    #[test]
    fn a_failed_job_is_exit_1_with_its_message() {
        let e = job_failed("container 3", "Failed", Some("exit code 2"));
        assert_eq!(e.exit_code(), 1);
        assert_eq!(
            e.to_string(),
            "container 3 ended with status 'Failed': exit code 2"
        );
        assert_eq!(
            job_failed("job J", "Error", Some(" ")).to_string(),
            "job J ended with status 'Error'"
        );
    }
}
