//! xnat-sim: a stateful XNAT REST simulator for tests, benchmarks and offline demos.
//!
//! Start it in-process with [`start`] (inside a tokio runtime) or [`SimHandle::spawn`] (own thread),
//! point a client at [`SimHandle::base_url`], and inspect or change what it holds with
//! [`SimHandle::with_state`] / [`SimHandle::with_state_mut`]. The binary wraps the same library.

pub mod access;
pub mod archive;
pub mod config;
pub mod dicom;
pub mod dicom_receiver;
pub mod envelope;
pub mod faults;
pub mod fixture;
pub mod fixture_files;
pub mod middleware;
pub mod params;
pub mod routes;
pub mod state;
pub mod table;
#[cfg(test)]
mod testutil;
pub mod xml;

use std::net::SocketAddr;
use std::sync::{Arc, RwLock, RwLockReadGuard, RwLockWriteGuard};

pub use config::{Fixture, GenerateSpec, SimConfig, UserSpec};
pub use faults::{FaultAction, FaultRule};
pub use state::{RequestRecord, State};

/// Errors starting the simulator.
#[derive(Debug, thiserror::Error)]
pub enum SimError {
    #[error("cannot bind {addr}: {source}")]
    Bind {
        addr: SocketAddr,
        source: std::io::Error,
    },
    #[error("data directory: {0}")]
    DataDir(std::io::Error),
    #[error("runtime: {0}")]
    Runtime(std::io::Error),
    #[error(transparent)]
    FaultSpec(#[from] faults::FaultSpecError),
    #[error("invalid argument: {0}")]
    Invalid(String),
}

/// Shared handle to the state, cloned into every handler.
#[derive(Clone)]
pub struct AppState {
    inner: Arc<RwLock<State>>,
}

impl AppState {
    pub fn new(state: State) -> Self {
        AppState {
            inner: Arc::new(RwLock::new(state)),
        }
    }

    pub fn read(&self) -> RwLockReadGuard<'_, State> {
        self.inner.read().unwrap_or_else(|e| e.into_inner())
    }

    pub fn write(&self) -> RwLockWriteGuard<'_, State> {
        self.inner.write().unwrap_or_else(|e| e.into_inner())
    }
}

enum Runner {
    /// Server task on the caller's runtime.
    Task(tokio::task::JoinHandle<()>),
    /// Server on its own thread and runtime.
    Thread(std::thread::JoinHandle<()>),
}

/// A running simulator. Dropping the handle also stops the server (the shutdown signal fires
/// when its sender is dropped) and removes the temporary data directory; [`SimHandle::shutdown`]
/// additionally waits for a spawned server thread to finish.
pub struct SimHandle {
    app: AppState,
    addr: SocketAddr,
    context_path: String,
    shutdown: Option<tokio::sync::oneshot::Sender<()>>,
    runner: Option<Runner>,
    _tmp: Option<tempfile::TempDir>,
}

/// Build the state a config describes (users, fixture, generated data, faults).
pub fn build_state(config: &SimConfig) -> Result<(State, Option<tempfile::TempDir>), SimError> {
    let (data_dir, tmp) = match &config.data_dir {
        Some(d) => {
            std::fs::create_dir_all(d).map_err(SimError::DataDir)?;
            (d.clone(), None)
        }
        None => {
            let t = tempfile::Builder::new()
                .prefix("xnat-sim-")
                .tempdir()
                .map_err(SimError::DataDir)?;
            (t.path().to_path_buf(), Some(t))
        }
    };
    let mut state = State::new(data_dir, config.session_timeout);
    let users: Vec<UserSpec> = if config.users.is_empty() {
        vec![UserSpec::new("admin", "admin", true)]
    } else {
        config.users.clone()
    };
    for u in &users {
        state.add_user(&u.username, &u.password, u.admin);
    }
    match config.fixture {
        Fixture::Empty => {}
        Fixture::Demo => fixture::demo(&mut state),
    }
    if let Some(g) = &config.generate {
        fixture::generate(&mut state, g);
    }
    state.faults = config.faults.clone();
    Ok((state, tmp))
}

async fn bind(config: &SimConfig) -> Result<(tokio::net::TcpListener, SocketAddr), SimError> {
    let listener = tokio::net::TcpListener::bind(config.listen)
        .await
        .map_err(|source| SimError::Bind {
            addr: config.listen,
            source,
        })?;
    let addr = listener.local_addr().map_err(|source| SimError::Bind {
        addr: config.listen,
        source,
    })?;
    Ok((listener, addr))
}

/// `/xnat` from `xnat`, `/xnat/` or `/xnat`; empty for none or `/`.
fn context_path(config: &SimConfig) -> String {
    match config.context_path.as_deref().map(|c| c.trim_matches('/')) {
        None | Some("") => String::new(),
        Some(c) => format!("/{c}"),
    }
}

async fn serve(
    listener: tokio::net::TcpListener,
    app: AppState,
    context_path: String,
    stop: tokio::sync::oneshot::Receiver<()>,
) {
    let svc = if context_path.is_empty() {
        routes::service(app)
    } else {
        // Like Tomcat with a non-ROOT webapp: everything lives below the context path and the
        // server root answers 404.
        axum::Router::new().nest_service(&context_path, routes::service(app))
    };
    let _ = axum::serve(listener, svc)
        .with_graceful_shutdown(async move {
            let _ = stop.await;
        })
        .await;
}

