//! Unit tests for `config`, kept in their own file so the module itself reads as the code it ships.

use super::*;
use std::cell::Cell;
use std::collections::HashMap;

const FIXTURE: &str = include_str!("../../../tests/it/fixtures/python-config.yaml");

struct FakeStore {
    entries: HashMap<String, String>,
    calls: Cell<usize>,
}

impl FakeStore {
    fn new(entries: &[(&str, &str)]) -> Self {
        FakeStore {
            entries: entries
                .iter()
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .collect(),
            calls: Cell::new(0),
        }
    }
}

impl PasswordStore for FakeStore {
    fn get_password(&self, profile: &str, url: &str) -> Result<Option<String>> {
        self.calls.set(self.calls.get() + 1);
        Ok(self.entries.get(&format!("{profile}@{url}")).cloned())
    }

    fn get_token_secret(&self, key: &str) -> Result<Option<String>> {
        Ok(self.entries.get(key).cloned())
    }
}

fn parse(text: &str) -> Config {
    Config::parse(text, Path::new("/tmp/cfg.yaml")).expect("parses")
}

#[test]
fn missing_file_is_an_empty_config() {
    let dir = tempfile::tempdir().unwrap();
    let cfg = Config::load(&dir.path().join("nope.yaml")).unwrap();
    assert!(cfg.profiles.is_empty());
    assert_eq!(cfg.default_profile, "default");
    assert!(cfg.update_check);
}

#[test]
fn python_fixture_loads_and_round_trips_byte_for_byte() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("config.yaml");
    std::fs::write(&path, FIXTURE).unwrap();
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o600)).unwrap();
    }
    let cfg = Config::load(&path).unwrap();
    assert!(cfg.warnings().is_empty(), "{:?}", cfg.warnings());
    assert_eq!(cfg.default_profile, "default");
    assert_eq!(
        cfg.profiles.keys().collect::<Vec<_>>(),
        ["default", "prod", "ci"]
    );
    let d = cfg.get_profile("default").unwrap();
    assert_eq!(d.url, "https://xnat.example.org");
    assert_eq!(d.password.as_deref(), Some("s3cret-pw"));
    let prod = cfg.get_profile("prod").unwrap();
    assert!(!prod.verify_ssl);
    assert_eq!(prod.timeout, 300);
    assert_eq!(prod.default_project.as_deref(), Some("MYPROJ"));
    assert!(prod.uses_keyring());
    assert_eq!(prod.workers, Some(8));
    assert_eq!(prod.ca_bundle.as_deref(), Some("/etc/ssl/certs/site.pem"));
    cfg.save().unwrap();
    assert_eq!(std::fs::read_to_string(&path).unwrap(), FIXTURE);
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(&path).unwrap().permissions().mode();
        assert_eq!(mode & 0o777, 0o600);
    }
}

#[test]
fn unknown_and_non_string_keys_give_one_warning() {
    let cfg = parse(
            "weird: 1\nprofiles:\n  default:\n    url: http://h\n    bogus_key: x\n  123:\n    url: http://n\n",
        );
    assert_eq!(cfg.warnings().len(), 1);
    assert_eq!(
            cfg.warnings()[0],
            "/tmp/cfg.yaml has unrecognized config keys, ignoring: top-level: weird; profile 'default': bogus_key"
        );
    assert_eq!(cfg.get_profile("123").unwrap().url, "http://n");
}

#[test]
fn bad_shapes_are_config_errors() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("c.yaml");
    for bad in [
        "- a\n- b\n",
        "profiles: [1]\n",
        "profiles:\n  p:\n    timeout: soon\n",
        "profiles:\n  p:\n    verify_ssl: maybe\n",
        "key: [unclosed\n",
    ] {
        std::fs::write(&path, bad).unwrap();
        let e = Config::load(&path).unwrap_err();
        assert!(matches!(e, Error::Config(_)), "{bad:?}: {e}");
        assert!(e.to_string().starts_with("failed to load config"), "{e}");
    }
    std::fs::write(&path, "").unwrap();
    assert!(Config::load(&path).unwrap().profiles.is_empty());
}

#[test]
fn version_rules() {
    assert_eq!(parse("profiles: {}\n").version, 1);
    let quoted = parse("version: \"2\"\n");
    assert_eq!(quoted.version, 2);
    assert!(matches!(quoted.save(), Err(Error::Config(m)) if m.contains("refusing to save")));
    let junk = parse("version: banana\n");
    assert_eq!(junk.version, 1);
    assert!(junk.warnings()[0].contains("not a valid version"));
}

