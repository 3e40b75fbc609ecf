//! The simulator's whole in-memory data model.
//!
//! One `State` value lives behind a lock in [`crate::AppState`]; handlers take the lock, act, and
//! release it before writing the response. Files are the only data kept outside: their bytes sit
//! under `data_dir` (or are generated on demand from a seed, see [`FileData`]).

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::path::PathBuf;
use std::time::{Duration, Instant};

use serde::Serialize;

use crate::faults::FaultRule;

pub mod containers;
mod files;
pub mod pipelines;
mod site;
pub use files::{generated_bytes, md5_hex, FileData, FileEntry, PrearchiveEntry, PrearchiveScan};
pub use site::{AliasToken, ConfigEntry, Counters, RequestRecord, SavedSearch, Session};

/// A site user. `id` mirrors XNAT's numeric `xdat_user_id`.
#[derive(Debug, Clone, Serialize)]
pub struct User {
    pub id: u64,
    pub username: String,
    pub password: String,
    pub admin: bool,
    pub enabled: bool,
    pub verified: bool,
    pub first_name: String,
    pub last_name: String,
    pub email: String,
    /// Site roles (`Administrator`, `non_expiring`, ...); `Administrator` mirrors `admin`.
    pub roles: Vec<String>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Accessibility {
    Private,
    Protected,
    Public,
}

impl Accessibility {
    pub fn as_str(self) -> &'static str {
        match self {
            Accessibility::Private => "private",
            Accessibility::Protected => "protected",
            Accessibility::Public => "public",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        match s.to_ascii_lowercase().as_str() {
            "private" => Some(Accessibility::Private),
            "protected" => Some(Accessibility::Protected),
            "public" => Some(Accessibility::Public),
            _ => None,
        }
    }
}

/// A project role, as used in group names `{P}_owner` etc.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Role {
    Owner,
    Member,
    Collaborator,
}

impl Role {
    pub fn as_str(self) -> &'static str {
        match self {
            Role::Owner => "owner",
            Role::Member => "member",
            Role::Collaborator => "collaborator",
        }
    }

    /// Display name as in XNAT's project user listing ("Owners", ...).
    pub fn display(self) -> &'static str {
        match self {
            Role::Owner => "Owners",
            Role::Member => "Members",
            Role::Collaborator => "Collaborators",
        }
    }

    /// Accepts `owner`, `owners`, `P_owner` (any case).
    pub fn parse(s: &str) -> Option<Self> {
        let s = s.to_ascii_lowercase();
        let tail = s.rsplit('_').next().unwrap_or(&s);
        match tail.trim_end_matches('s') {
            "owner" => Some(Role::Owner),
            "member" => Some(Role::Member),
            "collaborator" => Some(Role::Collaborator),
            _ => None,
        }
    }
}

/// A project access request (`/data/projects/{P}/pars`).
#[derive(Debug, Clone, Serialize)]
pub struct AccessRequest {
    pub par_id: u64,
    /// Who approved (empty while pending).
    pub approver: String,
    pub email: String,
    pub level: String,
    pub create_date: String,
    pub approved: Option<bool>,
}

#[derive(Debug, Clone, Serialize)]
pub struct Project {
    pub id: String,
    pub secondary_id: String,
    pub name: String,
    pub description: String,
    pub keywords: String,
    pub aliases: Vec<String>,
    pub pi_firstname: String,
    pub pi_lastname: String,
    pub note: String,
    pub accessibility: Accessibility,
    /// 0 manual, 4 auto-archive, 5 auto-archive with overwrite.
    pub prearchive_code: u8,
    pub owners: BTreeSet<String>,
    pub members: BTreeSet<String>,
    pub collaborators: BTreeSet<String>,
    pub access_requests: Vec<AccessRequest>,
    pub insert_date: String,
    pub insert_user: String,
    pub fields: BTreeMap<String, String>,
    /// Custom variable sets (`xnat:fieldDefinitionGroup`) attached to the project's study
    /// protocols, one protocol per data type.
    pub variable_sets: Vec<VariableSet>,
    pub resources: Vec<Resource>,
}

