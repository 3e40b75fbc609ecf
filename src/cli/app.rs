//! Process entry: parse the command line, set up logging and the runtime, run, and turn the
//! outcome into an exit code. `main.rs` is a single call into [`main`].

use std::io::IsTerminal;

use clap::Parser;

use super::{Cli, Context};
use crate::core::error::{Error, EXIT_CANCELLED, EXIT_GENERAL, EXIT_OK, EXIT_USAGE};
use crate::core::logging::{self, LogOptions};

/// Run xnatctl with the process arguments and return the exit code.
pub fn main() -> i32 {
    if let Some(code) = version_fast_path() {
        return code;
    }
    let cli = match Cli::try_parse() {
        Ok(cli) => cli,
        Err(err) => {
            // clap prints help/version to stdout and usage errors to stderr itself.
            let code = if err.use_stderr() {
                EXIT_USAGE
            } else {
                EXIT_OK
            };
            if let Err(e) = err.print() {
                if e.kind() != std::io::ErrorKind::BrokenPipe {
                    return EXIT_USAGE;
                }
            }
            return code;
        }
    };

    let verbosity = if cli.global.quiet {
        -1
    } else {
        cli.global.verbose as i8
    };
    let log_file = cli
        .global
        .log_file
        .clone()
        .or_else(|| std::env::var_os(crate::core::env::XNATCTL_LOG_FILE).map(Into::into))
        .or_else(|| config_log_file(&cli.global));
    let _log_guard = match init_logging(verbosity, log_file) {
        Ok(g) => g,
        Err(e) => {
            let ctx = Context::minimal(&cli.global);
            ctx.messages().error(&e);
            return e.exit_code();
        }
    };

    let ctx = Context::new(&cli.global);
    let runtime = match runtime_builder(&cli.command).enable_all().build() {
        Ok(rt) => rt,
        Err(e) => {
            let err = Error::io("starting the async runtime", e);
            ctx.messages().error(&err);
            return err.exit_code();
        }
    };

    let outcome = runtime.block_on(run_with_cancel(cli, &ctx));
    let code = match outcome {
        Ok(()) => EXIT_OK,
        Err(err) => report(&ctx, &explain_token(&ctx, err)),
    };
    tracing::debug!(event = "exit", code, "command exited with code {code}");
    // Leave background transfers to the runtime drop rather than waiting on them.
    runtime.shutdown_background();
    code
}

/// Transfers hash, zip and write files while streams run: they get two worker threads (bounded,
/// whatever the core count). Every other command waits on the network one request or one small
/// batch at a time, and a single-threaded runtime starts faster and touches less memory
/// (`--batch` concurrency still works: it is I/O concurrency, not parallelism).
fn runtime_builder(command: &super::Command) -> tokio::runtime::Builder {
    use super::session::SessionCommand as S;
    use super::Command as C;
    let parallel = matches!(
        command,
        C::Session(S::Download(_) | S::Upload(_) | S::UploadExam(_) | S::UploadDicom(_))
            | C::Scan(super::scan::ScanCommand::Download(_))
            | C::Resource(
                super::resource::ResourceCommand::Download(_)
                    | super::resource::ResourceCommand::Upload(_)
            )
    );
    if parallel {
        let mut b = tokio::runtime::Builder::new_multi_thread();
        b.worker_threads(2);
        b
    } else {
        tokio::runtime::Builder::new_current_thread()
    }
}

/// The config file's `log_file:` (as the reference honours it), with a leading `~/` expanded.
/// Read quietly here, before logging starts: a config that cannot be read is reported by the
/// command that needs it.
fn config_log_file(global: &super::GlobalArgs) -> Option<std::path::PathBuf> {
    let path = Context::minimal(global).config_path();
    if !path.is_file() {
        return None;
    }
    let file = crate::core::config::Config::load(&path).ok()?.log_file?;
    match file.strip_prefix("~") {
        Ok(rest) if file.starts_with("~/") => dirs::home_dir().map(|h| h.join(rest)),
        _ => Some(file),
    }
}

