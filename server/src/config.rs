//! The server's configuration file (TOML) and the rules that refuse an unsafe one: plaintext only
//! on loopback addresses, TLS files present otherwise, an allow-list that is never empty.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};

use onshi_domain::facility::Facility;
use onshi_domain::ids::CheckDigits;
use serde::{Deserialize, Serialize};
use thiserror::Error;

use onshi_domain::fees::FeeRules;
use onshi_domain::result_codes::{ResultCodes, ResultKey};

use onshi_store::{Compression, StoreOptions};

/// One entry of a result-codes file.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct CodeEntry {
    code: String,
    message: String,
}

/// Applies a result-codes table (`[key] code = "…" message = "…"`) to `table`.
pub fn apply_result_codes(table: &mut ResultCodes, text: &str) -> Result<(), String> {
    let entries: std::collections::BTreeMap<String, CodeEntry> = toml::from_str(text).map_err(|e| e.to_string())?;
    for (name, entry) in entries {
        let key = ResultKey::from_name(&name).ok_or_else(|| format!("unknown result {name:?}"))?;
        table.set(key, entry.code, entry.message);
    }
    Ok(())
}

#[derive(Debug, Error)]
pub enum ConfigError {
    #[error("{0}: {1}")]
    Read(PathBuf, std::io::Error),
    #[error("{0}: {1}")]
    Parse(PathBuf, toml::de::Error),
    #[error("plaintext mode is for local debugging and listens on loopback addresses only; {0} is not one")]
    PlaintextNotLoopback(SocketAddr),
    #[error("TLS needs tls.ca, tls.cert and tls.key (or tls.plaintext = true on a loopback address)")]
    MissingTlsFiles,
    #[error("the admin listener in plaintext mode listens on loopback addresses only; {0} is not one")]
    AdminPlaintextNotLoopback(SocketAddr),
    #[error("the admin listener with mode = \"mtls\" needs tls.ca, tls.cert and tls.key")]
    AdminMissingTls,
    #[error("[metrics] listen (/metrics and the admin page) takes loopback addresses only; {0} is not one")]
    MetricsNotLoopback(SocketAddr),
    #[error("result codes file {0}: {1}")]
    ResultCodes(PathBuf, String),
    #[error("fee rules file {0}: {1}")]
    FeeRules(PathBuf, String),
}

/// The whole configuration. Every field has a default, so an empty file is valid for a
/// plaintext-free setup once TLS files are named.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Config {
    /// Address to listen on for the facility API.
    pub listen: SocketAddr,
    /// Directory of the RocksDB store.
    pub data_dir: PathBuf,
    pub tls: TlsConfig,
    /// Check-digit validation of 保険者番号 and 医療機関コード: "strict" or "lenient". A facility's
    /// own entry may override it.
    pub check_digits: CheckDigits,
    pub store: StoreConfig,
    /// The population seeded into an empty store at start.
    pub population: PopulationConfig,
    /// How long a 一括照会 job answers "processing" (SegmentOfResult 2) after its upload, seconds.
    pub bulk_processing_seconds: u32,
    /// Shift the server's clock by this many seconds (to rehearse another day or a consent's
    /// expiry). Everything the server dates follows it.
    pub clock_offset_seconds: i64,
    /// A result-codes table (see result-codes.toml) replacing the built-in codes and messages.
    pub result_codes: Option<PathBuf>,
    /// A fee-rules table (see fee-rules.toml and docs/fees.md) replacing the built-in one; a file
    /// that does not pass the table's checks stops the server at start.
    pub fee_rules: Option<PathBuf>,
    pub admin: AdminConfig,
    pub journal: JournalConfig,
    pub limits: LimitsConfig,
    pub metrics: MetricsConfig,
    /// "text" (default) or "json" (one JSON object per line) for the log on stderr.
    pub log_format: LogFormat,
    /// Facilities added to (or updated on) the allow-list at start.
    pub facilities: Vec<Facility>,
}