/// A project's custom variable set (XNAT's `xnat:fieldDefinitionGroup`, project-specific): typed
/// field definitions for one data type. They describe what the web form offers and checks; the
/// REST path stores any text regardless (see `routes::common::stored_field`).
#[derive(Debug, Clone, Serialize)]
pub struct VariableSet {
    /// The group's ID (its name in the UI).
    pub id: String,
    /// `xnat:subjectData`, `xnat:mrSessionData`, ...
    pub data_type: String,
    pub fields: Vec<FieldDefinition>,
}

/// One typed field of a variable set (`xnat:fieldDefinitionGroup_field`).
#[derive(Debug, Clone, Serialize)]
pub struct FieldDefinition {
    pub name: String,
    /// `string`, `integer`, `float`, `boolean` or `date` (MM/DD/YYYY).
    pub datatype: String,
    pub required: bool,
    /// Allowed values (empty: any).
    pub possible_values: Vec<String>,
}

impl FieldDefinition {
    pub fn new(name: &str, datatype: &str) -> Self {
        FieldDefinition {
            name: name.to_string(),
            datatype: datatype.to_string(),
            required: false,
            possible_values: Vec::new(),
        }
    }
}

impl Project {
    pub fn new(id: &str, creator: &str) -> Self {
        Project {
            id: id.to_string(),
            secondary_id: id.to_string(),
            name: id.to_string(),
            description: String::new(),
            keywords: String::new(),
            aliases: Vec::new(),
            pi_firstname: String::new(),
            pi_lastname: String::new(),
            note: String::new(),
            accessibility: Accessibility::Private,
            prearchive_code: 0,
            owners: BTreeSet::from([creator.to_string()]),
            members: BTreeSet::new(),
            collaborators: BTreeSet::new(),
            access_requests: Vec::new(),
            insert_date: now_timestamp(),
            insert_user: creator.to_string(),
            fields: BTreeMap::new(),
            variable_sets: Vec::new(),
            resources: Vec::new(),
        }
    }

    pub fn role_of(&self, user: &str) -> Option<Role> {
        if self.owners.contains(user) {
            Some(Role::Owner)
        } else if self.members.contains(user) {
            Some(Role::Member)
        } else if self.collaborators.contains(user) {
            Some(Role::Collaborator)
        } else {
            None
        }
    }

    pub fn role_set_mut(&mut self, role: Role) -> &mut BTreeSet<String> {
        match role {
            Role::Owner => &mut self.owners,
            Role::Member => &mut self.members,
            Role::Collaborator => &mut self.collaborators,
        }
    }
}

#[derive(Debug, Clone, Serialize)]
pub struct Subject {
    /// Accession ID, `XNAT_S00001`.
    pub id: String,
    pub project: String,
    pub label: String,
    pub insert_date: String,
    pub insert_user: String,
    /// Demographics and other shortcut values (`gender`, `dob`, `group`, `src`, ...).
    pub attrs: BTreeMap<String, String>,
    /// Custom fields (`fields/field[name=K]`). Keys keep the case they were written with.
    pub fields: BTreeMap<String, String>,
    /// Projects this subject is shared into: project ID → label there.
    pub shares: BTreeMap<String, String>,
    pub resources: Vec<Resource>,
}

/// One entry of an experiment's `/history`.
#[derive(Debug, Clone, Serialize)]
pub struct HistoryEvent {
    pub event_id: u64,
    pub event_action: String,
    /// Epoch milliseconds.
    pub event_date: i64,
    pub event_user: String,
    pub event_type: String,
    pub event_reason: String,
    pub event_category: String,
    pub event_status: String,
}