/// Start the simulator on the current tokio runtime.
pub async fn start(config: SimConfig) -> Result<SimHandle, SimError> {
    let (state, tmp) = build_state(&config)?;
    let app = AppState::new(state);
    let (listener, addr) = bind(&config).await?;
    let (tx, rx) = tokio::sync::oneshot::channel();
    let task = tokio::spawn(serve(listener, app.clone(), context_path(&config), rx));
    Ok(SimHandle {
        app,
        addr,
        context_path: context_path(&config),
        shutdown: Some(tx),
        runner: Some(Runner::Task(task)),
        _tmp: tmp,
    })
}

impl SimHandle {
    /// Start the simulator on its own thread with its own runtime (for plain `#[test]`s).
    pub fn spawn(config: SimConfig) -> Result<SimHandle, SimError> {
        let (state, tmp) = build_state(&config)?;
        let app = AppState::new(state);
        let rt = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .enable_all()
            .build()
            .map_err(SimError::Runtime)?;
        let (listener, addr) = rt.block_on(bind(&config))?;
        let (tx, rx) = tokio::sync::oneshot::channel();
        let served = app.clone();
        let cp = context_path(&config);
        let thread = std::thread::Builder::new()
            .name("xnat-sim".into())
            .spawn(move || rt.block_on(serve(listener, served, cp, rx)))
            .map_err(SimError::Runtime)?;
        Ok(SimHandle {
            app,
            addr,
            context_path: context_path(&config),
            shutdown: Some(tx),
            runner: Some(Runner::Thread(thread)),
            _tmp: tmp,
        })
    }

    /// Start the DICOM listener for XNAT's default receiver port (8104) on a free local port
    /// (C-ECHO, C-STORE into the prearchive), with a receiver on that port answering to
    /// `ae_title` (see [`dicom_receiver::spawn`]); returns its address.
    pub fn start_dicom_receiver(&self, ae_title: &str) -> std::io::Result<SocketAddr> {
        dicom_receiver::spawn(
            self.app.clone(),
            SocketAddr::from(([127, 0, 0, 1], 0)),
            ae_title,
        )
    }

    /// [`SimHandle::start_dicom_receiver`] with faults (aborted associations, slow answers).
    pub fn start_dicom_receiver_with(
        &self,
        ae_title: &str,
        faults: dicom_receiver::ReceiverFaults,
    ) -> std::io::Result<SocketAddr> {
        dicom_receiver::spawn_with(
            self.app.clone(),
            SocketAddr::from(([127, 0, 0, 1], 0)),
            ae_title,
            faults,
        )
    }

    /// Give every other port with an enabled receiver a listener of its own on a free local
    /// port, from now on (see [`dicom_receiver::enable_receiver_ports`]).
    pub fn listen_on_receiver_ports(&self) {
        dicom_receiver::enable_receiver_ports(
            &self.app,
            std::net::IpAddr::from([127, 0, 0, 1]),
            dicom_receiver::PortBinding::Ephemeral,
        );
    }

    /// Where the DICOM listener for receiver port `port` is bound, if one runs.
    pub fn dicom_listener(&self, port: u32) -> Option<SocketAddr> {
        dicom_receiver::listener_for(&self.app, port)
    }

    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// `http://127.0.0.1:PORT` plus the context path, if any; no trailing slash.
    pub fn base_url(&self) -> String {
        format!("http://{}{}", self.addr, self.context_path)
    }

    pub fn app(&self) -> &AppState {
        &self.app
    }

    /// Every request handled so far (faulted attempts included), oldest first.
    pub fn requests(&self) -> Vec<RequestRecord> {
        self.app.read().requests.clone()
    }

    pub fn clear_requests(&self) {
        self.app.write().requests.clear();
    }

    pub fn add_fault(&self, rule: FaultRule) {
        self.app.write().faults.push(rule);
    }

    pub fn clear_faults(&self) {
        self.app.write().faults.clear();
    }

    /// End every session now; later calls with those cookies are anonymous.
    pub fn expire_sessions(&self) {
        self.app.write().sessions.clear();
    }

    pub fn with_state<R>(&self, f: impl FnOnce(&State) -> R) -> R {
        f(&self.app.read())
    }

    pub fn with_state_mut<R>(&self, f: impl FnOnce(&mut State) -> R) -> R {
        f(&mut self.app.write())
    }

    /// Stop accepting connections, finish in-flight requests, and wait for the server to end.
    pub fn shutdown(mut self) {
        if let Some(tx) = self.shutdown.take() {
            let _ = tx.send(());
        }
        match self.runner.take() {
            Some(Runner::Thread(t)) => {
                let _ = t.join();
            }
            // The graceful-shutdown signal went out; the task ends once in-flight requests finish.
            Some(Runner::Task(_)) | None => {}
        }
    }

    /// Wait until the server ends (after a shutdown signal sent elsewhere).
    pub async fn wait(mut self) {
        if let Some(Runner::Task(t)) = self.runner.take() {
            let _ = t.await;
        }
    }

    /// A sender that stops the server when fired (used by the binary's signal handler).
    pub fn take_shutdown(&mut self) -> Option<tokio::sync::oneshot::Sender<()>> {
        self.shutdown.take()
    }
}
