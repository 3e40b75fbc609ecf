//! The command-line tree: global options, one module per command group, and the dispatch.
//!
//! Parsing happens here and only here; handlers turn their arguments into core/service calls
//! and hand the results to the one `Printer` held by the [`Context`].

pub mod admin;
pub mod anon;
pub mod api;
pub mod app;
pub mod auth;
pub mod command;
pub mod completion;
pub mod config;
pub mod container;
pub mod context;
pub mod dicom;
pub mod doctor;
pub mod event;
pub mod health;
pub mod local;
pub mod pipeline;
pub mod prearchive;
pub mod progress;
pub mod project;
pub mod resource;
pub mod scan;
pub mod scp;
pub mod search;
pub mod session;
pub mod shared;
pub mod subject;
pub mod upgrade;
pub mod vars;
pub mod version;
pub mod whoami;
pub mod wrapper;
pub mod xsync;

use std::path::PathBuf;

use clap::{Args, Parser, Subcommand, ValueEnum};

use crate::core::output::OutputFormat;
use crate::core::Result;
pub use context::Context;

/// xnatctl: browse, download, upload and administer data on an XNAT server.
#[derive(Debug, Parser)]
#[command(
    name = "xnatctl",
    version,
    about = "Command-line client for XNAT, the open-source neuroimaging data server",
    long_about = None,
    propagate_version = true,
    max_term_width = 100
)]
pub struct Cli {
    /// Options accepted by every command.
    #[command(flatten)]
    pub global: GlobalArgs,

    /// The command to run.
    #[command(subcommand)]
    pub command: Command,
}

/// Help heading of the options every command accepts.
const GLOBAL: &str = "Global options";

/// Options accepted by every command, before or after the subcommand.
#[derive(Debug, Clone, Args)]
pub struct GlobalArgs {
    /// Profile to use from the config file [env: XNAT_PROFILE]
    #[arg(short = 'p', long, global = true, value_name = "NAME", help_heading = GLOBAL)]
    pub profile: Option<String>,

    /// Output format
    #[arg(short = 'o', long, global = true, value_enum, default_value_t = OutputArg::Table, help_heading = GLOBAL)]
    pub output: OutputArg,

    /// Minimal output: ids only, and errors only on stderr
    #[arg(short = 'q', long, global = true, help_heading = GLOBAL)]
    pub quiet: bool,

    /// More diagnostics on stderr (-v info, -vv debug)
    #[arg(short = 'v', long, global = true, action = clap::ArgAction::Count, help_heading = GLOBAL)]
    pub verbose: u8,

    /// Never colour output (also NO_COLOR or CLICOLOR=0)
    #[arg(long, global = true, help_heading = GLOBAL)]
    pub no_color: bool,

    /// Leave out the header row of tables and TSV
    #[arg(long, global = true, help_heading = GLOBAL)]
    pub no_headers: bool,

    /// Append JSON-lines diagnostics to this file [env: XNATCTL_LOG_FILE]
    #[arg(long, global = true, value_name = "PATH", help_heading = GLOBAL)]
    pub log_file: Option<PathBuf>,

    /// Config file to use instead of ~/.config/xnatctl/config.yaml [env: XNATCTL_CONFIG]
    #[arg(long, global = true, value_name = "PATH", help_heading = GLOBAL)]
    pub config: Option<PathBuf>,
}

/// The `-o/--output` values.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum OutputArg {
    /// Aligned table on a terminal (tab-free, untruncated when piped)
    Table,
    /// JSON document on stdout
    Json,
    /// Tab-separated values with a header row
    Tsv,
}

impl From<OutputArg> for OutputFormat {
    fn from(value: OutputArg) -> Self {
        match value {
            OutputArg::Table => OutputFormat::Table,
            OutputArg::Json => OutputFormat::Json,
            OutputArg::Tsv => OutputFormat::Tsv,
        }
    }
}

