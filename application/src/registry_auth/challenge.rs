//! The `WWW-Authenticate` challenge of `/v2` 401 responses.

/// `Bearer realm="<scheme>://<host>/v2/auth",service="<host>"[,scope="repository:<repo>[:<actions>]"]`.
pub(crate) fn bearer_challenge(
    scheme: &str,
    host: &str,
    repository: Option<&str>,
    actions: &[&str],
) -> String {
    let mut value = format!(r#"Bearer realm="{scheme}://{host}/v2/auth",service="{host}""#);
    if let Some(repository) = repository {
        let mut scope = format!("repository:{repository}");
        if !actions.is_empty() {
            scope.push(':');
            scope.push_str(&actions.join(","));
        }
        value.push_str(&format!(r#",scope="{scope}""#));
    }
    value
}

/// The Docker version in a `User-Agent` (Quay's `docker_version`): `docker/X.Y[.Z]` with leading
/// zeros stripped (date-based versions such as `17.03.1`), or `Go 1.1 package http` for 1.5.0.
pub(crate) fn docker_version(user_agent: &str) -> Option<(u64, u64, u64)> {
    if user_agent == "Go 1.1 package http" {
        return Some((1, 5, 0));
    }
    let mut rest = user_agent;
    while let Some(at) = rest.find("docker/") {
        let tail = &rest[at + "docker/".len()..];
        let text: String = tail
            .chars()
            .take_while(|c| c.is_ascii_digit() || *c == '.')
            .collect();
        let parts: Vec<&str> = text.split('.').take(3).collect();
        if parts.len() >= 2 && parts.iter().all(|p| !p.is_empty()) {
            let n = |i: usize| {
                parts
                    .get(i)
                    .and_then(|p| p.parse::<u64>().ok())
                    .unwrap_or(0)
            };
            return Some((n(0), n(1), n(2)));
        }
        rest = tail;
    }
    None
}

#[cfg(test)]
mod tests {
    use super::bearer_challenge;

    #[test]
    fn docker_versions() {
        use super::docker_version;
        assert_eq!(docker_version("docker/1.5.0 go/go1.4"), Some((1, 5, 0)));
        assert_eq!(
            docker_version("docker/17.03.1-ce go/go1.7"),
            Some((17, 3, 1))
        );
        assert_eq!(docker_version("docker/1.6"), Some((1, 6, 0)));
        assert_eq!(docker_version("Go 1.1 package http"), Some((1, 5, 0)));
        assert_eq!(docker_version("python-requests/2.32.3"), None);
        assert_eq!(docker_version("docker/x docker/1.12.0"), Some((1, 12, 0)));
    }

    #[test]
    fn matches_quay_captures() {
        assert_eq!(
            bearer_challenge("http", "127.0.0.1:8180", None, &[]),
            r#"Bearer realm="http://127.0.0.1:8180/v2/auth",service="127.0.0.1:8180""#
        );
        assert_eq!(
            bearer_challenge(
                "http",
                "127.0.0.1:8180",
                Some("testorg/hello"),
                &["pull", "push"]
            ),
            r#"Bearer realm="http://127.0.0.1:8180/v2/auth",service="127.0.0.1:8180",scope="repository:testorg/hello:pull,push""#
        );
    }
}
