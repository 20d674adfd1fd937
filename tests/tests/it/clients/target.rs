//! The registry a client scenario runs against: our `quay` binary (mirror preset, SQLite, local
//! storage, plain HTTP, token auth with an initial user) or, for the peer smoke run only,
//! Debian's `docker-registry` (the CNCF distribution registry) without auth.

use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use quay_e2e::{Server, client, free_port};

/// The initial user of the quay instance; its namespace holds the test repositories.
pub const USER: &str = "admin";
/// The initial user's password.
pub const PASSWORD: &str = "password123";

enum Running {
    Quay(Server),
    Peer(Peer),
}

/// A `docker-registry` process, killed on drop.
struct Peer(Child);

impl Drop for Peer {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// A running registry on loopback.
pub struct Target {
    /// `127.0.0.1:PORT`, as clients name the registry.
    pub host: String,
    running: Running,
}

impl Target {
    /// `quay serve --mode mirror --tls off --init-user admin` on a free port.
    pub async fn quay(dir: &Path) -> Self {
        let data = dir.join("data");
        let data_arg = data.to_str().expect("UTF-8 temp path");
        let args = [
            "--mode",
            "mirror",
            "--data-dir",
            data_arg,
            "--tls",
            "off",
            "--init-user",
            USER,
            "--init-password",
            PASSWORD,
        ];
        let mut server = Server::spawn(dir, &args, false).expect("spawning quay serve");
        server
            .wait_for("/health/instance", 200, Duration::from_secs(60))
            .await
            .expect("quay serve becomes healthy");
        Self {
            host: server.base.trim_start_matches("http://").to_owned(),
            running: Running::Quay(server),
        }
    }

    /// Debian's `docker-registry` with filesystem storage under `dir` and no auth.
    pub async fn distribution(dir: &Path) -> Self {
        super::require_tool("docker-registry");
        let port = free_port();
        let config = dir.join("registry.yml");
        std::fs::write(
            &config,
            format!(
                "version: 0.1\nlog:\n  level: warn\nstorage:\n  filesystem:\n    rootdirectory: {}\n  \
                 delete:\n    enabled: true\nhttp:\n  addr: 127.0.0.1:{port}\n",
                dir.join("registry-data").display()
            ),
        )
        .expect("registry config");
        let log = std::fs::File::create(dir.join("registry.log")).expect("registry log");
        let child = Command::new("docker-registry")
            .arg("serve")
            .arg(&config)
            .stdout(Stdio::from(log.try_clone().expect("log handle")))
            .stderr(Stdio::from(log))
            .spawn()
            .expect("spawning docker-registry");
        let host = format!("127.0.0.1:{port}");
        let deadline = Instant::now() + Duration::from_secs(30);
        loop {
            if let Ok(resp) = client().get(format!("http://{host}/v2/")).send().await
                && resp.status().as_u16() == 200
            {
                break;
            }
            assert!(
                Instant::now() < deadline,
                "docker-registry did not answer /v2/ within 30 s: {}",
                std::fs::read_to_string(dir.join("registry.log")).unwrap_or_default()
            );
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        Self {
            host,
            running: Running::Peer(Peer(child)),
        }
    }

    /// `127.0.0.1:PORT/admin/<name>`.
    pub fn repo(&self, name: &str) -> String {
        format!("{}/{USER}/{name}", self.host)
    }

    /// `admin:password123`, as skopeo's and podman's `--creds` take it.
    pub fn creds(&self) -> String {
        format!("{USER}:{PASSWORD}")
    }

    /// The server's log, for failure messages.
    pub fn output(&self) -> String {
        match &self.running {
            Running::Quay(server) => server.output(),
            Running::Peer(_) => String::new(),
        }
    }

    /// Stops the server; quay must exit cleanly on SIGTERM.
    pub fn stop(self) {
        match self.running {
            Running::Quay(mut server) => {
                let exit = server.terminate().expect("stopping quay");
                assert!(
                    exit.success(),
                    "quay exited with {exit}:\n{}",
                    server.output()
                );
            }
            Running::Peer(peer) => drop(peer),
        }
    }
}