/// How the admin listener is reached.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum AdminMode {
    /// No TLS, loopback addresses only.
    Plaintext,
    /// Mutual TLS with the configured CA; only the certificate whose CommonName is "onshi-admin".
    Mtls,
    /// No admin listener.
    Off,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct AdminConfig {
    /// Address of the admin listener (its own port; never the facility listener).
    pub listen: SocketAddr,
    pub mode: AdminMode,
}

impl Default for AdminConfig {
    fn default() -> Self {
        AdminConfig { listen: SocketAddr::from(([127, 0, 0, 1], 50052)), mode: AdminMode::Plaintext }
    }
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct JournalConfig {
    /// Record facility requests (switch off for load tests).
    pub enabled: bool,
    /// The journal keeps the newest entries within this many bytes.
    pub max_bytes: usize,
}

impl Default for JournalConfig {
    fn default() -> Self {
        JournalConfig { enabled: true, max_bytes: 4 << 20 }
    }
}

/// The Prometheus endpoint.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct MetricsConfig {
    /// Serve `/metrics` (Prometheus text format) and the admin page (`/`, when the admin API is
    /// in plaintext mode) over HTTP here: loopback addresses only. None (the default for
    /// `serve`): no metrics are recorded at all, and there is no admin page.
    pub listen: Option<SocketAddr>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum LogFormat {
    #[default]
    Text,
    Json,
}

/// Load shedding: calls past these limits get RESOURCE_EXHAUSTED with a RetryInfo.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct LimitsConfig {
    /// A call that has waited this many milliseconds before its handler could run is shed: the
    /// server is behind (0: never).
    pub max_queue_ms: u64,
    /// Facility calls in flight in total (0: unlimited).
    pub max_in_flight: usize,
    /// Calls in flight per facility, so that one facility can never take every permit and lock
    /// the others out (0, the default: a quarter of `max_in_flight`; the real terminal allows 20
    /// sessions). A ConfirmStream holds one for its life.
    pub facility_max_in_flight: usize,
    /// HTTP/2 streams one connection may have open at once (advertised in SETTINGS).
    pub max_concurrent_streams: u32,
    /// The largest request header block, in bytes (advertised in SETTINGS).
    pub max_header_list_bytes: u32,
    /// Connections one peer address may hold at once, counted from before the TLS handshake.
    pub max_connections_per_peer: usize,
    /// A unary call must be complete (request body received, answer ready) within this many
    /// seconds; a client that sends its body slower is cut off with DEADLINE_EXCEEDED.
    pub request_timeout_seconds: u64,
    /// A ConfirmStream that sends no message for this many seconds is ended (DEADLINE_EXCEEDED).
    pub stream_idle_seconds: u64,
    /// A ConfirmStream lives at most this many seconds; the client opens a new one.
    pub stream_lifetime_seconds: u64,
    /// The largest request message of every method but the two below, in bytes.
    pub max_message_bytes: usize,
    /// The largest BulkConfirmUpload (10,000 search infos), RegisterReferenceNumbers and
    /// ComputeAdditions (100,000 visits) message.
    pub max_bulk_message_bytes: usize,
}

impl Default for LimitsConfig {
    fn default() -> Self {
        LimitsConfig {
            max_queue_ms: 50,
            max_in_flight: 512,
            facility_max_in_flight: 0,
            max_concurrent_streams: 128,
            max_header_list_bytes: 16 * 1024,
            max_connections_per_peer: 256,
            request_timeout_seconds: 60,
            stream_idle_seconds: 60,
            stream_lifetime_seconds: 3600,
            max_message_bytes: 64 * 1024,
            max_bulk_message_bytes: 4 << 20,
        }
    }
}