#[derive(Debug, Clone, Serialize)]
pub struct Experiment {
    /// Accession ID, `XNAT_E00001`.
    pub id: String,
    pub project: String,
    pub subject_id: String,
    pub label: String,
    pub xsi_type: String,
    /// `YYYY-MM-DD`.
    pub date: Option<String>,
    /// `HH:MM:SS`.
    pub time: Option<String>,
    pub modality: Option<String>,
    pub insert_date: String,
    /// Moves when the session or its scans' resources change (see `routes::files::resolve`).
    pub last_modified: String,
    pub insert_user: String,
    /// Other shortcut values (`UID`, `session_type`, `fieldStrength`, `scanner`, `note`, ...).
    pub attrs: BTreeMap<String, String>,
    pub fields: BTreeMap<String, String>,
    pub shares: BTreeMap<String, String>,
    pub history: Vec<HistoryEvent>,
    pub scans: Vec<Scan>,
    pub resources: Vec<Resource>,
}

impl Experiment {
    pub fn scan(&self, id: &str) -> Option<&Scan> {
        self.scans.iter().find(|s| s.id == id)
    }

    pub fn scan_mut(&mut self, id: &str) -> Option<&mut Scan> {
        self.scans.iter_mut().find(|s| s.id == id)
    }
}

#[derive(Debug, Clone, Serialize)]
pub struct Scan {
    pub id: String,
    /// Numeric `xnat_imagescandata_id`, unique site-wide.
    pub pk: u64,
    pub xsi_type: String,
    pub scan_type: String,
    pub series_description: String,
    pub quality: String,
    pub frames: Option<u64>,
    pub note: String,
    /// Other shortcut values (`UID`, `modality`, ...).
    pub attrs: BTreeMap<String, String>,
    pub resources: Vec<Resource>,
}

#[derive(Debug, Clone, Serialize)]
pub struct Resource {
    /// Numeric `xnat_abstractresource_id`, unique site-wide.
    pub id: u64,
    pub label: String,
    pub format: String,
    pub content: String,
    pub tags: String,
    /// Relative path inside the resource → file.
    pub files: BTreeMap<String, FileEntry>,
}

impl Resource {
    pub fn file_count(&self) -> u64 {
        self.files.len() as u64
    }

    pub fn file_size(&self) -> u64 {
        self.files.values().map(|f| f.size).sum()
    }
}

#[derive(Debug)]
pub struct State {
    /// Prefix of accession IDs (`XNAT` → `XNAT_S00001`).
    pub site_id: String,
    /// Root for stored files (archive, prearchive, uploads).
    pub data_dir: PathBuf,
    pub users: BTreeMap<String, User>,
    pub projects: BTreeMap<String, Project>,
    /// Keyed by accession ID.
    pub subjects: BTreeMap<String, Subject>,
    /// Keyed by accession ID.
    pub experiments: BTreeMap<String, Experiment>,
    pub prearchive: Vec<PrearchiveEntry>,
    pub saved_searches: BTreeMap<String, SavedSearch>,
    /// `/xapi/siteConfig` preferences.
    pub site_config: serde_json::Map<String, serde_json::Value>,
    /// Config service: `"site/{tool}/{path}"` or `"projects/{P}/{tool}/{path}"` → entry.
    pub configs: BTreeMap<String, ConfigEntry>,
    /// DICOM SCP receivers (`/xapi/dicomscp`), by id; XNAT starts with `XNAT:8104`.
    pub scp_receivers: BTreeMap<u64, crate::routes::dicomscp::ScpReceiver>,
    /// The DICOM listeners serving those receivers, by receiver port.
    pub dicom_listeners: crate::dicom_receiver::Listeners,
    /// The Container Service's Docker daemon connection (`/xapi/docker/server`).
    pub docker_server: serde_json::Value,
    /// The images the Docker daemon holds (`/xapi/docker/images`), as `DockerImage` JSON; the
    /// demo fixture has a few, `/xapi/docker/pull` adds one.
    pub docker_images: Vec<serde_json::Value>,
    /// Event Service subscriptions (`/xapi/events/subscription`), by id, as XNAT serialises them.
    pub event_subscriptions: BTreeMap<u64, serde_json::Value>,
    /// The legacy pipeline engine's workflows and the plan of the next launches.
    pub pipelines: pipelines::PipelineEngine,
    /// The Container Service plugin's commands, wrapper settings and containers.
    pub cs: containers::ContainerService,
    /// Project IDs that were deleted (XNAT refuses to reuse them: 403).
    pub deleted_project_ids: BTreeSet<String>,
    pub requests: Vec<RequestRecord>,
    pub faults: Vec<FaultRule>,
    /// JSESSIONID → session.
    pub sessions: HashMap<String, Session>,
    pub session_timeout: Duration,
    /// Alias tokens, issued by `/data/services/tokens/issue`.
    pub alias_tokens: Vec<AliasToken>,
    /// Lifetime of a newly issued alias token (XNAT's `aliasTokenTimeout`, default 2 days).
    pub alias_token_timeout: Duration,
    /// Added to the wall clock wherever alias-token expiry is decided, so tests can move time.
    pub clock_offset_ms: i64,
    /// When true, a caller without credentials gets a `guest` session (a site with open access).
    pub guest_sessions: bool,
    pub counters: Counters,
    pub xsync: crate::routes::xsync::XsyncState,
}

