//! skopeo: an OCI layout copied into the registry and back out, by tag and by digest; the
//! manifest (or index) digest and every blob must come back byte for byte.

use std::path::Path;
use std::process::Command;

use super::layout::{assert_same_blobs, multi_arch, single, tagged_digest};
use super::target::Target;

/// Runs `skopeo --policy <accept-anything> ARGS`, failing with its output.
fn skopeo(dir: &Path, args: &[&str]) {
    super::require_tool("skopeo");
    let policy = dir.join("policy.json");
    if !policy.exists() {
        std::fs::write(
            &policy,
            r#"{"default":[{"type":"insecureAcceptAnything"}]}"#,
        )
        .expect("policy.json");
    }
    let out = Command::new("skopeo")
        .arg("--policy")
        .arg(&policy)
        .args(args)
        .output()
        .expect("running skopeo");
    assert!(
        out.status.success(),
        "skopeo {args:?} failed:\n{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
}

fn path(p: &Path) -> &str {
    p.to_str().expect("UTF-8 temp path")
}

/// Pushes `oci:SRC:tag` (with `extra` flags), pulls it back by tag and by digest, compares.
fn round_trip(target: &Target, dir: &Path, repo: &str, digest: &str, extra: &[&str]) {
    let src = dir.join("src");
    let dest = format!("docker://{}:v1", target.repo(repo));
    let creds = target.creds();
    let mut push = vec!["copy", "--preserve-digests"];
    push.extend_from_slice(extra);
    let src_ref = format!("oci:{}:v1", path(&src));
    push.extend_from_slice(&[
        &src_ref,
        &dest,
        "--dest-creds",
        &creds,
        "--dest-tls-verify=false",
    ]);
    skopeo(dir, &push);

    let by_digest = format!("docker://{}@{digest}", target.repo(repo));
    for (name, source) in [("by-tag", &dest), ("by-digest", &by_digest)] {
        let out = dir.join(name);
        let out_ref = format!("oci:{}:v1", path(&out));
        let mut pull = vec!["copy"];
        pull.extend_from_slice(extra);
        pull.extend_from_slice(&[
            source.as_str(),
            &out_ref,
            "--src-creds",
            &creds,
            "--src-tls-verify=false",
        ]);
        skopeo(dir, &pull);
        assert_eq!(
            tagged_digest(&out, "v1"),
            digest,
            "{name}: the pulled manifest digest changed"
        );
        assert_same_blobs(&src, &out);
    }
}

/// One image: config, two layers, an OCI manifest.
pub fn image(target: &Target, dir: &Path) {
    let digest = single(&dir.join("scratch"), &dir.join("src"), "v1");
    round_trip(target, dir, "skopeo-image", &digest, &[]);
}

/// An amd64 + arm64 OCI index, copied with `--all`.
pub fn index(target: &Target, dir: &Path) {
    let digest = multi_arch(&dir.join("scratch"), &dir.join("src"), "v1");
    round_trip(target, dir, "skopeo-index", &digest, &["--all"]);
}
