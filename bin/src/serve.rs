//! `quay serve`: composes the process (config, database, crypto, HTTP) and serves until SIGTERM.

use anyhow::{Context, Result, bail};
use quay_application::health::HealthService;
use quay_ports::health::HealthProbe;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use crate::cli::{ServeArgs, TlsArg};
use crate::config::{Mode, QuayConfig, StorageDriver, TlsConfig};
use crate::{bootstrap, database, probes};

/// Runs the server until SIGTERM or Ctrl-C.
///
/// # Errors
/// Any start-up failure, with its cause and the fix.
pub async fn run(args: ServeArgs) -> Result<()> {
    let mut config = crate::load_config(&args.source)?;
    let fips =
        quay_fips::enforce(config.feature("FEATURE_FIPS")).map_err(|e| anyhow::anyhow!("{e}"))?;
    tracing::info!(fips.status = %fips.log_line(), "crypto provider");

    prepare_data_dir(&args.source.data_dir, &config)?;
    if config.mode == Some(Mode::Mirror) {
        crate::secrets::fill_missing(&mut config, &args.source.data_dir)?;
    }
    let allow_create = config.mode == Some(Mode::Mirror);
    database::preflight(&config, allow_create).await?;
    let db = database::connect(&config).await?;
    database::ensure_head(&db, allow_create).await?;
    let stores = db.stores();
    bootstrap::initial_user(
        &stores,
        &config,
        args.init_user.as_deref(),
        args.init_password.as_deref(),
    )
    .await?;

    let work_queue = crate::workers::work_queue(&db);
    let storage = crate::storage::build_with_cleanup(
        &config,
        Some(crate::workers::chunk_cleanup_sink(work_queue.clone())),
    )?;
    let workers = crate::workers::Workers::start(&config, &work_queue, &storage)
        .with_pull_statistics(&config, stores.pull_statistics.clone())?
        .with_quota_totals(&config, stores.quota.clone());
    let tls = tls_files(args.tls.as_ref(), &config)?;
    let listen = args.listen.unwrap_or_else(|| default_listen(tls.is_some()));
    let registry_auth =
        crate::registry::registry_auth(&config, &stores, &args.source.data_dir).await?;
    // Storage-proxy tokens are signed with the instance key (Quay's `DownloadProxy`).
    let proxy_tokens = config
        .features
        .proxy_storage
        .then(|| registry_auth.keyring().signer());
    let services = quay_adapter_http::AppServices {
        health: health(&config, &db, &storage, &args.source.data_dir),
        registry_auth: Some(registry_auth),
    };
    let registry =
        crate::registry_content::registry(&config, &stores, &storage, proxy_tokens).await?;
    // `/_storage_proxy/` is relayed in-process (Quay's nginx does it in front of Quay).
    let storage_proxy = crate::storage::proxy_backend(&config)?;
    // The client address: Quay's ProxyFix (one trusted `X-Forwarded-For` hop) unless
    // `PROXY_COUNT` is false.
    let client_ip =
        quay_adapter_http::ClientIpPolicy::from_proxy_count(config.effective.get("PROXY_COUNT"));
    let app = move || {
        let mut app = actix_web::App::new()
            .wrap(tracing_actix_web::TracingLogger::default())
            .app_data(actix_web::web::Data::new(client_ip))
            .configure(quay_adapter_http::configure(services.clone()));
        if let Some(backend) = storage_proxy.clone() {
            app = app.configure(quay_adapter_http::configure_storage_proxy(backend));
        }
        match registry.clone() {
            Some(registry) => app.configure(quay_adapter_http::configure_registry(registry)),
            None => app,
        }
    };
    let cannot_listen =
        || format!("cannot listen on {listen}: is another process using it? (--listen ADDR:PORT)");
    let server = match &tls {
        Some((cert, key)) => {
            let acceptor =
                quay_fips::tls::acceptor(cert, key).map_err(|e| anyhow::anyhow!("{e}"))?;
            actix_web::HttpServer::new(app)
                .shutdown_timeout(SHUTDOWN_SECONDS)
                .bind_openssl(listen, acceptor)
                .with_context(cannot_listen)?
                .run()
        }
        // Plain HTTP: connections that write local blobs to the socket directly.
        None => {
            let builder = actix_web::dev::Server::build().shutdown_timeout(SHUTDOWN_SECONDS);
            quay_adapter_http::bind_plain(builder, listen, app)
                .with_context(cannot_listen)?
                .run()
        }
    };
    let scheme = if tls.is_some() { "https" } else { "http" };
    tracing::info!(http.listen = %listen, http.scheme = scheme, "quay is serving");
    let served = server.await.context("HTTP server failed");
    workers.stop().await;
    served?;
    tracing::info!("quay stopped");
    Ok(())
}

/// Seconds in-flight requests get to finish after SIGTERM.
const SHUTDOWN_SECONDS: u64 = 30;

fn default_listen(tls: bool) -> SocketAddr {
    let port = if tls { 8443 } else { 8080 };
    SocketAddr::from(([0, 0, 0, 0], port))
}

