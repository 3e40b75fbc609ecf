//! The argument groups every command builds from: one declaration and one help text each for
//! the project/subject/session selectors, the list controls, `--yes`/`--dry-run` and
//! `--workers`.

use clap::Args;

use crate::cli::Context;
use crate::core::output::ListControls;
use crate::core::validation::{DEFAULT_WORKERS, MAX_WORKERS};
use crate::core::Result;

/// `--yes` / `--dry-run`, on every command that changes server or local state.
#[derive(Debug, Clone, Default, Args)]
pub struct ConfirmArgs {
    /// Do not ask for confirmation
    #[arg(short = 'y', long)]
    pub yes: bool,
    /// Show what would be done and change nothing
    #[arg(long)]
    pub dry_run: bool,
}

impl ConfirmArgs {
    /// True when no prompt will be shown (`--yes` or `--dry-run`): stdin is then free to carry
    /// data such as `--batch -`.
    pub fn unattended(&self) -> bool {
        self.yes || self.dry_run
    }
}

/// `--filter`, `--sort-by`, `--limit`, `--columns`, on every list command.
#[derive(Debug, Clone, Args, Default)]
pub struct ListArgs {
    /// Keep rows whose FIELD matches the glob (case-insensitive), e.g. `label:SUB*`; repeatable.
    /// A FIELD may hold ':' (`var:group:ctl*`): the longest field name that matches wins
    #[arg(long, value_name = "FIELD:GLOB")]
    pub filter: Vec<String>,
    /// Sort by FIELD, optionally `:desc`
    #[arg(long, value_name = "FIELD[:asc|:desc]")]
    pub sort_by: Option<String>,
    /// Show at most N rows
    #[arg(long, value_name = "N")]
    pub limit: Option<usize>,
    /// Comma-separated columns for table and TSV output
    #[arg(long, value_name = "A,B,..")]
    pub columns: Option<String>,
}

impl ListArgs {
    /// Parse into the core's list controls (usage errors exit 2).
    pub fn controls(&self) -> Result<ListControls> {
        ListControls::parse(
            &self.filter,
            self.sort_by.as_deref(),
            self.limit,
            self.columns.as_deref(),
        )
    }
}

/// `-P/--project`, optional: the profile's `default_project` fills in.
#[derive(Debug, Clone, Default, Args)]
pub struct ProjectArg {
    /// Project ID (default: the profile's default_project)
    #[arg(short = 'P', long = "project", value_name = "PROJECT")]
    pub project: Option<String>,
}

impl ProjectArg {
    /// The flag, else the profile's default project.
    pub fn or_default(&self, ctx: &Context) -> Option<String> {
        ctx.project_or_default(self.project.as_deref())
    }

    /// The flag, else the profile's default project, else a usage error naming both.
    pub fn require(&self, ctx: &Context) -> Result<String> {
        ctx.require_project(self.project.as_deref())
    }
}

/// `-E/--experiment` and `-P/--project`: one session, by accession ID or by label in a project.
#[derive(Debug, Clone, Args)]
pub struct SessionRef {
    /// Session accession ID or label (labels need a project)
    #[arg(short = 'E', long = "experiment", value_name = "ID_OR_LABEL")]
    pub experiment: String,
    #[command(flatten)]
    pub project: ProjectArg,
}

/// `-E`, `-P` and `-S`: one session, optionally through its subject.
#[derive(Debug, Clone, Args)]
pub struct SessionTarget {
    #[command(flatten)]
    pub session: SessionRef,
    /// Subject ID or label (needs a project)
    #[arg(short = 'S', long, value_name = "SUBJECT")]
    pub subject: Option<String>,
}

/// `-w/--workers`: how many requests run at once.
#[derive(Debug, Clone, Copy, Default, Args)]
pub struct WorkersArg {
    /// Requests to run at once (1-100) [default: profile workers, else 4]
    #[arg(short = 'w', long, value_name = "N",
          value_parser = clap::value_parser!(u16).range(1..=MAX_WORKERS as i64))]
    pub workers: Option<u16>,
}

impl WorkersArg {
    /// The flag, else the profile's `workers`, else [`DEFAULT_WORKERS`]; always 1-100.
    pub fn resolve(&self, ctx: &Context) -> usize {
        self.workers
            .map(usize::from)
            .or_else(|| ctx.profile().ok().and_then(|p| p.workers))
            .unwrap_or(DEFAULT_WORKERS)
            .clamp(1, MAX_WORKERS)
    }
}