/// `xnatctl --version` alone answers before the whole command tree is built: scripts and shell
/// prompts call it often, and it is the start-up benchmark. Prints exactly what clap would.
fn version_fast_path() -> Option<i32> {
    use std::io::Write;
    let mut args = std::env::args_os().skip(1);
    let first = args.next()?;
    if args.next().is_some() || (first != "--version" && first != "-V") {
        return None;
    }
    let mut out = std::io::stdout().lock();
    match writeln!(out, "xnatctl {}", env!("CARGO_PKG_VERSION")).and_then(|_| out.flush()) {
        Ok(()) => Some(EXIT_OK),
        Err(e) if e.kind() == std::io::ErrorKind::BrokenPipe => Some(EXIT_OK),
        Err(_) => Some(EXIT_GENERAL),
    }
}

/// Ctrl-C, or SIGTERM (what `kill`, systemd and job schedulers send): both ask the command to
/// stop cleanly.
struct Interrupts {
    #[cfg(unix)]
    term: Option<tokio::signal::unix::Signal>,
}

impl Interrupts {
    /// Start listening (before the command runs, so an early SIGTERM is not the default kill).
    fn new() -> Self {
        Interrupts {
            #[cfg(unix)]
            term: tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()).ok(),
        }
    }

    /// The next Ctrl-C or SIGTERM.
    async fn next(&mut self) {
        #[cfg(unix)]
        if let Some(term) = self.term.as_mut() {
            tokio::select! {
                _ = tokio::signal::ctrl_c() => {}
                _ = term.recv() => {}
            }
            return;
        }
        let _ = tokio::signal::ctrl_c().await;
    }
}

/// Run the command, stopping cleanly on the first Ctrl-C (or SIGTERM) and at once on the second.
async fn run_with_cancel(cli: Cli, ctx: &Context) -> Result<(), Error> {
    let mut interrupts = Interrupts::new();
    let command = super::run(cli, ctx);
    tokio::pin!(command);
    tokio::select! {
        res = &mut command => res,
        _ = interrupts.next() => {
            ctx.cancel_token().cancel();
            if ctx.is_cancel_aware() {
                // Transfers watch the token: let them remove partial files and print a summary.
                ctx.messages().warn("interrupted: finishing cleanly (press Ctrl-C again to stop now)");
                tokio::select! {
                    res = &mut command => res.and(Err(Error::Cancelled)),
                    _ = interrupts.next() => Err(Error::Cancelled),
                }
            } else {
                Err(Error::Cancelled)
            }
        }
    }
}

/// A 401 while running on `XNAT_TOKEN` without credentials means that token is dead: say so,
/// rather than suggesting a login the user may never have made.
fn explain_token(ctx: &Context, err: Error) -> Error {
    match (&err, ctx.profile()) {
        (Error::SessionExpired(_), Ok(p))
            if p.token.is_some() && (p.username.is_none() || p.password.is_none()) =>
        {
            Error::Auth(format!(
                "{} rejected the session in {}: set a fresh one, or {} and {}",
                p.url,
                crate::core::env::XNAT_TOKEN,
                crate::core::env::XNAT_USER,
                crate::core::env::XNAT_PASS
            ))
        }
        _ => err,
    }
}

/// Print an error (unless it is a closed stdout) and return its exit code.
fn report(ctx: &Context, err: &Error) -> i32 {
    if let Error::Io { source, .. } = err {
        if source.kind() == std::io::ErrorKind::BrokenPipe {
            return EXIT_OK;
        }
    }
    if let Error::UpdateAvailable { current, latest } = err {
        // Not a failure: the report is on stdout; a person also gets the next step.
        if !ctx.global().quiet && !ctx.is_json() {
            ctx.messages().info(&format!(
                "xnatctl {latest} is available (running {current}): run 'xnatctl upgrade'"
            ));
        }
        return err.exit_code();
    }
    if matches!(err, Error::Cancelled) {
        if std::io::stderr().is_terminal() || !ctx.global().quiet {
            ctx.messages().info("cancelled");
        }
        return EXIT_CANCELLED;
    }
    ctx.messages().error(err);
    err.exit_code()
}

fn init_logging(
    verbosity: i8,
    log_file: Option<std::path::PathBuf>,
) -> Result<logging::LogGuard, Error> {
    logging::init(LogOptions {
        verbosity,
        log_file,
    })
}