/// Every top-level command.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Manage profiles in the config file
    #[command(subcommand)]
    Config(config::ConfigCommand),
    /// Log in, log out and inspect the cached session
    #[command(subcommand)]
    Auth(auth::AuthCommand),
    /// Show who the server thinks you are
    Whoami(whoami::WhoamiArgs),
    /// Check URL, TLS, proxy, credentials, project access, server version and clock, with fixes
    Doctor(doctor::DoctorArgs),
    /// Check that the server answers
    #[command(subcommand)]
    Health(health::HealthCommand),
    /// Call any REST path directly (escape hatch)
    #[command(subcommand)]
    Api(api::ApiCommand),
    /// Print a shell completion script
    Completion(completion::CompletionArgs),
    /// Write man pages for every command into a directory
    Man(completion::ManArgs),
    /// Browse, share and curate imaging sessions
    #[command(subcommand)]
    Session(session::SessionCommand),
    /// List, show and delete scans of a session
    #[command(subcommand)]
    Scan(scan::ScanCommand),
    /// List and inspect resources; refresh catalogs
    #[command(subcommand)]
    Resource(resource::ResourceCommand),
    /// Browse and administer projects
    #[command(subcommand)]
    Project(project::ProjectCommand),
    /// Browse and manage subjects of a project
    #[command(subcommand)]
    Subject(subject::SubjectCommand),
    /// List, run and delete stored searches
    #[command(subcommand)]
    Search(search::SearchCommand),
    /// List, archive, move and delete sessions waiting in the prearchive
    #[command(subcommand)]
    Prearchive(prearchive::PrearchiveCommand),
    /// Administer the site: version and build information
    #[command(subcommand)]
    Admin(admin::AdminCommand),
    /// Show, replace, enable and disable the DICOM anonymization scripts (site or project)
    #[command(subcommand)]
    Anon(anon::AnonCommand),
    /// List, create, enable, disable and delete the server's DICOM SCP receivers
    #[command(subcommand)]
    Scp(scp::ScpCommand),
    /// Manage Event Service subscriptions and list the event types and actions they use
    #[command(subcommand)]
    Event(event::EventCommand),
    /// Manage the XSync plugin: project setups, sync status and history, sync triggers, credentials
    #[command(subcommand)]
    Xsync(xsync::XsyncCommand),
    /// List and launch legacy pipelines and follow their jobs
    #[command(subcommand)]
    Pipeline(pipeline::PipelineCommand),
    /// Register, inspect, replace and delete Container Service commands
    #[command(subcommand)]
    Command(command::CommandCommand),
    /// Export a project's subject or session metadata to a spreadsheet and apply it back
    #[command(subcommand)]
    Vars(vars::VarsCommand),
    /// List Container Service wrappers; enable, disable and configure them (site or project)
    #[command(subcommand)]
    Wrapper(wrapper::WrapperCommand),
    /// List, inspect, launch and kill Container Service containers; read and follow their logs
    #[command(subcommand)]
    Container(container::ContainerCommand),
    /// Work with downloaded files locally (no server)
    #[command(subcommand)]
    Local(local::LocalCommand),
    /// Validate, inspect, anonymize and modify DICOM files locally (no server)
    #[command(subcommand)]
    Dicom(dicom::DicomCommand),
    /// Replace this binary with a newer release (checksum-verified)
    #[command(disable_version_flag = true)]
    Upgrade(upgrade::UpgradeArgs),
    /// Show this build's version, commit, build date and target
    Version(version::VersionArgs),
}

/// Run one parsed command line; the error carries the exit code.
pub async fn run(cli: Cli, ctx: &Context) -> Result<()> {
    match cli.command {
        Command::Config(c) => config::run(c, ctx).await,
        Command::Auth(c) => auth::run(c, ctx).await,
        Command::Whoami(a) => whoami::run(a, ctx).await,
        Command::Doctor(a) => doctor::run(a, ctx).await,
        Command::Health(c) => health::run(c, ctx).await,
        Command::Api(c) => api::run(c, ctx).await,
        Command::Completion(a) => completion::run_completion(a, ctx),
        Command::Man(a) => completion::run_man(a, ctx),
        Command::Session(c) => session::run(c, ctx).await,
        Command::Scan(c) => scan::run(c, ctx).await,
        Command::Resource(c) => resource::run(c, ctx).await,
        Command::Project(c) => project::run(c, ctx).await,
        Command::Subject(c) => subject::run(c, ctx).await,
        Command::Search(c) => search::run(c, ctx).await,
        Command::Prearchive(c) => prearchive::run(c, ctx).await,
        Command::Local(c) => local::run(c, ctx).await,
        Command::Admin(c) => admin::run(c, ctx).await,
        Command::Anon(c) => anon::run(c, ctx).await,
        Command::Scp(c) => scp::run(c, ctx).await,
        Command::Event(c) => event::run(c, ctx).await,
        Command::Xsync(c) => xsync::run(c, ctx).await,
        Command::Pipeline(c) => pipeline::run(c, ctx).await,
        Command::Command(c) => command::run(c, ctx).await,
        Command::Vars(c) => vars::run(c, ctx).await,
        Command::Wrapper(c) => wrapper::run(c, ctx).await,
        Command::Container(c) => container::run(c, ctx).await,
        Command::Dicom(c) => dicom::run(c, ctx).await,
        Command::Upgrade(a) => upgrade::run(a, ctx).await,
        Command::Version(a) => version::run(a, ctx),
    }
}
