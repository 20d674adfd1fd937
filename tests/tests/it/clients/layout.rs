//! OCI image layouts built on disk without any network: a config, two gzip'd tar layers and an
//! image manifest per image, and a two-platform image index, as `skopeo` and `podman` read them
//! with the `oci:` transport.
//!
//! Layers are real tar archives (podman unpacks them and checks their diff IDs) of pseudo-random
//! files, made with `tar` and `gzip -n` so that every byte is reproducible from the seed.

use std::collections::BTreeMap;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use serde_json::{Value, json};

/// Media type of an OCI image manifest.
pub const OCI_MANIFEST: &str = "application/vnd.oci.image.manifest.v1+json";
/// Media type of an OCI image index.
pub const OCI_INDEX: &str = "application/vnd.oci.image.index.v1+json";
/// Media type of an OCI image config.
pub const OCI_CONFIG: &str = "application/vnd.oci.image.config.v1+json";
/// Media type of a gzip'd OCI layer.
pub const OCI_LAYER_GZIP: &str = "application/vnd.oci.image.layer.v1.tar+gzip";
/// The annotation an `index.json` entry carries its tag in.
const REF_NAME: &str = "org.opencontainers.image.ref.name";

/// `sha256:<hex>` of `data`.
pub fn sha256(data: &[u8]) -> String {
    quay_fips::digest::sha256_digest(data).expect("sha256")
}

/// Deterministic pseudo-random bytes (xorshift64*), distinct per seed.
pub fn noise(seed: u64, len: usize) -> Vec<u8> {
    let mut state = seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1;
    let mut out = Vec::with_capacity(len + 8);
    while out.len() < len {
        state ^= state >> 12;
        state ^= state << 25;
        state ^= state >> 27;
        out.extend_from_slice(&state.wrapping_mul(0x2545_F491_4F6C_DD1D).to_le_bytes());
    }
    out.truncate(len);
    out
}

/// One image's parts, as pushed by clients that take bytes (oci-client).
pub struct Image {
    /// The config blob.
    pub config: Vec<u8>,
    /// The gzip'd layers.
    pub layers: Vec<Vec<u8>>,
    /// Diff IDs (digests of the uncompressed tars), in layer order.
    pub diff_ids: Vec<String>,
}

