//! Where a client address is (Quay's `util/ipresolver`): the GeoIP continent from a MaxMind DB
//! file, and, through [`AwsIpRanges`], the AWS region.
//!
//! Quay opens `ip-to-country.mmdb` with `maxminddb` and reads the `continent_code` of the
//! record; its `MultiCDNStorage` continent rules compare against it. Both record layouts in use
//! are read here: the flat `{"country_code", "continent_code"}` of the IPLocate database Quay
//! ships, and MaxMind's GeoLite2/GeoIP2 `{"continent": {"code"}}`. Addresses the database does
//! not cover (private, loopback) have no continent. IPv4-mapped IPv6 addresses
//! (`::ffff:a.b.c.d`, what a dual-stack socket reports for IPv4 clients) are looked up as IPv4.

use std::net::IpAddr;

use quay_ports::storage::redirect::ClientNetwork;

use crate::ipranges::AwsIpRanges;

/// Why a GeoIP database could not be opened.
#[derive(Debug, thiserror::Error)]
pub enum GeoIpError {
    /// Not a MaxMind DB file.
    #[error("not a MaxMind DB (.mmdb) database: {0}")]
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

/// The fields of a record that carry the continent, in either layout.
#[derive(serde::Deserialize)]
struct Record {
    /// IPLocate (Quay's shipped database).
    continent_code: Option<String>,
    /// MaxMind GeoLite2 / GeoIP2.
    continent: Option<Continent>,
}

#[derive(serde::Deserialize)]
struct Continent {
    code: Option<String>,
}

/// An opened MaxMind DB (`.mmdb`) database, held in memory.
pub struct GeoIpDatabase {
    reader: maxminddb::Reader<Vec<u8>>,
}

impl std::fmt::Debug for GeoIpDatabase {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let meta = self.reader.metadata();
        f.debug_struct("GeoIpDatabase")
            .field("database_type", &meta.database_type)
            .field("build_epoch", &meta.build_epoch)
            .finish()
    }
}

impl GeoIpDatabase {
    /// Opens a database from its bytes.
    ///
    /// # Errors
    /// `Format` when the bytes are not a MaxMind DB.
    pub fn from_bytes(bytes: Vec<u8>) -> Result<Self, GeoIpError> {
        let reader =
            maxminddb::Reader::from_source(bytes).map_err(|e| GeoIpError::Format(e.to_string()))?;
        Ok(Self { reader })
    }

    /// Reads and opens the file at `path`.
    ///
    /// # Errors
    /// `Io` or `Format`.
    pub fn from_file(path: &std::path::Path) -> Result<Self, GeoIpError> {
        let bytes = std::fs::read(path).map_err(|source| GeoIpError::Io {
            path: path.display().to_string(),
            source,
        })?;
        Self::from_bytes(bytes)
    }

    /// The database's `database_type` metadata.
    pub fn database_type(&self) -> &str {
        &self.reader.metadata().database_type
    }

    /// The continent code of `ip`, when the database has a record for it. A record the
    /// database cannot decode counts as none (logged).
    pub fn continent(&self, ip: IpAddr) -> Option<String> {
        let ip = ip.to_canonical();
        let record = self
            .reader
            .lookup(ip)
            .and_then(|found| found.decode::<Record>());
        match record {
            Ok(Some(r)) => r
                .continent_code
                .or_else(|| r.continent.and_then(|c| c.code))
                .filter(|c| !c.is_empty()),
            Ok(None) => None,
            Err(e) => {
                tracing::warn!(client.ip = %ip, error = %e, "GeoIP lookup failed");
                None
            }
        }
    }
}

/// Quay's `IPResolver`: AWS ip-ranges for the CDN same-region bypass and a GeoIP database for
/// `MultiCDNStorage` continent rules, either of which may be missing.
#[derive(Debug, Default)]
pub struct IpResolver {
    aws: Option<AwsIpRanges>,
    geoip: Option<GeoIpDatabase>,
}

impl IpResolver {
    /// A resolver over what was loaded.
    pub fn new(aws: Option<AwsIpRanges>, geoip: Option<GeoIpDatabase>) -> Self {
        Self { aws, geoip }
    }

    /// Whether it can tell anything at all.
    pub fn is_empty(&self) -> bool {
        self.aws.is_none() && self.geoip.is_none()
    }
}

impl ClientNetwork for IpResolver {
    fn aws_region(&self, ip: IpAddr) -> Option<String> {
        self.aws.as_ref()?.aws_region(ip.to_canonical())
    }

    fn continent(&self, ip: IpAddr) -> Option<String> {
        self.geoip.as_ref()?.continent(ip)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn fixture(name: &str) -> GeoIpDatabase {
        let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("tests/fixtures/geoip")
            .join(name);
        GeoIpDatabase::from_file(&path).unwrap()
    }

    /// One address per continent in the fixtures (tests/fixtures/geoip/generate.py).
    const CASES: &[(&str, Option<&str>)] = &[
        ("8.8.8.8", Some("NA")),
        ("2001:4860::8888", Some("NA")),
        ("1.1.1.1", Some("OC")),
        ("193.0.0.5", Some("EU")),
        ("2a00:1450::1", Some("EU")),
        ("41.1.2.3", Some("AF")),
        ("200.160.1.1", Some("SA")),
        ("202.12.27.33", Some("AS")),
        ("2001:db8:a0::1", Some("AN")),
        ("::ffff:8.8.8.4", Some("NA")),
        ("127.0.0.1", None),
        ("192.168.1.1", None),
        ("9.9.9.9", None),
        ("::1", None),
    ];

    #[test]
    fn quays_iplocate_layout_and_maxminds_layout_resolve_every_continent() {
        for file in ["ip-to-country.mmdb", "geolite2-country.mmdb"] {
            let db = fixture(file);
            for (ip, want) in CASES {
                assert_eq!(
                    db.continent(ip.parse().unwrap()).as_deref(),
                    *want,
                    "{file}: {ip}"
                );
            }
        }
        assert_eq!(
            fixture("ip-to-country.mmdb").database_type(),
            "iplocate-ip-to-country"
        );
    }

    #[test]
    fn a_file_that_is_not_a_database_is_refused() {
        assert!(matches!(
            GeoIpDatabase::from_bytes(b"{\"prefixes\": []}".to_vec()),
            Err(GeoIpError::Format(_))
        ));
        assert!(matches!(
            GeoIpDatabase::from_bytes(Vec::new()),
            Err(GeoIpError::Format(_))
        ));
        assert!(matches!(
            GeoIpDatabase::from_file(std::path::Path::new("/nonexistent/ip-to-country.mmdb")),
            Err(GeoIpError::Io { .. })
        ));
    }

    #[test]
    fn the_resolver_combines_aws_ranges_and_geoip() {
        let ranges =
            AwsIpRanges::parse(include_bytes!("../tests/fixtures/aws-ip-ranges.json")).unwrap();
        let r = IpResolver::new(Some(ranges), Some(fixture("ip-to-country.mmdb")));
        assert_eq!(
            r.aws_region("4.0.0.2".parse().unwrap()).as_deref(),
            Some("us-east-1")
        );
        assert_eq!(
            r.aws_region("::ffff:4.0.0.2".parse().unwrap()).as_deref(),
            Some("us-east-1")
        );
        assert_eq!(
            r.continent("1.1.1.1".parse().unwrap()).as_deref(),
            Some("OC")
        );
        let none = IpResolver::default();
        assert!(none.is_empty());
        assert_eq!(none.continent("1.1.1.1".parse().unwrap()), None);
        assert_eq!(none.aws_region("4.0.0.2".parse().unwrap()), None);
    }
}
