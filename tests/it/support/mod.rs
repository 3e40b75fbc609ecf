//! Shared helpers for integration tests: a simulator per test, and the real xnatctl binary run
//! with an isolated home directory so no test sees the developer's config or another test's cache.

pub mod dicom;

use std::path::{Path, PathBuf};

use assert_cmd::Command;
use tempfile::TempDir;
use xnat_sim::{SimConfig, SimHandle};

/// One simulator plus one private home/config directory.
pub struct TestEnv {
    /// The running simulator.
    pub sim: SimHandle,
    /// Private HOME for the binary.
    pub home: TempDir,
}

impl TestEnv {
    /// A simulator with the demo fixture.
    pub fn demo() -> TestEnv {
        Self::with(SimConfig::demo())
    }

    /// A simulator with no projects (admin:admin only).
    pub fn empty() -> TestEnv {
        Self::with(SimConfig::default())
    }

    /// A simulator with the given configuration.
    pub fn with(config: SimConfig) -> TestEnv {
        let sim = SimHandle::spawn(config).expect("simulator starts");
        count_start();
        let home = tempfile::tempdir().expect("temp home");
        TestEnv { sim, home }
    }

    /// The simulator's base URL.
    pub fn url(&self) -> String {
        self.sim.base_url()
    }

    /// The config directory the binary uses.
    pub fn config_dir(&self) -> PathBuf {
        self.home.path().join(".config").join("xnatctl")
    }

    /// The config file the binary uses.
    pub fn config_file(&self) -> PathBuf {
        self.config_dir().join("config.yaml")
    }

    /// xnatctl with XNAT_URL/XNAT_USER/XNAT_PASS pointing at the simulator as admin.
    pub fn cmd(&self) -> Command {
        let mut cmd = self.bare_cmd();
        cmd.env("XNAT_URL", self.url())
            .env("XNAT_USER", "admin")
            .env("XNAT_PASS", "admin");
        cmd
    }

    /// xnatctl with an isolated home and no XNAT_* credentials at all.
    pub fn bare_cmd(&self) -> Command {
        let mut cmd = Command::cargo_bin("xnatctl").expect("binary built");
        for var in [
            "XNAT_URL",
            "XNAT_USER",
            "XNAT_PASS",
            "XNAT_TOKEN",
            "XNAT_PROFILE",
            "XNAT_VERIFY_SSL",
            "XNAT_TIMEOUT",
            "XNATCTL_CONFIG",
            "XNATCTL_LOG_FILE",
            "XNATCTL_DEBUG",
            "XDG_CONFIG_HOME",
        ] {
            cmd.env_remove(var);
        }
        cmd.env("HOME", self.home.path())
            .env("XDG_CONFIG_HOME", self.home.path().join(".config"))
            .env("XNATCTL_RETRY_NO_DELAY", "1")
            .env("NO_COLOR", "1")
            .env("COLUMNS", "200")
            .current_dir(self.home.path());
        cmd
    }

    /// Requests the simulator has seen, as `METHOD /path?query` strings.
    pub fn request_lines(&self) -> Vec<String> {
        self.sim
            .requests()
            .into_iter()
            .map(|r| {
                if r.query.is_empty() {
                    format!("{} {}", r.method, r.path)
                } else {
                    format!("{} {}?{}", r.method, r.path, r.query)
                }
            })
            .collect()
    }

    /// Forget the request log (e.g. after a setup step).
    pub fn clear_requests(&self) {
        self.sim.clear_requests();
    }
}

/// One simulator per module for its read-only tests: `shared!(seeded)` defines `fn shared()`
/// returning a `&'static TestEnv` built once by `seeded()`. Only tests that change nothing on the
/// server and read no request log may use it (the tests of a module run in parallel).
macro_rules! shared {
    ($make:path) => {
        fn shared() -> &'static $crate::support::TestEnv {
            static ENV: std::sync::OnceLock<$crate::support::TestEnv> = std::sync::OnceLock::new();
            ENV.get_or_init($make)
        }
    };
}
pub(crate) use shared;

