//! The indicatif side of `core::progress::Progress`: one bar for a whole transfer with bytes,
//! throughput and ETA, drawn only when someone can see it.

use std::io::IsTerminal;

use indicatif::{MultiProgress, ProgressBar, ProgressDrawTarget, ProgressStyle};

use super::Context;
use crate::core::progress::{NoProgress, Progress};

/// A byte-counting bar inside one `MultiProgress` (so later bars can join it).
pub struct BarProgress {
    _multi: MultiProgress,
    bar: ProgressBar,
}

impl BarProgress {
    /// A bar for `total` bytes, drawn on stderr.
    pub fn new(total: u64) -> Self {
        let multi = MultiProgress::with_draw_target(ProgressDrawTarget::stderr());
        let bar = multi.add(ProgressBar::new(total));
        let style = ProgressStyle::with_template(
            "{bar:30} {bytes}/{total_bytes} {bytes_per_sec} ETA {eta} {wide_msg}",
        )
        .unwrap_or_else(|_| ProgressStyle::default_bar());
        bar.set_style(style);
        BarProgress { _multi: multi, bar }
    }
}

impl Progress for BarProgress {
    fn begin(&self, label: &str, _total: Option<u64>) {
        self.bar.set_message(label.to_string());
    }
    fn advance(&self, bytes: u64) {
        self.bar.inc(bytes);
    }
    fn finish(&self, _label: &str) {}
}

impl Drop for BarProgress {
    fn drop(&mut self) {
        self.bar.finish_and_clear();
    }
}

/// A bar for `total` bytes when stderr is a terminal and the output is neither quiet nor json;
/// otherwise a progress that draws nothing.
pub fn for_transfer(ctx: &Context, total: u64) -> Box<dyn Progress> {
    if std::io::stderr().is_terminal() && !ctx.global().quiet && !ctx.is_json() {
        Box::new(BarProgress::new(total))
    } else {
        Box::new(NoProgress)
    }
}