fn run_with_stdin(cmd: &mut Command, input: Option<&[u8]>) -> Vec<u8> {
    let mut child = cmd
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap_or_else(|e| panic!("spawning {cmd:?}: {e}"));
    let mut stdin = child.stdin.take().expect("stdin piped");
    let input = input.map(<[u8]>::to_vec);
    let writer = std::thread::spawn(move || {
        if let Some(input) = input {
            stdin.write_all(&input).expect("writing stdin");
        }
    });
    let out = child.wait_with_output().expect("waiting for the tool");
    writer.join().expect("stdin writer");
    assert!(
        out.status.success(),
        "{cmd:?} failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    out.stdout
}

/// A tar of two pseudo-random files, gzip'd: returns (gzip bytes, diff ID).
fn layer(scratch: &Path, seed: u64, size: usize) -> (Vec<u8>, String) {
    let src = scratch.join(format!("layer-{seed}"));
    std::fs::create_dir_all(src.join("data")).expect("layer dir");
    std::fs::write(src.join("data").join("a.bin"), noise(seed, size)).expect("layer file");
    std::fs::write(
        src.join("data").join("b.txt"),
        format!("layer {seed}\n").repeat(64),
    )
    .expect("layer file");
    let tar = run_with_stdin(
        Command::new("tar")
            .args([
                "--sort=name",
                "--mtime=@0",
                "--owner=0",
                "--group=0",
                "--numeric-owner",
                "-cf",
                "-",
                "-C",
            ])
            .arg(&src)
            .arg("data"),
        None,
    );
    let diff_id = sha256(&tar);
    let gz = run_with_stdin(Command::new("gzip").args(["-n", "-c"]), Some(&tar));
    (gz, diff_id)
}

/// An image for `arch`: a config naming the diff IDs and two layers.
pub fn image(scratch: &Path, arch: &str, seed: u64) -> Image {
    let (l1, d1) = layer(scratch, seed, 1 << 20);
    let (l2, d2) = layer(scratch, seed + 1, 96 << 10);
    let config = json!({
        "created": "2026-11-27T12:00:00Z",
        "architecture": arch,
        "os": "linux",
        "config": {"Env": ["PATH=/usr/bin"], "Cmd": ["/bin/true"]},
        "rootfs": {"type": "layers", "diff_ids": [d1, d2]},
        "history": [{"created": "2026-11-27T12:00:00Z", "created_by": "quay-e2e"}]
    });
    Image {
        config: serde_json::to_vec(&config).expect("config JSON"),
        layers: vec![l1, l2],
        diff_ids: vec![d1, d2],
    }
}

/// A content descriptor.
pub fn descriptor(media_type: &str, data: &[u8]) -> Value {
    json!({"mediaType": media_type, "digest": sha256(data), "size": data.len()})
}

/// The image manifest of `image`.
pub fn manifest(image: &Image) -> Vec<u8> {
    let layers: Vec<Value> = image
        .layers
        .iter()
        .map(|l| descriptor(OCI_LAYER_GZIP, l))
        .collect();
    serde_json::to_vec(&json!({
        "schemaVersion": 2,
        "mediaType": OCI_MANIFEST,
        "config": descriptor(OCI_CONFIG, &image.config),
        "layers": layers,
    }))
    .expect("manifest JSON")
}

/// An OCI layout directory being written.
pub struct Layout {
    /// The directory (`oci:DIR:TAG` in skopeo's and podman's syntax).
    pub dir: PathBuf,
}

impl Layout {
    /// Creates `dir` with its `oci-layout` marker and an empty blob store.
    pub fn create(dir: &Path) -> Self {
        std::fs::create_dir_all(dir.join("blobs").join("sha256")).expect("layout dirs");
        std::fs::write(dir.join("oci-layout"), r#"{"imageLayoutVersion":"1.0.0"}"#)
            .expect("oci-layout");
        Self {
            dir: dir.to_path_buf(),
        }
    }

    /// Stores a blob and returns its digest.
    pub fn blob(&self, data: &[u8]) -> String {
        let digest = sha256(data);
        let hex = digest.trim_start_matches("sha256:");
        std::fs::write(self.dir.join("blobs").join("sha256").join(hex), data).expect("blob");
        digest
    }

    /// Stores an image's config, layers and manifest; returns the manifest bytes.
    pub fn image(&self, image: &Image) -> Vec<u8> {
        self.blob(&image.config);
        for layer in &image.layers {
            self.blob(layer);
        }
        let manifest = manifest(image);
        self.blob(&manifest);
        manifest
    }

    /// Writes `index.json` with one entry per (tag, media type, top-level blob).
    pub fn index(&self, entries: &[(&str, &str, &[u8])]) {
        let manifests: Vec<Value> = entries
            .iter()
            .map(|(tag, media_type, data)| {
                let mut d = descriptor(media_type, data);
                d["annotations"] = json!({ REF_NAME: tag });
                d
            })
            .collect();
        let index = json!({"schemaVersion": 2, "mediaType": OCI_INDEX, "manifests": manifests});
        std::fs::write(
            self.dir.join("index.json"),
            serde_json::to_vec(&index).expect("index JSON"),
        )
        .expect("index.json");
    }
}

/// A layout with one image tagged `tag`; returns the manifest digest.
pub fn single(scratch: &Path, dir: &Path, tag: &str) -> String {
    let layout = Layout::create(dir);
    let manifest = layout.image(&image(scratch, "amd64", 11));
    layout.index(&[(tag, OCI_MANIFEST, &manifest)]);
    sha256(&manifest)
}

/// A layout with an amd64 + arm64 index tagged `tag`; returns the index digest.
pub fn multi_arch(scratch: &Path, dir: &Path, tag: &str) -> String {
    let layout = Layout::create(dir);
    let mut entries = Vec::new();
    for (arch, seed) in [("amd64", 21), ("arm64", 31)] {
        let manifest = layout.image(&image(scratch, arch, seed));
        let mut d = descriptor(OCI_MANIFEST, &manifest);
        d["platform"] = json!({"architecture": arch, "os": "linux"});
        entries.push(d);
    }
    let index = serde_json::to_vec(&json!({
        "schemaVersion": 2,
        "mediaType": OCI_INDEX,
        "manifests": entries,
    }))
    .expect("index JSON");
    layout.blob(&index);
    layout.index(&[(tag, OCI_INDEX, &index)]);
    sha256(&index)
}

/// The digest `index.json` of the layout at `dir` gives for `tag`.
pub fn tagged_digest(dir: &Path, tag: &str) -> String {
    let index: Value =
        serde_json::from_slice(&std::fs::read(dir.join("index.json")).expect("reading index.json"))
            .expect("index.json is JSON");
    index["manifests"]
        .as_array()
        .expect("index.json manifests")
        .iter()
        .find(|m| m["annotations"][REF_NAME] == tag)
        .and_then(|m| m["digest"].as_str())
        .unwrap_or_else(|| panic!("no {tag} in {index}"))
        .to_owned()
}

/// Every blob of the layout at `dir`: digest → bytes.
pub fn blobs(dir: &Path) -> BTreeMap<String, Vec<u8>> {
    let mut out = BTreeMap::new();
    for entry in std::fs::read_dir(dir.join("blobs").join("sha256")).expect("blob dir") {
        let entry = entry.expect("blob entry");
        let data = std::fs::read(entry.path()).expect("blob");
        let name = format!("sha256:{}", entry.file_name().to_string_lossy());
        assert_eq!(sha256(&data), name, "blob content does not match its name");
        out.insert(name, data);
    }
    out
}

/// Asserts that two layouts hold the same blobs, byte for byte.
pub fn assert_same_blobs(original: &Path, copy: &Path) {
    let (a, b) = (blobs(original), blobs(copy));
    let names = |m: &BTreeMap<String, Vec<u8>>| m.keys().cloned().collect::<Vec<_>>();
    assert_eq!(
        names(&a),
        names(&b),
        "the copy's blobs differ from the original's"
    );
    for (digest, data) in &a {
        assert!(b[digest] == *data, "blob {digest} differs");
    }
}