#[test]
fn save_never_adds_a_password_but_keeps_an_inline_one() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("sub").join("config.yaml");
    let mut cfg = Config::load(&path).unwrap();
    let mut p = Profile::new("https://a.org");
    p.username = Some("alice".into());
    p.password = Some("added-secret".into());
    cfg.add_profile("a", p);
    cfg.save().unwrap();
    let text = std::fs::read_to_string(&path).unwrap();
    assert!(!text.contains("added-secret"), "{text}");
    assert!(text.contains("username: alice"));
    assert!(text.contains("default_project: null"));

    std::fs::write(
        &path,
        "profiles:\n  a:\n    url: https://a.org\n    password: kept-pw\n",
    )
    .unwrap();
    let mut cfg = Config::load(&path).unwrap();
    cfg.add_profile("b", Profile::new("https://b.org"));
    cfg.save().unwrap();
    let text = std::fs::read_to_string(&path).unwrap();
    assert!(text.contains("password: kept-pw"), "{text}");
}

#[test]
fn profile_management() {
    let mut cfg = Config::new("/tmp/x.yaml");
    cfg.add_profile("a", Profile::new("http://a"));
    cfg.add_profile("b", Profile::new("http://b"));
    cfg.add_profile("a", Profile::new("http://a2"));
    assert_eq!(cfg.profiles.keys().collect::<Vec<_>>(), ["a", "b"]);
    assert_eq!(cfg.get_profile("a").unwrap().url, "http://a2");
    assert!(cfg.set_default_profile("zzz").is_err());
    cfg.set_default_profile("b").unwrap();
    assert_eq!(cfg.default_profile, "b");
    assert!(cfg.remove_profile("a").is_ok());
    assert!(matches!(
        cfg.remove_profile("a"),
        Err(Error::ProfileNotFound(_))
    ));
    assert!(!cfg.has_profile("a"));
}

#[test]
fn display_json_never_contains_a_password() {
    let cfg = parse(FIXTURE);
    let shown = cfg.display_json().to_string();
    assert!(!shown.contains("s3cret-pw"), "{shown}");
    assert_eq!(
        cfg.display_json()["profiles"]["default"]["password"],
        "inline"
    );
    assert_eq!(
        cfg.display_json()["profiles"]["prod"]["password"],
        "keyring"
    );
}

#[test]
fn default_path_precedence() {
    let mut env = EnvSnapshot {
        home: Some("/home/u".into()),
        ..EnvSnapshot::default()
    };
    assert_eq!(
        Config::default_path_in(&env),
        PathBuf::from("/home/u/.config/xnatctl/config.yaml")
    );
    env.xdg_config_home = Some("/xdg".into());
    assert_eq!(
        Config::default_path_in(&env),
        PathBuf::from("/xdg/xnatctl/config.yaml")
    );
    assert_eq!(Config::config_dir_in(&env), PathBuf::from("/xdg/xnatctl"));
    env.xnatctl_config = Some("/etc/x.yaml".into());
    assert_eq!(Config::default_path_in(&env), PathBuf::from("/etc/x.yaml"));
}

fn two_profiles() -> Config {
    parse(
            "default_profile: a\nprofiles:\n  a:\n    url: https://a.org/\n    username: ua\n    password: pa\n    default_project: PA\n  b:\n    url: https://b.org\n    username: ub\n",
        )
}

#[test]
fn profile_selection_precedence() {
    let cfg = two_profiles();
    let store = FakeStore::new(&[]);
    let env = EnvSnapshot::default();
    assert_eq!(cfg.resolve_with(None, &env, &store).unwrap().name, "a");
    let env = EnvSnapshot {
        xnat_profile: Some("b".into()),
        ..EnvSnapshot::default()
    };
    assert_eq!(cfg.resolve_with(None, &env, &store).unwrap().name, "b");
    assert_eq!(cfg.resolve_with(Some("a"), &env, &store).unwrap().name, "a");
    let e = cfg.resolve_with(Some("zz"), &env, &store).unwrap_err();
    assert!(
        matches!(e, Error::ProfileNotFound(ref m) if m.contains("available: a, b")),
        "{e}"
    );
    let empty = Config::new("/tmp/none.yaml");
    assert!(matches!(
        empty.resolve_with(None, &EnvSnapshot::default(), &store),
        Err(Error::NoConfig { .. })
    ));
}

#[test]
fn xnat_url_without_config_makes_an_ad_hoc_profile() {
    let cfg = Config::new("/tmp/none.yaml");
    let env = EnvSnapshot {
        xnat_url: Some("https://ci.example.org/".into()),
        xnat_token: Some("TOK".into()),
        ..EnvSnapshot::default()
    };
    let p = cfg.resolve_with(None, &env, &FakeStore::new(&[])).unwrap();
    assert_eq!(p.url, "https://ci.example.org");
    assert_eq!(p.token.as_deref(), Some("TOK"));
    assert_eq!(p.timeout, DEFAULT_TIMEOUT);
    assert!(p.url_from_env);
}

