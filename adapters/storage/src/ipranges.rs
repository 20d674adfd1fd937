//! Which AWS region a client address belongs to, from AWS's published `ip-ranges.json` (Quay's
//! `util/ipresolver`): the IPv4 `prefixes` of the `EC2` and `CODEBUILD` services, grouped by
//! region in file order; an address belongs to the first region whose prefixes contain it.
//! IPv6 clients are never inside AWS (Quay reads only the IPv4 list).

use std::net::IpAddr;

use quay_ports::storage::redirect::ClientNetwork;

/// Services whose addresses count as "inside AWS".
pub const AWS_SERVICES: &[&str] = &["EC2", "CODEBUILD"];

/// Why a ranges file could not be read.
#[derive(Debug, thiserror::Error)]
pub enum IpRangesError {
    /// Not JSON of the expected shape.
    #[error("not an AWS ip-ranges document: {0}")]
    Format(String),
    /// The file could not be read.
    #[error("cannot read {path}: {source}")]
    Io {
        /// The file.
        path: String,
        /// The cause.
        #[source]
        source: std::io::Error,
    },
}

#[derive(serde::Deserialize)]
struct Document {
    #[serde(rename = "syncToken")]
    sync_token: Option<serde_json::Value>,
    prefixes: Vec<Prefix>,
}

#[derive(serde::Deserialize)]
struct Prefix {
    ip_prefix: String,
    region: String,
    service: String,
}

/// The AWS ranges, per region.
#[derive(Debug, Clone, Default)]
pub struct AwsIpRanges {
    sync_token: Option<String>,
    regions: Vec<(String, Vec<(u32, u32)>)>,
}

fn parse_cidr(s: &str) -> Option<(u32, u32)> {
    let (addr, len) = s.split_once('/')?;
    let addr: std::net::Ipv4Addr = addr.parse().ok()?;
    let len: u32 = len.parse().ok()?;
    if len > 32 {
        return None;
    }
    let mask = if len == 0 { 0 } else { u32::MAX << (32 - len) };
    Some((u32::from(addr) & mask, mask))
}

impl AwsIpRanges {
    /// Parses an `ip-ranges.json` document.
    ///
    /// # Errors
    /// `Format` when it is not JSON of AWS's shape or a prefix is not an IPv4 CIDR.
    pub fn parse(json: &[u8]) -> Result<Self, IpRangesError> {
        let doc: Document =
            serde_json::from_slice(json).map_err(|e| IpRangesError::Format(e.to_string()))?;
        let mut regions: Vec<(String, Vec<(u32, u32)>)> = Vec::new();
        for p in doc.prefixes {
            let idx = match regions.iter().position(|(r, _)| *r == p.region) {
                Some(i) => i,
                None => {
                    regions.push((p.region.clone(), Vec::new()));
                    regions.len() - 1
                }
            };
            if AWS_SERVICES.contains(&p.service.as_str()) {
                let net = parse_cidr(&p.ip_prefix).ok_or_else(|| {
                    IpRangesError::Format(format!("bad ip_prefix {}", p.ip_prefix))
                })?;
                regions[idx].1.push(net);
            }
        }
        let sync_token = doc.sync_token.map(|t| match t {
            serde_json::Value::String(s) => s,
            other => other.to_string(),
        });
        Ok(Self {
            sync_token,
            regions,
        })
    }

    /// Reads and parses the file at `path`.
    ///
    /// # Errors
    /// `Io` or `Format`.
    pub fn from_file(path: &std::path::Path) -> Result<Self, IpRangesError> {
        let bytes = std::fs::read(path).map_err(|source| IpRangesError::Io {
            path: path.display().to_string(),
            source,
        })?;
        Self::parse(&bytes)
    }

    /// The document's `syncToken`.
    pub fn sync_token(&self) -> Option<&str> {
        self.sync_token.as_deref()
    }
}

impl ClientNetwork for AwsIpRanges {
    fn aws_region(&self, ip: IpAddr) -> Option<String> {
        let IpAddr::V4(v4) = ip else {
            return None;
        };
        let ip = u32::from(v4);
        self.regions
            .iter()
            .find(|(_, nets)| nets.iter().any(|(net, mask)| ip & mask == *net))
            .map(|(r, _)| r.clone())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const RANGES: &str = include_str!("../tests/fixtures/aws-ip-ranges.json");

    #[test]
    fn resolves_ec2_and_codebuild_ranges_by_region() {
        let r = AwsIpRanges::parse(RANGES.as_bytes()).unwrap();
        assert_eq!(r.sync_token(), Some("1700000000"));
        let region = |ip: &str| r.aws_region(ip.parse().unwrap());
        assert_eq!(region("4.0.0.2").as_deref(), Some("us-east-1"));
        assert_eq!(region("10.0.0.7").as_deref(), Some("us-west-2"));
        assert_eq!(region("10.0.1.7").as_deref(), Some("us-west-2"));
        // CODEBUILD counts; other services (S3, CLOUDFRONT) do not.
        assert_eq!(region("52.94.1.1").as_deref(), Some("eu-west-1"));
        assert_eq!(region("54.231.0.1"), None);
        assert_eq!(region("1.2.3.4"), None);
        assert_eq!(region("2600:1f18::1"), None);
    }

    #[test]
    fn bad_documents_are_errors() {
        assert!(AwsIpRanges::parse(b"{}").is_err());
        assert!(
            AwsIpRanges::parse(
                br#"{"prefixes": [{"ip_prefix": "1.2.3.0/33", "region": "r", "service": "EC2"}]}"#
            )
            .is_err()
        );
    }
}