#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct TlsConfig {
    /// Serve without TLS; facilities then name themselves with the x-onshi-facility header.
    /// Allowed only on loopback addresses.
    pub plaintext: bool,
    /// CA certificate(s) that issue facility client certificates (PEM).
    pub ca: Option<PathBuf>,
    /// The server's certificate chain (PEM).
    pub cert: Option<PathBuf>,
    /// The server's private key (PEM).
    pub key: Option<PathBuf>,
    /// A certificate revocation list (PEM or DER) of the CA: facility certificates whose serials
    /// it lists are refused on every call (PERMISSION_DENIED, CERTIFICATE_REVOKED). Read at start.
    pub crl: Option<PathBuf>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct StoreConfig {
    /// Shared RocksDB block cache, MiB.
    pub block_cache_mb: usize,
    /// RocksDB's row cache (whole values of point reads), MiB; 0 for none.
    pub row_cache_mb: usize,
    /// fsync every write (survive power loss, not only a killed process).
    pub sync_writes: bool,
    /// "none" (default) or "lz4": LZ4 saves about 37 % of the disk, seeding is about 1.5 times
    /// slower, lookups cost the same.
    pub compression: Compression,
    /// Keep RocksDB's statistics and show block-cache hits and misses on `/metrics`
    /// (`onshi_store_block_cache_hits` and `_misses`, by block kind). Off by default: every read
    /// then also counts into shared tickers.
    pub statistics: bool,
    /// Read the store's files with O_DIRECT, bypassing the page cache: for stores much larger
    /// than memory, with the memory given to `block_cache_mb` instead (see BENCHMARKS.md's
    /// national-scale runs).
    pub direct_reads: bool,
}

impl Default for StoreConfig {
    fn default() -> Self {
        StoreConfig {
            block_cache_mb: 256,
            row_cache_mb: 64,
            sync_writes: false,
            compression: Compression::None,
            statistics: false,
            direct_reads: false,
        }
    }
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct PopulationConfig {
    pub seed: u64,
    pub persons: u64,
}

impl Default for PopulationConfig {
    fn default() -> Self {
        PopulationConfig { seed: 1, persons: 100_000 }
    }
}

impl Default for Config {
    fn default() -> Self {
        Config {
            listen: SocketAddr::from(([127, 0, 0, 1], 50051)),
            data_dir: PathBuf::from("onshi-data"),
            tls: TlsConfig::default(),
            check_digits: CheckDigits::Strict,
            store: StoreConfig::default(),
            population: PopulationConfig::default(),
            bulk_processing_seconds: 3,
            clock_offset_seconds: 0,
            result_codes: None,
            fee_rules: None,
            admin: AdminConfig::default(),
            journal: JournalConfig::default(),
            limits: LimitsConfig::default(),
            metrics: MetricsConfig::default(),
            log_format: LogFormat::Text,
            facilities: Vec::new(),
        }
    }
}

/// The TLS files of a validated configuration.
#[derive(Debug, Clone)]
pub struct TlsFiles {
    pub ca: PathBuf,
    pub cert: PathBuf,
    pub key: PathBuf,
}

impl Config {
    pub fn load(path: &Path) -> Result<Config, ConfigError> {
        let text = std::fs::read_to_string(path).map_err(|e| ConfigError::Read(path.to_owned(), e))?;
        toml::from_str(&text).map_err(|e| ConfigError::Parse(path.to_owned(), e))
    }

