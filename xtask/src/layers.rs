//! `cargo xtask layers`: the dependency rules of the house style, checked from `cargo metadata`.
//!
//! Rules (STYLE.md, "Crates and dependency rules"):
//! - each workspace crate may depend only on the workspace crates its layer allows;
//! - driven adapters never depend on `application`, on another adapter, or on actix;
//! - only `bin` (package `quay`) names a concrete adapter;
//! - the domain's whole dependency tree never reaches tokio, futures, diesel, actix or openssl;
//! - no crate but `quay-fips` depends directly on a crypto implementation, and no crate of the
//!   graph is a non-OpenSSL TLS or crypto stack (ring, rustls, aws-lc).

use anyhow::{Context, Result, bail};
use serde_json::Value;
use std::collections::{BTreeMap, BTreeSet};
use std::process::Command;

/// A dependency graph: package name → names of its normal and build dependencies.
#[derive(Debug, Default)]
pub struct Graph {
    /// Workspace member names.
    pub members: BTreeSet<String>,
    /// Direct dependencies of every package (not dev-dependencies).
    pub deps: BTreeMap<String, BTreeSet<String>>,
    /// Direct dev-dependencies of workspace members.
    pub dev_deps: BTreeMap<String, BTreeSet<String>>,
    /// The domain's own dependency tree with its own features (`cargo tree -p quay-domain`);
    /// `cargo metadata` unifies features over the workspace and so over-approximates it.
    pub domain_tree: Option<BTreeSet<String>>,
}

/// Crypto implementations only `quay-fips` may name directly.
const CRYPTO_CRATES: &[&str] = &[
    "openssl",
    "openssl-sys",
    "ring",
    "rustls",
    "aws-lc-rs",
    "aws-lc-sys",
    "sha1",
    "sha2",
    "sha3",
    "md-5",
    "md5",
    "hmac",
    "aes",
    "aes-gcm",
    "ccm",
    "cbc",
    "rsa",
    "bcrypt",
    "pbkdf2",
    "p256",
    "p384",
    "ecdsa",
    "ed25519-dalek",
    "jsonwebtoken",
    "fernet",
    "chacha20poly1305",
    "blake2",
    "blake3",
    "digest",
    "crypto-common",
    "rcgen",
    "x509-parser",
];

/// Stacks banned from the whole graph: every TLS and crypto path goes through OpenSSL.
const BANNED_ANYWHERE: &[&str] = &[
    "ring",
    "rustls",
    "aws-lc-rs",
    "aws-lc-sys",
    "boring",
    "boring-sys",
];

/// What each workspace crate may depend on inside the workspace (`*` = anything).
fn allowed_workspace_deps(name: &str) -> Option<&'static [&'static str]> {
    Some(match name {
        "quay-domain" | "quay-migrations" | "xtask" => &[],
        "quay-ports" => &["quay-domain"],
        "quay-fips" => &["quay-domain", "quay-ports"],
        "quay-application" => &["quay-domain", "quay-ports"],
        "quay-adapter-http" => &["quay-domain", "quay-ports", "quay-application"],
        "quay" => &["*"],
        "quay-e2e" => &["quay-domain"],
        n if n.starts_with("quay-adapter-") => &["quay-domain", "quay-ports"],
        _ => return None,
    })
}

const DOMAIN_FORBIDDEN_PREFIXES: &[&str] = &["tokio", "futures", "diesel", "actix", "openssl"];