#[test]
fn xnat_url_keeps_credentials_only_for_the_same_server() {
    let cfg = two_profiles();
    let store = FakeStore::new(&[]);
    let same = EnvSnapshot {
        xnat_url: Some("HTTPS://A.ORG".into()),
        ..EnvSnapshot::default()
    };
    let p = cfg.resolve_with(None, &same, &store).unwrap();
    assert_eq!(p.url, "HTTPS://A.ORG");
    assert_eq!(p.username.as_deref(), Some("ua"));
    assert_eq!(p.password.as_deref(), Some("pa"));
    assert_eq!(p.default_project.as_deref(), Some("PA"));

    let other = EnvSnapshot {
        xnat_url: Some("https://evil.example".into()),
        ..EnvSnapshot::default()
    };
    let p = cfg.resolve_with(None, &other, &store).unwrap();
    assert_eq!(p.url, "https://evil.example");
    assert_eq!(p.username, None);
    assert_eq!(p.password, None);
    assert_eq!(p.default_project, None);
}

#[test]
fn verify_ssl_and_timeout_apply_without_xnat_url() {
    let cfg = two_profiles();
    let store = FakeStore::new(&[]);
    let env = EnvSnapshot {
        xnat_verify_ssl: Some(" No ".into()),
        xnat_timeout: Some("30".into()),
        ..EnvSnapshot::default()
    };
    let p = cfg.resolve_with(None, &env, &store).unwrap();
    assert!(!p.verify_ssl);
    assert_eq!(p.timeout, 30);
    for (ssl, timeout) in [
        (Some("maybe"), None),
        (None, Some("abc")),
        (None, Some("0")),
    ] {
        let env = EnvSnapshot {
            xnat_verify_ssl: ssl.map(Into::into),
            xnat_timeout: timeout.map(Into::into),
            ..EnvSnapshot::default()
        };
        let e = cfg.resolve_with(None, &env, &store).unwrap_err();
        assert!(matches!(e, Error::Config(_)), "{e}");
    }
}

#[test]
fn env_credentials_win() {
    let cfg = two_profiles();
    let env = EnvSnapshot {
        xnat_user: Some("envuser".into()),
        xnat_pass: Some("envpass".into()),
        ..EnvSnapshot::default()
    };
    let p = cfg.resolve_with(None, &env, &FakeStore::new(&[])).unwrap();
    assert_eq!(p.username.as_deref(), Some("envuser"));
    assert_eq!(p.password.as_deref(), Some("envpass"));
}

#[test]
fn keyring_password_and_missing_entry() {
    let cfg = parse(
            "profiles:\n  default:\n    url: https://k.org\n    username: u\n    password_source: keyring\n",
        );
    let store = FakeStore::new(&[("default@https://k.org", "from-keyring")]);
    let p = cfg
        .resolve_with(None, &EnvSnapshot::default(), &store)
        .unwrap();
    assert_eq!(p.password.as_deref(), Some("from-keyring"));
    assert!(!p.keyring_missing);

    let empty = FakeStore::new(&[]);
    let p = cfg
        .resolve_with(None, &EnvSnapshot::default(), &empty)
        .unwrap();
    assert_eq!(p.password, None);
    assert!(p.keyring_missing);
    assert!(p
        .credentials_hint()
        .unwrap()
        .contains("config set-password default"));

    let env = EnvSnapshot {
        xnat_pass: Some("env".into()),
        ..EnvSnapshot::default()
    };
    let counting = FakeStore::new(&[]);
    let p = cfg.resolve_with(None, &env, &counting).unwrap();
    assert_eq!(p.password.as_deref(), Some("env"));
    assert_eq!(
        counting.calls.get(),
        0,
        "keyring must not be read when XNAT_PASS is set"
    );
}

#[test]
fn invalid_profile_url_is_reported() {
    let cfg = parse("profiles:\n  default:\n    url: ftp://x\n");
    let e = cfg
        .resolve_with(None, &EnvSnapshot::default(), &FakeStore::new(&[]))
        .unwrap_err();
    assert!(matches!(e, Error::InvalidUrl { .. }), "{e}");
}