    /// The TLS files, or `None` for a permitted plaintext setup; refuses anything fail-open.
    pub fn validate(&self) -> Result<Option<TlsFiles>, ConfigError> {
        match self.admin.mode {
            AdminMode::Plaintext if !self.admin.listen.ip().is_loopback() => {
                return Err(ConfigError::AdminPlaintextNotLoopback(self.admin.listen));
            }
            AdminMode::Mtls if self.tls.ca.is_none() || self.tls.cert.is_none() || self.tls.key.is_none() => {
                return Err(ConfigError::AdminMissingTls);
            }
            _ => {}
        }
        if let Some(listen) = self.metrics.listen
            && !listen.ip().is_loopback()
        {
            return Err(ConfigError::MetricsNotLoopback(listen));
        }
        if self.tls.plaintext {
            if !self.listen.ip().is_loopback() {
                return Err(ConfigError::PlaintextNotLoopback(self.listen));
            }
            return Ok(None);
        }
        match (&self.tls.ca, &self.tls.cert, &self.tls.key) {
            (Some(ca), Some(cert), Some(key)) => {
                Ok(Some(TlsFiles { ca: ca.clone(), cert: cert.clone(), key: key.clone() }))
            }
            _ => Err(ConfigError::MissingTlsFiles),
        }
    }

    /// The result codes in effect: the built-in table, with the file's entries replacing theirs.
    pub fn result_codes(&self) -> Result<ResultCodes, ConfigError> {
        let mut table = ResultCodes::default();
        let Some(path) = &self.result_codes else { return Ok(table) };
        let bad = |m: String| ConfigError::ResultCodes(path.clone(), m);
        let text = std::fs::read_to_string(path).map_err(|e| bad(e.to_string()))?;
        apply_result_codes(&mut table, &text).map_err(bad)?;
        Ok(table)
    }

    /// The fee rules in effect: the built-in table, or the configured file's (checked whole).
    pub fn fee_rules(&self) -> Result<FeeRules, ConfigError> {
        let Some(path) = &self.fee_rules else {
            return FeeRules::builtin()
                .cloned()
                .map_err(|e| ConfigError::FeeRules("fee-rules.toml".into(), e.to_string()));
        };
        let bad = |m: String| ConfigError::FeeRules(path.clone(), m);
        let text = std::fs::read_to_string(path).map_err(|e| bad(e.to_string()))?;
        FeeRules::from_toml(&text).map_err(|e| bad(e.to_string()))
    }

