//! `xnat-sim` binary: parse flags, start the simulator, print `listening on http://HOST:PORT`, and
//! run until SIGINT/SIGTERM.

use std::io::Write;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Duration;

use clap::Parser;
use xnat_sim::{faults, Fixture, GenerateSpec, SimConfig, UserSpec};

#[derive(Debug, Parser)]
#[command(name = "xnat-sim", version, about = "A stateful XNAT REST simulator")]
struct Args {
    /// Address to listen on (port 0 picks a free port).
    #[arg(long, default_value = "127.0.0.1:8080")]
    listen: SocketAddr,
    /// Canned data to start with: empty or demo.
    #[arg(long, default_value = "empty")]
    fixture: Fixture,
    /// Bulk data: projects=N,subjects=N,sessions=N,scans=N,files=N,file-size=BYTES.
    #[arg(long)]
    generate: Option<GenerateSpec>,
    /// A user NAME:PASSWORD[:admin] (repeatable; default admin:admin:admin).
    #[arg(long = "user")]
    users: Vec<UserSpec>,
    /// Where uploaded files are stored (default: a temporary directory).
    #[arg(long)]
    data_dir: Option<PathBuf>,
    /// Session inactivity timeout, seconds.
    #[arg(long, default_value_t = 900)]
    session_timeout: u64,
    /// Also run the DICOM receivers (C-ECHO, C-STORE into the prearchive): this address serves
    /// the receivers on XNAT's default port 8104 (the default receiver XNAT:8104).
    #[arg(long, value_name = "ADDR")]
    dicom_listen: Option<SocketAddr>,
    /// The AE title of the default receiver.
    #[arg(long, value_name = "AET", default_value = xnat_sim::dicom_receiver::DEFAULT_AE_TITLE)]
    dicom_aet: String,
    /// Also listen for receivers on other ports, on the --dicom-listen host: on each receiver's
    /// own port (exact) or on a free port (ephemeral; GET /__sim/dicom/listeners tells where).
    #[arg(long, value_name = "MODE", requires = "dicom_listen")]
    dicom_receiver_ports: Option<xnat_sim::dicom_receiver::PortBinding>,
    /// Serve below this context path (e.g. /xnat), as a non-ROOT Tomcat deployment does.
    #[arg(long, value_name = "PATH")]
    context_path: Option<String>,
    /// Fault rules (see README: method=GET,path=/data/*,status=503,count=2;...). Repeatable.
    #[arg(long)]
    faults: Vec<String>,
}

fn main() -> ExitCode {
    let args = Args::parse();
    let mut fault_rules = Vec::new();
    for spec in &args.faults {
        match faults::parse_spec(spec) {
            Ok(mut r) => fault_rules.append(&mut r),
            Err(e) => {
                eprintln!("error: {e}");
                return ExitCode::from(2);
            }
        }
    }
    let (dicom_listen, dicom_aet) = (args.dicom_listen, args.dicom_aet.clone());
    let receiver_ports = args.dicom_receiver_ports;
    let config = SimConfig {
        fixture: args.fixture,
        generate: args.generate,
        users: if args.users.is_empty() {
            vec![UserSpec::new("admin", "admin", true)]
        } else {
            args.users
        },
        data_dir: args.data_dir,
        session_timeout: Duration::from_secs(args.session_timeout),
        faults: fault_rules,
        listen: args.listen,
        context_path: args.context_path,
    };
    let rt = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("error: {e}");
            return ExitCode::FAILURE;
        }
    };
    rt.block_on(async move {
        let mut handle = match xnat_sim::start(config).await {
            Ok(h) => h,
            Err(e) => {
                eprintln!("error: {e}");
                return ExitCode::FAILURE;
            }
        };
        let mut out = std::io::stdout().lock();
        let _ = writeln!(out, "listening on {}", handle.base_url());
        if let Some(addr) = dicom_listen {
            match xnat_sim::dicom_receiver::spawn(handle.app().clone(), addr, &dicom_aet) {
                Ok(bound) => {
                    let _ = writeln!(out, "DICOM receiver {dicom_aet} on {bound}");
                    if let Some(binding) = receiver_ports {
                        let app = handle.app();
                        xnat_sim::dicom_receiver::enable_receiver_ports(app, addr.ip(), binding);
                        for (port, at) in app.read().dicom_listeners.addresses() {
                            if port != xnat_sim::dicom_receiver::DEFAULT_PORT {
                                let _ = writeln!(out, "DICOM receiver port {port} on {at}");
                            }
                        }
                    }
                }
                Err(e) => {
                    eprintln!("error: DICOM receiver on {addr}: {e}");
                    return ExitCode::FAILURE;
                }
            }
        }
        let _ = out.flush();
        drop(out);
        wait_for_signal().await;
        if let Some(tx) = handle.take_shutdown() {
            let _ = tx.send(());
        }
        let _ = tokio::time::timeout(Duration::from_secs(5), handle.wait()).await;
        ExitCode::SUCCESS
    })
}

async fn wait_for_signal() {
    #[cfg(unix)]
    {
        use tokio::signal::unix::{signal, SignalKind};
        match signal(SignalKind::terminate()) {
            Ok(mut term) => {
                tokio::select! {
                    _ = tokio::signal::ctrl_c() => {}
                    _ = term.recv() => {}
                }
            }
            Err(_) => {
                let _ = tokio::signal::ctrl_c().await;
            }
        }
    }
    #[cfg(not(unix))]
    {
        let _ = tokio::signal::ctrl_c().await;
    }
}