/// With `XNATCTL_TEST_SIM_LOG=FILE`, append one line per simulator start (to count them).
fn count_start() {
    if let Some(path) = std::env::var_os("XNATCTL_TEST_SIM_LOG") {
        use std::io::Write;
        if let Ok(mut f) = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(path)
        {
            let _ = writeln!(f, "start");
        }
    }
}

/// Run the binary with `args`: its stdout and exit code (-1 when a signal ended it).
pub fn run(env: &TestEnv, args: &[&str]) -> (String, i32) {
    let out = env.cmd().args(args).output().expect("runs");
    (stdout_of(&out), out.status.code().unwrap_or(-1))
}

/// Snapshot `exit <code>` and the stdout of a command under `name`, with [`insta_settings`].
/// A macro rather than a function so that insta names the snapshot after the calling test file.
#[allow(unused_macros)]
macro_rules! snap {
    ($env:expr, $name:expr, $args:expr $(,)?) => {{
        let env = $env;
        let (stdout, code) = $crate::support::run(env, $args);
        $crate::support::insta_settings(env)
            .bind(|| insta::assert_snapshot!($name, format!("exit {code}\n{stdout}")));
    }};
}
#[allow(unused_imports)]
pub(crate) use snap;

/// [`snap!`] of `args` with `-o table`, `-o json` and `-o tsv` appended, under
/// `{prefix}_table`, `{prefix}_json` and `{prefix}_tsv`.
#[allow(unused_macros)]
macro_rules! snap_formats {
    ($env:expr, $prefix:expr, $args:expr $(,)?) => {{
        let env = $env;
        for fmt in ["table", "json", "tsv"] {
            let mut args: Vec<&str> = $args.to_vec();
            args.extend(["-o", fmt]);
            let name = format!("{}_{}", $prefix, fmt);
            $crate::support::snap!(env, name.as_str(), &args);
        }
    }};
}
#[allow(unused_imports)]
pub(crate) use snap_formats;

/// stdout of a finished command as a String.
pub fn stdout_of(output: &std::process::Output) -> String {
    String::from_utf8_lossy(&output.stdout).into_owned()
}

/// stderr of a finished command as a String.
pub fn stderr_of(output: &std::process::Output) -> String {
    String::from_utf8_lossy(&output.stderr).into_owned()
}

/// insta settings that replace the simulator's port and temp paths with stable placeholders.
pub fn insta_settings(env: &TestEnv) -> insta::Settings {
    let mut s = insta::Settings::clone_current();
    s.add_filter(&regex_escape(&env.url()), "[SIM]");
    s.add_filter(
        &regex_escape(&env.home.path().display().to_string()),
        "[HOME]",
    );
    s.add_filter(r"\d+ms", "[N]ms");
    s.add_filter(
        r"\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?(Z|[+-]\d{2}:\d{2})",
        "[TIME]",
    );
    s
}

fn regex_escape(text: &str) -> String {
    regex::escape(text)
}

/// Every file below `dir`, relative, sorted, with `/` separators.
pub fn files_under(dir: &Path) -> Vec<String> {
    fn walk(base: &Path, dir: &Path, out: &mut Vec<String>) {
        if let Ok(entries) = std::fs::read_dir(dir) {
            for e in entries.flatten() {
                let p = e.path();
                if p.is_dir() {
                    walk(base, &p, out);
                } else {
                    let rel = p
                        .strip_prefix(base)
                        .unwrap()
                        .to_string_lossy()
                        .replace('\\', "/");
                    out.push(rel);
                }
            }
        }
    }
    let mut out = Vec::new();
    walk(dir, dir, &mut out);
    out.sort();
    out
}

/// The four output formats every command prints: `table`, `json`, `tsv` and `quiet` (`-q`).
pub const FORMATS: [&str; 4] = ["table", "json", "tsv", "quiet"];

/// `args` with the flags that select `format` (one of [`FORMATS`]) appended.
pub fn with_format<'a>(args: &[&'a str], format: &'a str) -> Vec<&'a str> {
    let mut v = args.to_vec();
    match format {
        "quiet" => v.push("-q"),
        fmt => v.extend(["-o", fmt]),
    }
    v
}