#[test]
fn an_oversized_or_endless_config_is_refused_without_reading_it_all() {
    let dir = tempfile::tempdir().unwrap();
    let big = dir.path().join("config.yaml");
    std::fs::write(&big, format!("version: 1\n#{}\n", "x".repeat(2 << 20))).unwrap();
    let e = Config::load(&big).unwrap_err().to_string();
    assert!(e.contains("larger than 1024 KiB"), "{e}");
    #[cfg(unix)]
    {
        let e = Config::load(Path::new("/dev/zero"))
            .unwrap_err()
            .to_string();
        assert!(e.contains("larger than"), "{e}");
    }
}

#[test]
fn deep_nesting_is_refused_before_parsing() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("config.yaml");
    let n = 100_000;
    let flow = format!("version: 1\nprofiles: {}{}\n", "[".repeat(n), "]".repeat(n));
    std::fs::write(&path, flow).unwrap();
    let e = Config::load(&path).unwrap_err().to_string();
    assert!(e.contains("nested more than 32 levels"), "{e}");
    let mut block = String::from("version: 1\nprofiles:\n");
    for i in 0..40 {
        block.push_str(&format!("{}k{i}:\n", "  ".repeat(i + 1)));
    }
    std::fs::write(&path, block).unwrap();
    let e = Config::load(&path).unwrap_err().to_string();
    assert!(e.contains("nested more than 32 levels"), "{e}");
    // The fixture (three levels, quotes and brackets in values) still loads.
    std::fs::write(&path, FIXTURE).unwrap();
    Config::load(&path).unwrap();
}

/// A secret store that refuses every write, so `TokenStore::save` keeps only the record when
/// told the keyring holds the secret (the fake `PasswordStore` then answers for it).
struct RecordOnly;

impl crate::core::tokens::SecretStore for RecordOnly {
    fn get(&self, _key: &str) -> Result<Option<String>> {
        Ok(None)
    }
    fn set(&self, _key: &str, _secret: &str) -> Result<()> {
        Ok(())
    }
    fn delete(&self, _key: &str) -> Result<()> {
        Ok(())
    }
}

#[test]
fn a_stored_alias_token_is_the_credential_unless_the_environment_names_another() {
    use crate::core::tokens::{secret_key, StoredToken, TokenStore};
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("config.yaml");
    std::fs::write(
        &path,
        "profiles:\n  default:\n    url: https://t.org\n    username: u\n    password: pw\n",
    )
    .unwrap();
    let cfg = Config::load(&path).unwrap();
    let alias = "0f0e0d0c-0b0a-4908-a706-050403020100";
    let token = StoredToken::new(
        "default",
        "https://t.org",
        alias,
        "u",
        chrono::Utc::now(),
        None,
        None,
    );
    TokenStore::new(dir.path())
        .save(token, "ignored", &RecordOnly, false)
        .unwrap();
    let key = secret_key("default", "https://t.org");
    let keyring = FakeStore::new(&[(key.as_str(), "S3CRET")]);

    let p = cfg
        .resolve_with(None, &EnvSnapshot::default(), &keyring)
        .unwrap();
    let t = p.alias_token.as_ref().expect("the stored token");
    assert_eq!((t.alias.as_str(), t.secret.as_str()), (alias, "S3CRET"));
    assert_eq!(p.login_user(), Some(alias));
    assert!(
        !format!("{p:?}").contains("S3CRET"),
        "Debug hides the secret"
    );
    // The profile's own credentials are still there (auth login, token issue use them).
    assert_eq!(p.username.as_deref(), Some("u"));

    // XNAT_USER/XNAT_PASS name other credentials: the stored token steps aside.
    let env = EnvSnapshot {
        xnat_user: Some("v".into()),
        xnat_pass: Some("pw2".into()),
        ..EnvSnapshot::default()
    };
    assert!(cfg
        .resolve_with(None, &env, &keyring)
        .unwrap()
        .alias_token
        .is_none());

    // XNAT_ALIAS + XNAT_SECRET win over everything; one without the other is an error.
    let env = EnvSnapshot {
        xnat_alias: Some("A".into()),
        xnat_secret: Some("S".into()),
        xnat_user: Some("v".into()),
        ..EnvSnapshot::default()
    };
    let p = cfg.resolve_with(None, &env, &keyring).unwrap();
    let t = p.alias_token.unwrap();
    assert_eq!((t.alias.as_str(), t.stored.is_none()), ("A", true));
    let half = EnvSnapshot {
        xnat_secret: Some("S".into()),
        ..EnvSnapshot::default()
    };
    assert!(cfg.resolve_with(None, &half, &keyring).is_err());

    // A keyring without the secret leaves the profile on its password.
    let p = cfg
        .resolve_with(None, &EnvSnapshot::default(), &FakeStore::new(&[]))
        .unwrap();
    assert!(p.alias_token.is_none());
}
