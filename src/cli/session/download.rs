//! `session download`: every scan (and optionally the session's own resources) of one session,
//! through the shared download engine in `cli::transfer_cmds`.

pub use crate::cli::transfer_cmds::{session_download as run, SessionDownloadArgs as DownloadArgs};