/// Creates the data directory and checks this process can write in it.
fn prepare_data_dir(dir: &Path, config: &QuayConfig) -> Result<()> {
    let uses_dir = config.mode == Some(Mode::Mirror)
        || database::sqlite_path(config).is_some_and(|p| p.starts_with(dir));
    if !uses_dir {
        return Ok(());
    }
    std::fs::create_dir_all(dir).with_context(|| {
        format!("cannot create the data directory {}: choose another with --data-dir or fix its permissions", dir.display())
    })?;
    let probe = dir.join(".quay-write-probe");
    std::fs::write(&probe, b"ok").with_context(|| {
        format!(
            "the data directory {} is not writable by this user: fix its permissions (chown/chmod) or choose another with --data-dir",
            dir.display()
        )
    })?;
    let _ = std::fs::remove_file(&probe);
    for location in config.storage.locations.values() {
        if let StorageDriver::Local(local) = location {
            std::fs::create_dir_all(&local.storage_path).with_context(|| {
                format!(
                    "cannot create the storage directory {}",
                    local.storage_path.display()
                )
            })?;
        }
    }
    Ok(())
}

/// The certificate and key to serve with, generating a self-signed pair when configured so.
fn tls_files(arg: Option<&TlsArg>, config: &QuayConfig) -> Result<Option<(PathBuf, PathBuf)>> {
    let chosen = match arg {
        Some(TlsArg::Off) => TlsConfig::Off,
        Some(TlsArg::Files { cert, key }) => TlsConfig::Provided {
            cert: cert.clone(),
            key: key.clone(),
        },
        Some(TlsArg::Auto) | None => config.tls.clone(),
    };
    match chosen {
        TlsConfig::Off => Ok(None),
        TlsConfig::Provided { cert, key } => {
            for (what, path) in [("certificate", &cert), ("key", &key)] {
                if !path.is_file() {
                    bail!(
                        "the TLS {what} {} does not exist: give existing PEM files with --tls CERT,KEY",
                        path.display()
                    );
                }
            }
            Ok(Some((cert, key)))
        }
        TlsConfig::SelfSigned { cert, key } => {
            if !(cert.is_file() && key.is_file()) {
                write_self_signed(&cert, &key, &config.server_hostname)?;
            }
            Ok(Some((cert, key)))
        }
    }
}

fn write_self_signed(cert: &Path, key: &Path, hostname: &str) -> Result<()> {
    let mut hosts = Vec::new();
    if !hostname.is_empty() {
        hosts.push(hostname.to_owned());
    }
    if let Ok(name) = std::fs::read_to_string("/proc/sys/kernel/hostname") {
        let name = name.trim();
        if !name.is_empty() && !hosts.iter().any(|h| h == name) {
            hosts.push(name.to_owned());
        }
    }
    let (cert_pem, key_pem) =
        quay_fips::tls::self_signed(&hosts).map_err(|e| anyhow::anyhow!("{e}"))?;
    for path in [cert, key] {
        if let Some(parent) = path.parent() {
            std::fs::create_dir_all(parent)
                .with_context(|| format!("creating {}", parent.display()))?;
        }
    }
    std::fs::write(cert, cert_pem).with_context(|| format!("writing {}", cert.display()))?;
    write_private(key, key_pem.as_bytes())?;
    tracing::info!(tls.cert = %cert.display(), tls.hosts = ?hosts, "generated a self-signed certificate");
    Ok(())
}

pub(crate) fn write_private(path: &Path, data: &[u8]) -> Result<()> {
    use std::io::Write;
    use std::os::unix::fs::OpenOptionsExt;
    let mut file = std::fs::OpenOptions::new()
        .write(true)
        .create(true)
        .truncate(true)
        .mode(0o600)
        .open(path)
        .with_context(|| format!("writing {}", path.display()))?;
    file.write_all(data)
        .with_context(|| format!("writing {}", path.display()))?;
    Ok(())
}

fn health(
    config: &QuayConfig,
    db: &quay_adapter_db::Database,
    storage: &quay_adapter_storage::DistributedStorage,
    data_dir: &Path,
) -> HealthService {
    let database: Arc<dyn HealthProbe> = Arc::new(probes::DatabaseReachable(db.clone()));
    let auth: Arc<dyn HealthProbe> = probes::auth(config, db);
    let disk: Arc<dyn HealthProbe> = Arc::new(probes::DiskSpace {
        paths: vec![data_dir.to_path_buf(), std::env::temp_dir()],
        threshold: config
            .effective
            .get("DISKSPACE_HEALTH_THRESHOLD")
            .and_then(serde_json::Value::as_f64)
            .unwrap_or(0.01),
    });
    let instance: Vec<Arc<dyn HealthProbe>> = vec![
        Arc::new(probes::ServedByThisProcess("registry_gunicorn")),
        Arc::new(probes::ServedByThisProcess("web_gunicorn")),
        Arc::new(crate::registry::ServiceKeyProbe::new(
            config,
            &db.stores(),
            data_dir,
        )),
        disk,
        database.clone(),
        auth.clone(),
    ];
    let endtoend: Vec<Arc<dyn HealthProbe>> = vec![
        database,
        probes::redis(config),
        probes::storage(config, storage),
        auth,
    ];
    HealthService::new(instance, endtoend)
}