impl State {
    pub fn new(data_dir: PathBuf, session_timeout: Duration) -> Self {
        State {
            site_id: "XNAT".to_string(),
            data_dir,
            users: BTreeMap::new(),
            projects: BTreeMap::new(),
            subjects: BTreeMap::new(),
            experiments: BTreeMap::new(),
            prearchive: Vec::new(),
            saved_searches: BTreeMap::new(),
            site_config: crate::routes::site::default_site_config(),
            configs: BTreeMap::new(),
            scp_receivers: crate::routes::dicomscp::default_receivers(),
            dicom_listeners: Default::default(),
            docker_server: crate::routes::docker::default_server(),
            docker_images: Vec::new(),
            event_subscriptions: BTreeMap::new(),
            pipelines: pipelines::PipelineEngine::default(),
            cs: containers::ContainerService::default(),
            deleted_project_ids: BTreeSet::new(),
            requests: Vec::new(),
            faults: Vec::new(),
            sessions: HashMap::new(),
            session_timeout,
            alias_tokens: Vec::new(),
            alias_token_timeout: Duration::from_secs(2 * 24 * 3600),
            clock_offset_ms: 0,
            guest_sessions: false,
            counters: Counters::default(),
            xsync: Default::default(),
        }
    }

    pub fn add_user(&mut self, username: &str, password: &str, admin: bool) -> &mut User {
        self.counters.user += 1;
        let id = self.counters.user;
        self.users
            .entry(username.to_string())
            .or_insert_with(|| User {
                id,
                username: username.to_string(),
                password: password.to_string(),
                admin,
                enabled: true,
                verified: true,
                first_name: username.to_string(),
                last_name: "User".to_string(),
                email: format!("{username}@example.org"),
                roles: if admin {
                    vec!["Administrator".into(), "non_expiring".into()]
                } else {
                    Vec::new()
                },
            })
    }

    pub fn next_subject_id(&mut self) -> String {
        loop {
            self.counters.subject += 1;
            let id = format!("{}_S{:05}", self.site_id, self.counters.subject);
            if !self.subjects.contains_key(&id) {
                return id;
            }
        }
    }

    pub fn next_experiment_id(&mut self) -> String {
        loop {
            self.counters.experiment += 1;
            let id = format!("{}_E{:05}", self.site_id, self.counters.experiment);
            if !self.experiments.contains_key(&id) {
                return id;
            }
        }
    }

    pub fn next_resource_id(&mut self) -> u64 {
        self.counters.resource += 1;
        self.counters.resource
    }

