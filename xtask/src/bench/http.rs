//! A minimal registry client for the benchmark: the standard token dance (or Basic auth when the
//! registry asks for it), blob uploads (monolithic POST + PUT, chunked POST + PATCH… + PUT),
//! blob downloads timed to the first byte, and manifest PUTs.

use anyhow::{Context, Result, bail};
use reqwest::{Method, RequestBuilder, Url};
use std::time::{Duration, Instant};

use super::data::Blob;

/// Media type of an OCI image manifest.
pub const OCI_MANIFEST: &str = "application/vnd.oci.image.manifest.v1+json";

/// Credentials as the registry wants them.
#[derive(Clone)]
enum Auth {
    Basic(String, String),
    Bearer(String),
}

/// A client for one repository of one registry.
#[derive(Clone)]
pub struct Registry {
    base: Url,
    repo: String,
    client: reqwest::Client,
    auth: Auth,
}

/// One blob download: time to first byte, total time, bytes read.
pub struct Pull {
    /// From sending the request to the first body byte.
    pub ttfb: Duration,
    /// From sending the request to the last body byte.
    pub total: Duration,
    /// Body bytes.
    pub bytes: u64,
}

fn challenge_param(header: &str, key: &str) -> Option<String> {
    let start = header.find(&format!("{key}=\""))? + key.len() + 2;
    let end = header[start..].find('"')? + start;
    Some(header[start..end].to_owned())
}

impl Registry {
    /// Authenticates as `user` for `repo` (push and pull), as a Docker client does.
    ///
    /// # Errors
    /// When the registry's challenge is not understood or the token request fails.
    pub async fn login(base: &str, repo: &str, user: &str, password: &str) -> Result<Self> {
        let client = reqwest::Client::builder()
            .pool_max_idle_per_host(128)
            .timeout(Duration::from_secs(300))
            .build()?;
        let base = Url::parse(base)?;
        let resp = client.get(base.join("/v2/")?).send().await?;
        let challenge = resp
            .headers()
            .get("www-authenticate")
            .and_then(|v| v.to_str().ok())
            .unwrap_or_default()
            .to_owned();
        let auth = if challenge.starts_with("Bearer") {
            let realm = challenge_param(&challenge, "realm").context("Bearer realm")?;
            let service = challenge_param(&challenge, "service").unwrap_or_default();
            let scope = format!("repository:{repo}:push,pull");
            let token: serde_json::Value = client
                .get(&realm)
                .query(&[("service", service.as_str()), ("scope", scope.as_str())])
                .basic_auth(user, Some(password))
                .send()
                .await?
                .error_for_status()
                .context("token request")?
                .json()
                .await?;
            let token = token["token"]
                .as_str()
                .or_else(|| token["access_token"].as_str())
                .context("no token in the token response")?;
            Auth::Bearer(token.to_owned())
        } else if challenge.starts_with("Basic") {
            Auth::Basic(user.to_owned(), password.to_owned())
        } else {
            bail!("unexpected /v2/ answer {}: `{challenge}`", resp.status());
        };
        Ok(Self {
            base,
            repo: repo.to_owned(),
            client,
            auth,
        })
    }

    /// The `Authorization` header value, for external load generators.
    ///
    /// # Errors
    /// When the header cannot be built.
    pub fn authorization(&self) -> Result<String> {
        let req = self.request(Method::GET, self.base.clone()).build()?;
        let value = req
            .headers()
            .get("authorization")
            .context("authorization header")?;
        Ok(value.to_str()?.to_owned())
    }

    fn request(&self, method: Method, url: Url) -> RequestBuilder {
        let req = self.client.request(method, url);
        match &self.auth {
            Auth::Basic(u, p) => req.basic_auth(u, Some(p)),
            Auth::Bearer(t) => req.bearer_auth(t),
        }
    }

    /// `BASE/v2/<repo>/<path>`.
    ///
    /// # Errors
    /// When the URL cannot be built.
    pub fn url(&self, path: &str) -> Result<Url> {
        Ok(self.base.join(&format!("/v2/{}/{path}", self.repo))?)
    }

    async fn start_upload(&self) -> Result<Url> {
        let resp = self
            .request(Method::POST, self.url("blobs/uploads/")?)
            .send()
            .await?;
        if resp.status().as_u16() != 202 {
            bail!("POST blobs/uploads/ answered {}", resp.status());
        }
        self.location(&resp)
    }