/// Checks every rule and returns all violations (empty when the graph is clean).
pub fn check(graph: &Graph) -> Vec<String> {
    let mut errors = Vec::new();
    for member in &graph.members {
        let deps = graph.deps.get(member).cloned().unwrap_or_default();
        let dev = graph.dev_deps.get(member).cloned().unwrap_or_default();
        match allowed_workspace_deps(member) {
            None => errors.push(format!(
                "`{member}` is a workspace crate with no layer in xtask/src/layers.rs: add it"
            )),
            Some(allowed) => {
                for dep in deps.iter().filter(|d| graph.members.contains(*d)) {
                    if !allowed.contains(&"*") && !allowed.contains(&dep.as_str()) {
                        errors.push(format!(
                            "`{member}` must not depend on `{dep}` (layer rule)"
                        ));
                    }
                }
            }
        }
        if member.starts_with("quay-adapter-") && member != "quay-adapter-http" {
            for dep in deps.iter().filter(|d| d.starts_with("actix")) {
                errors.push(format!(
                    "driven adapter `{member}` must not depend on `{dep}`"
                ));
            }
        }
        if member == "quay-adapter-http" {
            for dep in deps.iter().filter(|d| d.starts_with("diesel")) {
                errors.push(format!(
                    "`quay-adapter-http` must not touch the database (`{dep}`)"
                ));
            }
        }
        if member != "quay" {
            for dep in deps.iter().chain(dev.iter()) {
                if dep.starts_with("quay-adapter-") && dep != member {
                    errors.push(format!(
                        "`{member}` names the concrete adapter `{dep}`: only `quay` (bin) may"
                    ));
                }
            }
        }
        if member != "quay-fips" {
            let is_crypto =
                |d: &&String| CRYPTO_CRATES.contains(&d.as_str()) || d.starts_with("rustls");
            for dep in deps.iter().filter(is_crypto) {
                errors.push(format!(
                    "`{member}` depends directly on the crypto crate `{dep}`: crypto lives in quay-fips"
                ));
            }
        }
    }
    let domain_tree = graph
        .domain_tree
        .clone()
        .unwrap_or_else(|| reachable(graph, "quay-domain"));
    for reached in domain_tree {
        if DOMAIN_FORBIDDEN_PREFIXES
            .iter()
            .any(|p| reached.starts_with(p))
        {
            errors.push(format!("the domain's dependency tree reaches `{reached}`"));
        }
    }
    for pkg in graph.deps.keys() {
        if BANNED_ANYWHERE.contains(&pkg.as_str()) {
            errors.push(format!(
                "`{pkg}` is in the dependency graph: TLS and crypto must go through OpenSSL (native-tls)"
            ));
        }
    }
    errors
}

fn reachable(graph: &Graph, from: &str) -> BTreeSet<String> {
    let mut seen = BTreeSet::new();
    let mut stack = vec![from.to_string()];
    while let Some(next) = stack.pop() {
        for dep in graph.deps.get(&next).into_iter().flatten() {
            if seen.insert(dep.clone()) {
                stack.push(dep.clone());
            }
        }
    }
    seen
}

/// Reads the resolved graph of the workspace from `cargo metadata`.
pub fn load() -> Result<Graph> {
    let out = Command::new(std::env::var("CARGO").unwrap_or_else(|_| "cargo".into()))
        .args(["metadata", "--format-version", "1", "--locked"])
        .current_dir(crate::services::root())
        .output()
        .context("running cargo metadata")?;
    if !out.status.success() {
        bail!(
            "cargo metadata failed: {}",
            String::from_utf8_lossy(&out.stderr)
        );
    }
    let meta: Value = serde_json::from_slice(&out.stdout)?;
    let mut names = BTreeMap::new();
    for pkg in meta["packages"].as_array().into_iter().flatten() {
        names.insert(
            pkg["id"].as_str().unwrap_or_default().to_string(),
            pkg["name"].as_str().unwrap_or_default().to_string(),
        );
    }
    let mut graph = Graph::default();
    for id in meta["workspace_members"].as_array().into_iter().flatten() {
        if let Some(name) = id.as_str().and_then(|i| names.get(i)) {
            graph.members.insert(name.clone());
        }
    }
    for node in meta["resolve"]["nodes"].as_array().into_iter().flatten() {
        let name = names[node["id"].as_str().unwrap_or_default()].clone();
        let mut normal = BTreeSet::new();
        let mut dev = BTreeSet::new();
        for dep in node["deps"].as_array().into_iter().flatten() {
            let dep_name = names[dep["pkg"].as_str().unwrap_or_default()].clone();
            for kind in dep["dep_kinds"].as_array().into_iter().flatten() {
                if kind["kind"].as_str() == Some("dev") {
                    dev.insert(dep_name.clone());
                } else {
                    normal.insert(dep_name.clone());
                }
            }
        }
        graph.deps.insert(name.clone(), normal);
        if graph.members.contains(&name) {
            graph.dev_deps.insert(name, dev);
        }
    }
    graph.domain_tree = Some(domain_tree()?);
    Ok(graph)
}