    pub fn next_scan_pk(&mut self) -> u64 {
        self.counters.scan_pk += 1;
        self.counters.scan_pk
    }

    pub fn next_event_id(&mut self) -> u64 {
        self.counters.event += 1;
        self.counters.event
    }

    /// Project by ID or alias (case-sensitive ID first, then aliases).
    pub fn project_by_id_or_alias(&self, key: &str) -> Option<&Project> {
        self.projects.get(key).or_else(|| {
            self.projects
                .values()
                .find(|p| p.aliases.iter().any(|a| a == key))
        })
    }

    /// Subject whose label in `project` (own or share label) is `label`.
    pub fn subject_by_label(&self, project: &str, label: &str) -> Option<&Subject> {
        self.subjects.values().find(|s| {
            (s.project == project && s.label == label)
                || s.shares.get(project).is_some_and(|l| l == label)
        })
    }

    /// Experiment whose label in `project` (own or share label) is `label`.
    pub fn experiment_by_label(&self, project: &str, label: &str) -> Option<&Experiment> {
        self.experiments.values().find(|e| {
            (e.project == project && e.label == label)
                || e.shares.get(project).is_some_and(|l| l == label)
        })
    }

    /// Whether `label` is taken in `project` by any subject other than `except`.
    pub fn subject_label_taken(&self, project: &str, label: &str, except: &str) -> bool {
        self.subject_by_label(project, label)
            .is_some_and(|s| s.id != except)
    }

    pub fn experiment_label_taken(&self, project: &str, label: &str, except: &str) -> bool {
        self.experiment_by_label(project, label)
            .is_some_and(|e| e.id != except)
    }

    /// The simulator's clock for alias-token expiry: wall clock plus the test offset.
    pub fn clock_ms(&self) -> i64 {
        now_millis() + self.clock_offset_ms
    }

    /// Issue a new alias token for `user`.
    pub fn issue_alias_token(&mut self, user: &str) -> AliasToken {
        use rand::Rng;
        self.counters.alias_token += 1;
        let mut rng = rand::thread_rng();
        let b: [u8; 16] = rng.gen();
        let h = hex::encode(b);
        // A version-4 UUID shape: XNAT recognises aliases by that format.
        let alias = format!(
            "{}-{}-4{}-a{}-{}",
            &h[0..8],
            &h[8..12],
            &h[13..16],
            &h[17..20],
            &h[20..32]
        );
        const ALNUM: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789";
        let secret: String = (0..64)
            .map(|_| ALNUM[rng.gen_range(0..ALNUM.len())] as char)
            .collect();
        let now = self.clock_ms();
        let token = AliasToken {
            id: self.counters.alias_token,
            alias,
            secret,
            user: user.to_string(),
            created_ms: now,
            expires_ms: now + self.alias_token_timeout.as_millis() as i64,
            enabled: true,
        };
        self.alias_tokens.push(token.clone());
        token
    }

    /// The user an alias token authenticates as, when `alias`/`secret` match an enabled token
    /// that has not expired on the simulator's clock.
    pub fn alias_token_user(&self, alias: &str, secret: &str) -> Option<String> {
        let now = self.clock_ms();
        self.alias_tokens
            .iter()
            .find(|t| t.alias == alias && t.enabled && t.secret == secret && now < t.expires_ms)
            .map(|t| t.user.clone())
    }

    /// Drop sessions idle for longer than the timeout.
    pub fn prune_sessions(&mut self, now: Instant) {
        let timeout = self.session_timeout;
        self.sessions
            .retain(|_, s| now.duration_since(s.last_used) < timeout);
    }
}

/// `2023-09-27 17:31:21.352` (Java `Timestamp.toString` shape), local time.
pub fn now_timestamp() -> String {
    chrono::Local::now()
        .format("%Y-%m-%d %H:%M:%S%.3f")
        .to_string()
}

/// Epoch milliseconds now.
pub fn now_millis() -> i64 {
    chrono::Utc::now().timestamp_millis()
}