    fn location(&self, resp: &reqwest::Response) -> Result<Url> {
        let loc = resp
            .headers()
            .get("location")
            .context("no Location")?
            .to_str()?;
        Ok(self.base.join(loc)?)
    }

    /// POST then one PUT with the whole blob; returns the elapsed time.
    ///
    /// # Errors
    /// When the registry does not answer 201.
    pub async fn push_monolithic(&self, blob: &Blob) -> Result<Duration> {
        let started = Instant::now();
        let mut url = self.start_upload().await?;
        url.query_pairs_mut().append_pair("digest", &blob.digest);
        let resp = self
            .request(Method::PUT, url)
            .header("content-type", "application/octet-stream")
            .body(blob.data.clone())
            .send()
            .await?;
        if resp.status().as_u16() != 201 {
            bail!(
                "monolithic PUT answered {}: {}",
                resp.status(),
                resp.text().await?
            );
        }
        Ok(started.elapsed())
    }

    /// POST, PATCH chunk by chunk, then PUT with the digest; returns the elapsed time.
    ///
    /// # Errors
    /// When a step answers an unexpected status.
    pub async fn push_chunked(&self, blob: &Blob, chunk: usize) -> Result<Duration> {
        let started = Instant::now();
        let mut url = self.start_upload().await?;
        let mut offset = 0;
        while offset < blob.data.len() {
            let end = (offset + chunk).min(blob.data.len());
            let resp = self
                .request(Method::PATCH, url)
                .header("content-type", "application/octet-stream")
                .header("content-range", format!("{offset}-{}", end - 1))
                .body(blob.data.slice(offset..end))
                .send()
                .await?;
            if resp.status().as_u16() != 202 {
                bail!(
                    "PATCH at {offset} answered {}: {}",
                    resp.status(),
                    resp.text().await?
                );
            }
            url = self.location(&resp)?;
            offset = end;
        }
        url.query_pairs_mut().append_pair("digest", &blob.digest);
        let resp = self.request(Method::PUT, url).send().await?;
        if resp.status().as_u16() != 201 {
            bail!(
                "closing PUT answered {}: {}",
                resp.status(),
                resp.text().await?
            );
        }
        Ok(started.elapsed())
    }

    /// GETs a blob, reading and discarding the body.
    ///
    /// # Errors
    /// When the registry does not answer 200.
    pub async fn pull(&self, digest: &str) -> Result<Pull> {
        let started = Instant::now();
        let mut resp = self
            .request(Method::GET, self.url(&format!("blobs/{digest}"))?)
            .send()
            .await?;
        if resp.status().as_u16() != 200 {
            bail!("blob GET answered {}", resp.status());
        }
        let mut ttfb = None;
        let mut bytes = 0u64;
        while let Some(chunk) = resp.chunk().await? {
            ttfb.get_or_insert_with(|| started.elapsed());
            bytes += chunk.len() as u64;
        }
        Ok(Pull {
            ttfb: ttfb.unwrap_or_else(|| started.elapsed()),
            total: started.elapsed(),
            bytes,
        })
    }

    /// PUTs an OCI manifest under `reference`; returns the latency.
    ///
    /// # Errors
    /// When the registry does not answer 201.
    pub async fn put_manifest(&self, reference: &str, body: Vec<u8>) -> Result<Duration> {
        let started = Instant::now();
        let resp = self
            .request(Method::PUT, self.url(&format!("manifests/{reference}"))?)
            .header("content-type", OCI_MANIFEST)
            .body(body)
            .send()
            .await?;
        if resp.status().as_u16() != 201 {
            bail!(
                "manifest PUT answered {}: {}",
                resp.status(),
                resp.text().await?
            );
        }
        Ok(started.elapsed())
    }

    /// GETs a manifest once, checking it answers 200.
    ///
    /// # Errors
    /// When it does not.
    pub async fn get_manifest(&self, reference: &str) -> Result<()> {
        let resp = self
            .request(Method::GET, self.url(&format!("manifests/{reference}"))?)
            .header("accept", OCI_MANIFEST)
            .send()
            .await?;
        if resp.status().as_u16() != 200 {
            bail!("manifest GET answered {}", resp.status());
        }
        Ok(())
    }
}