    pub fn store_options(&self) -> StoreOptions {
        StoreOptions {
            block_cache_bytes: self.store.block_cache_mb << 20,
            row_cache_bytes: self.store.row_cache_mb << 20,
            sync_writes: self.store.sync_writes,
            compression: self.store.compression,
            statistics: self.store.statistics,
            direct_reads: self.store.direct_reads,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn refuses_fail_open_settings() {
        let mut c = Config::default();
        assert!(matches!(c.validate(), Err(ConfigError::MissingTlsFiles)));
        c.tls.plaintext = true;
        assert!(matches!(c.validate(), Ok(None)));
        c.listen = "0.0.0.0:50051".parse().expect("addr");
        assert!(matches!(c.validate(), Err(ConfigError::PlaintextNotLoopback(_))));
        c.listen = "[::1]:50051".parse().expect("addr");
        assert!(matches!(c.validate(), Ok(None)));
        c.metrics.listen = Some("0.0.0.0:8090".parse().expect("addr"));
        assert!(matches!(c.validate(), Err(ConfigError::MetricsNotLoopback(_))));
        c.metrics.listen = Some("127.0.0.1:8090".parse().expect("addr"));
        assert!(matches!(c.validate(), Ok(None)));
    }

    #[test]
    fn the_shipped_result_codes_file_is_the_built_in_table() {
        let mut table = ResultCodes::default();
        apply_result_codes(&mut table, include_str!("../../result-codes.toml")).expect("parses");
        assert_eq!(table, ResultCodes::default());
        let mut edited = ResultCodes::default();
        apply_result_codes(&mut edited, "[certificate_revoked]\ncode = \"E1\"\nmessage = \"x\"\n").expect("parses");
        assert_eq!(edited.get(ResultKey::CertificateRevoked).code, "E1");
        assert!(apply_result_codes(&mut edited, "[nonsense]\ncode = \"1\"\nmessage = \"x\"\n").is_err());
    }

    #[test]
    fn a_fee_rules_file_replaces_the_table_and_a_bad_one_is_refused() {
        let dir = tempfile::tempdir().expect("temp dir");
        let path = dir.path().join("fee-rules.toml");
        let mut c = Config { fee_rules: Some(path.clone()), ..Config::default() };
        assert!(matches!(c.fee_rules(), Err(ConfigError::FeeRules(..))), "a missing file is refused");
        let shipped = include_str!("../../fee-rules.toml");
        std::fs::write(&path, shipped.replacen("points = 7", "points = 8", 1)).expect("write");
        let edited = c.fee_rules().expect("an edited table loads");
        assert_eq!(edited.rules()[0].points, 8);
        std::fs::write(&path, shipped.replacen("points = 7", "points = 0", 1)).expect("write");
        let err = c.fee_rules().expect_err("0 points is refused").to_string();
        assert!(err.contains("fee-rules.toml"), "{err}");
        c.fee_rules = None;
        assert_eq!(c.fee_rules().expect("built in").rules().len(), FeeRules::builtin().expect("valid").rules().len());
    }

    /// docs/configuration.md's example is a real configuration: it parses (unknown fields are
    /// refused, so a renamed field fails here), validates, and every default it shows is the
    /// default the code has.
    #[test]
    fn the_documented_example_is_the_real_configuration() {
        let doc = include_str!("../../docs/configuration.md");
        let start = doc.find("```toml\n").expect("a toml block") + "```toml\n".len();
        let end = start + doc[start..].find("```").expect("the block ends");
        let example: Config = toml::from_str(&doc[start..end]).expect("the documented example parses");
        example.validate().expect("the documented example is valid");
        let defaults = Config::default();
        assert_eq!(example.listen, defaults.listen);
        assert_eq!(example.limits.max_in_flight, defaults.limits.max_in_flight);
        assert_eq!(example.limits.max_message_bytes, defaults.limits.max_message_bytes);
        assert_eq!(example.admin.listen, defaults.admin.listen);
        assert_eq!(example.population.persons, defaults.population.persons);
    }

    #[test]
    fn parses_a_file_with_facilities() {
        let c: Config = toml::from_str(
            r#"
            listen = "127.0.0.1:6000"
            check_digits = "lenient"
            [tls]
            ca = "pki/ca.pem"
            cert = "pki/server.pem"
            key = "pki/server.key"
            [[facilities]]
            code = "1312345679"
            name = "オンシ内科クリニック"
            kind = "clinic"
            status = "active"
            "#,
        )
        .expect("parses");
        assert_eq!(c.check_digits, CheckDigits::Lenient);
        assert_eq!(c.facilities.len(), 1);
        assert!(c.validate().expect("valid").is_some());
        assert!(toml::from_str::<Config>("lisen = 1").is_err(), "unknown fields are refused");
    }

    #[test]
    fn store_compression_is_none_or_lz4() {
        assert_eq!(Config::default().store_options().compression, Compression::None);
        let c: Config = toml::from_str("[store]\ncompression = \"lz4\"\n").expect("parses");
        assert_eq!(c.store_options().compression, Compression::Lz4);
        assert!(toml::from_str::<Config>("[store]\ncompression = \"zstd\"\n").is_err());
    }
}

#[cfg(test)]
mod doc_tests {
    use super::*;

    #[test]
    fn the_documented_example_is_a_valid_configuration() {
        let doc = include_str!("../../docs/configuration.md");
        let start = doc.find("```toml\n").expect("a toml block") + 8;
        let end = start + doc[start..].find("```").expect("its end");
        let config: Config = toml::from_str(&doc[start..end]).expect("docs/configuration.md's example parses");
        assert_eq!(config.limits.max_concurrent_streams, LimitsConfig::default().max_concurrent_streams);
        assert_eq!(config.bulk_processing_seconds, 3);
        assert_eq!(config.log_format, LogFormat::Text);
    }
}