/// xnatctl as admin (see [`TestEnv::cmd`]) with `args`, not yet run.
pub fn command(env: &TestEnv, args: &[&str]) -> Command {
    let mut cmd = env.cmd();
    cmd.args(args);
    cmd
}

/// Run `cmd` with a fresh request log and describe everything it did: the exit code, stdout,
/// stderr and the writes the server saw (every request but GETs and the login), in that order.
pub fn report(env: &TestEnv, mut cmd: Command) -> String {
    env.clear_requests();
    let out = cmd.output().expect("runs");
    let writes: Vec<String> = env
        .request_lines()
        .into_iter()
        .filter(|l| !l.starts_with("GET ") && !l.ends_with(" /data/JSESSION"))
        .collect();
    format!(
        "exit {}\n--- stdout\n{}--- stderr\n{}--- writes\n{}\n",
        out.status.code().unwrap_or(-1),
        stdout_of(&out),
        stderr_of(&out),
        writes.join("\n")
    )
}

/// Snapshot the [`report`] of `cmd` (an `assert_cmd::Command`) under `name`, with
/// [`insta_settings`]. A macro so that insta names the snapshot after the calling test file.
#[allow(unused_macros)]
macro_rules! snap_report {
    ($env:expr, $name:expr, $cmd:expr $(,)?) => {{
        let env = $env;
        let text = $crate::support::report(env, $cmd);
        $crate::support::insta_settings(env).bind(|| insta::assert_snapshot!($name, text));
    }};
}
#[allow(unused_imports)]
pub(crate) use snap_report;

/// Start `cmd` (e.g. [`TestEnv::cmd`] with arguments) as a child process with the same
/// environment and working directory, stdout and stderr piped, for tests that signal it.
pub fn spawn(cmd: &Command) -> std::process::Child {
    let mut child = std::process::Command::new(assert_cmd::cargo::cargo_bin("xnatctl"));
    for (k, v) in cmd.get_envs() {
        match v {
            Some(v) => child.env(k, v),
            None => child.env_remove(k),
        };
    }
    if let Some(dir) = cmd.get_current_dir() {
        child.current_dir(dir);
    }
    child
        .args(cmd.get_args())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .expect("xnatctl starts")
}

/// Wait (up to 20 s, polling) until the simulator has logged a request line matching `seen`.
pub fn wait_for_request(env: &TestEnv, seen: impl Fn(&str) -> bool) {
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(20);
    while !env.request_lines().iter().any(|l| seen(l)) {
        assert!(
            std::time::Instant::now() < deadline,
            "no such request: {:?}",
            env.request_lines()
        );
        std::thread::sleep(std::time::Duration::from_millis(5));
    }
}

/// Send SIGINT (Ctrl-C) to `child`.
pub fn interrupt(child: &std::process::Child) {
    let status = std::process::Command::new("kill")
        .args(["-INT", &child.id().to_string()])
        .status()
        .expect("kill runs");
    assert!(status.success());
}

/// MD5 of a local file.
pub fn md5_file(path: &Path) -> String {
    xnat_sim::state::md5_hex(&std::fs::read(path).expect("file readable"))
}

/// Local files below `dir` → MD5, keyed by relative path.
pub fn local_digests(dir: &Path) -> std::collections::BTreeMap<String, String> {
    files_under(dir)
        .into_iter()
        .map(|rel| {
            let digest = md5_file(&dir.join(&rel));
            (rel, digest)
        })
        .collect()
}

/// Files of the resource labelled `label` among `resources` → MD5 (empty when there is none).
pub fn resource_digests(
    resources: &[xnat_sim::state::Resource],
    label: &str,
) -> std::collections::BTreeMap<String, String> {
    resources
        .iter()
        .find(|r| r.label == label)
        .map(|r| {
            r.files
                .iter()
                .map(|(k, f)| (k.clone(), f.digest.clone()))
                .collect()
        })
        .unwrap_or_default()
}

/// How many requests the simulator has logged whose `METHOD /path?query` line starts with `prefix`.
pub fn count_requests(env: &TestEnv, prefix: &str) -> usize {
    env.request_lines()
        .iter()
        .filter(|l| l.starts_with(prefix))
        .count()
}
