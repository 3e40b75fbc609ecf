//! The CLI kit every command is built from: argument groups, `--batch` and password input,
//! the one confirm → act → audit path ([`mutate`]) and the one batch runner ([`batch`]) and
//! the `--wait`/`--follow`/`--watch` status line and poll plan ([`poll`]).

pub mod args;
pub mod batch;
pub mod download;
pub mod input;
pub mod mutate;
pub mod payload;
pub mod poll;

pub use args::{ConfirmArgs, ListArgs, ProjectArg, SessionRef, SessionTarget, WorkersArg};
pub use input::{
    parse_batch, password_from_stdin, password_or_prompt, prompt_line, prompt_password, read_batch,
    refuse_password, refuse_password_flag,
};
pub use mutate::{delete_by_id, mutate, AuditNotes, Deletion, Mode};
