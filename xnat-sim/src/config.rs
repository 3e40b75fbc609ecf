//! How a simulator is configured: the library's [`SimConfig`] and the parsers the binary's flags use.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::str::FromStr;
use std::time::Duration;

use crate::faults::FaultRule;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Fixture {
    /// Only the configured users.
    #[default]
    Empty,
    /// A few projects, subjects, MR/CT sessions and scans (see [`crate::fixture::demo`]).
    Demo,
}

impl FromStr for Fixture {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        match s {
            "empty" => Ok(Fixture::Empty),
            "demo" => Ok(Fixture::Demo),
            other => Err(format!(
                "unknown fixture `{other}` (expected empty or demo)"
            )),
        }
    }
}

/// `--generate projects=N,subjects=N,sessions=N,scans=N,files=N,file-size=BYTES`.
/// Counts below projects are per parent (subjects per project, sessions per subject, ...).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GenerateSpec {
    pub projects: u64,
    pub subjects: u64,
    pub sessions: u64,
    pub scans: u64,
    pub files: u64,
    pub file_size: u64,
}

impl Default for GenerateSpec {
    fn default() -> Self {
        GenerateSpec {
            projects: 1,
            subjects: 0,
            sessions: 0,
            scans: 0,
            files: 0,
            file_size: 1024,
        }
    }
}

impl FromStr for GenerateSpec {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        let mut g = GenerateSpec::default();
        for item in s.split(',').map(str::trim).filter(|i| !i.is_empty()) {
            let (k, v) = item
                .split_once('=')
                .ok_or_else(|| format!("`{item}` is not KEY=N"))?;
            let n: u64 = v
                .trim()
                .parse()
                .map_err(|_| format!("`{k}` needs a number, got `{v}`"))?;
            match k.trim() {
                "projects" => g.projects = n,
                "subjects" => g.subjects = n,
                "sessions" => g.sessions = n,
                "scans" => g.scans = n,
                "files" => g.files = n,
                "file-size" | "file_size" => g.file_size = n,
                other => return Err(format!("unknown generate key `{other}`")),
            }
        }
        Ok(g)
    }
}

/// `--user NAME:PASSWORD[:admin]`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UserSpec {
    pub username: String,
    pub password: String,
    pub admin: bool,
}

impl UserSpec {
    pub fn new(username: &str, password: &str, admin: bool) -> Self {
        UserSpec {
            username: username.to_string(),
            password: password.to_string(),
            admin,
        }
    }
}

impl FromStr for UserSpec {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        let (name, rest) = s
            .split_once(':')
            .ok_or_else(|| format!("`{s}` is not NAME:PASSWORD[:admin]"))?;
        let (password, admin) = match rest.rsplit_once(':') {
            Some((p, "admin")) => (p, true),
            _ => (rest, false),
        };
        if name.is_empty() {
            return Err("empty user name".into());
        }
        Ok(UserSpec::new(name, password, admin))
    }
}

#[derive(Debug, Clone)]
pub struct SimConfig {
    pub fixture: Fixture,
    pub generate: Option<GenerateSpec>,
    /// Empty → one site admin `admin:admin`.
    pub users: Vec<UserSpec>,
    /// `None` → a temporary directory removed on shutdown.
    pub data_dir: Option<PathBuf>,
    pub session_timeout: Duration,
    pub faults: Vec<FaultRule>,
    pub listen: SocketAddr,
    /// Serve under this context path (`/xnat`), as XNAT deployed as `xnat.war` is; `None` = root.
    pub context_path: Option<String>,
}

impl Default for SimConfig {
    fn default() -> Self {
        SimConfig {
            fixture: Fixture::Empty,
            generate: None,
            users: vec![UserSpec::new("admin", "admin", true)],
            data_dir: None,
            session_timeout: Duration::from_secs(900),
            faults: Vec::new(),
            listen: SocketAddr::from(([127, 0, 0, 1], 0)),
            context_path: None,
        }
    }
}

impl SimConfig {
    /// The demo fixture with the default admin plus a normal user `user:user` (member of the demo
    /// projects).
    pub fn demo() -> Self {
        SimConfig {
            fixture: Fixture::Demo,
            ..Default::default()
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_flags() {
        let g: GenerateSpec = "projects=3,subjects=2,file-size=10".parse().unwrap();
        assert_eq!((g.projects, g.subjects, g.file_size), (3, 2, 10));
        let u: UserSpec = "bob:pa:ss:admin".parse().unwrap();
        assert_eq!(u, UserSpec::new("bob", "pa:ss", true));
        let u: UserSpec = "bob:x".parse().unwrap();
        assert!(!u.admin);
        assert!("demo".parse::<Fixture>().is_ok());
    }
}