/// Package names of `quay-domain`'s normal dependency tree, as a build of it alone resolves it.
fn domain_tree() -> Result<BTreeSet<String>> {
    let out = Command::new(std::env::var("CARGO").unwrap_or_else(|_| "cargo".into()))
        .args([
            "tree",
            "--locked",
            "-p",
            "quay-domain",
            "-e",
            "normal",
            "--prefix",
            "none",
        ])
        .args(["--format", "{p}"])
        .current_dir(crate::services::root())
        .output()
        .context("running cargo tree")?;
    if !out.status.success() {
        bail!(
            "cargo tree failed: {}",
            String::from_utf8_lossy(&out.stderr)
        );
    }
    Ok(String::from_utf8_lossy(&out.stdout)
        .lines()
        .filter_map(|l| l.split_whitespace().next())
        .filter(|n| *n != "quay-domain")
        .map(str::to_string)
        .collect())
}

/// Entry point of `cargo xtask layers`.
pub fn run() -> Result<()> {
    let graph = load()?;
    let errors = check(&graph);
    if errors.is_empty() {
        eprintln!(
            "layers: {} workspace crates follow the dependency rules",
            graph.members.len()
        );
        return Ok(());
    }
    for e in &errors {
        eprintln!("layers: {e}");
    }
    bail!("{} dependency rule violation(s)", errors.len())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn graph(edges: &[(&str, &[&str])]) -> Graph {
        let mut g = Graph::default();
        for (name, deps) in edges {
            if name.starts_with("quay") {
                g.members.insert((*name).to_string());
            }
            g.deps.insert(
                (*name).to_string(),
                deps.iter().map(|d| (*d).to_string()).collect(),
            );
        }
        g
    }

    fn clean() -> Vec<(&'static str, &'static [&'static str])> {
        vec![
            ("quay-domain", &["serde"]),
            ("quay-ports", &["quay-domain"]),
            ("quay-fips", &["quay-ports", "openssl"]),
            ("quay-adapter-db", &["quay-ports", "diesel"]),
            ("quay", &["quay-adapter-db", "quay-fips"]),
            ("serde", &[]),
            ("openssl", &[]),
            ("diesel", &[]),
        ]
    }

    #[test]
    fn clean_graph_passes() {
        assert_eq!(check(&graph(&clean())), Vec::<String>::new());
    }

    #[test]
    fn domain_reaching_tokio_fails() {
        let mut edges = clean();
        edges[0] = ("quay-domain", &["serde", "helper"]);
        edges.push(("helper", &["tokio"]));
        edges.push(("tokio", &[]));
        let errors = check(&graph(&edges));
        assert!(
            errors.iter().any(|e| e.contains("reaches `tokio`")),
            "{errors:?}"
        );
    }

    #[test]
    fn adapter_on_application_or_adapter_fails() {
        let mut edges = clean();
        edges.push(("quay-application", &["quay-ports"]));
        edges.push((
            "quay-adapter-storage",
            &["quay-application", "quay-adapter-db"],
        ));
        let errors = check(&graph(&edges));
        assert!(
            errors
                .iter()
                .any(|e| e.contains("must not depend on `quay-application`"))
        );
        assert!(
            errors
                .iter()
                .any(|e| e.contains("names the concrete adapter `quay-adapter-db`"))
        );
    }

    #[test]
    fn crypto_outside_fips_fails() {
        let mut edges = clean();
        edges[3] = ("quay-adapter-db", &["quay-ports", "diesel", "sha2"]);
        edges.push(("sha2", &[]));
        edges.push(("rustls", &[]));
        let errors = check(&graph(&edges));
        assert!(errors.iter().any(|e| e.contains("crypto crate `sha2`")));
        assert!(
            errors
                .iter()
                .any(|e| e.contains("`rustls` is in the dependency graph"))
        );
    }
}
