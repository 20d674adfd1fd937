//! podman as root with its own storage root (vfs driver, cgroupfs, file events: no systemd):
//! an image loaded from an OCI layout is pushed, removed locally and pulled back; the pulled
//! image must have the pushed manifest digest, the original config (image ID) and diff IDs.

use std::path::{Path, PathBuf};
use std::process::Command;

use super::layout::{Layout, OCI_MANIFEST, image, manifest, sha256};
use super::target::Target;

/// podman confined to `dir`: storage, run state and temporary files all live there.
struct Podman {
    dir: PathBuf,
}

impl Podman {
    fn new(dir: &Path) -> Self {
        super::require_tool("podman");
        Self {
            dir: dir.join("podman"),
        }
    }

    /// Runs `podman ARGS` and returns its trimmed stdout, failing with its output.
    fn run(&self, args: &[&str]) -> String {
        let out = Command::new("podman")
            .arg("--root")
            .arg(self.dir.join("root"))
            .arg("--runroot")
            .arg(self.dir.join("run"))
            .arg("--tmpdir")
            .arg(self.dir.join("tmp"))
            .args([
                "--storage-driver=vfs",
                "--cgroup-manager=cgroupfs",
                "--events-backend=file",
            ])
            .args(args)
            .output()
            .expect("running podman");
        assert!(
            out.status.success(),
            "podman {args:?} failed:\n{}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8_lossy(&out.stdout).trim().to_owned()
    }
}

/// Load from `oci:` → push → `rmi` → pull → compare.
pub fn round_trip(target: &Target, dir: &Path) {
    let podman = Podman::new(dir);
    let src = dir.join("src");
    let layout = Layout::create(&src);
    let original = image(&dir.join("scratch"), "amd64", 41);
    let manifest_bytes = layout.image(&original);
    layout.index(&[("v1", OCI_MANIFEST, &manifest_bytes)]);
    assert_eq!(manifest(&original), manifest_bytes);
    let config_digest = sha256(&original.config);

    // podman names the loaded image after the layout's path, which must be lowercase: reach
    // the layout through a lowercase symbolic link (temporary directories have mixed case).
    let link = std::env::temp_dir().join(format!("quay-e2e-podman-{}", std::process::id()));
    let _ = std::fs::remove_file(&link);
    std::os::unix::fs::symlink(&src, &link).expect("symlink to the layout");
    let src_ref = format!("oci:{}:v1", link.display());
    let id = podman.run(&["pull", "-q", &src_ref]);
    std::fs::remove_file(&link).expect("removing the symlink");
    assert_eq!(
        format!("sha256:{id}"),
        config_digest,
        "podman's image ID is the config digest"
    );

    let remote = format!("{}:v1", target.repo("podman"));
    let creds = target.creds();
    let digest_file = dir.join("pushed-digest");
    let digest_path = digest_file.to_str().expect("UTF-8 temp path");
    podman.run(&[
        "push",
        "--tls-verify=false",
        "--creds",
        &creds,
        "--digestfile",
        digest_path,
        &id,
        &format!("docker://{remote}"),
    ]);
    let pushed = std::fs::read_to_string(&digest_file).expect("podman wrote the digest file");
    assert!(pushed.starts_with("sha256:"), "digest file: {pushed:?}");

    podman.run(&["rmi", "-f", &id]);
    assert_eq!(podman.run(&["images", "-q"]), "", "the local image is gone");

    let pulled = podman.run(&[
        "pull",
        "-q",
        "--tls-verify=false",
        "--creds",
        &creds,
        &remote,
    ]);
    assert_eq!(pulled, id, "the pulled image has the original config");
    let inspect = podman.run(&[
        "image",
        "inspect",
        "--format",
        "{{.Digest}} {{json .RootFS.Layers}}",
        &remote,
    ]);
    let diff_ids = serde_json::to_string(&original.diff_ids).expect("JSON");
    assert_eq!(inspect, format!("{} {diff_ids}", pushed.trim()));
}
