//! From a validated configuration to a ready application: open the store, seed it if it is empty,
//! put the configured facilities on the allow-list, load the allow-list (refusing an empty one)
//! and load the TLS files. The `serve` and `demo` commands and the integration tests all start
//! the server through here.

use std::sync::Arc;

use onshi_domain::date::Date;
use thiserror::Error;

use crate::app::App;
use crate::auth::AllowList;
use crate::auth::allow_list::EmptyAllowList;
use crate::clock::Clock;
use crate::config::{Config, ConfigError};
use crate::transport::{self, TlsError};
use onshi_store::seed::{SeedError, SeedReport, SeedSpec};
use onshi_store::{StoreError, StoreHandle};

#[derive(Debug, Error)]
pub enum BootError {
    #[error(transparent)]
    Config(#[from] ConfigError),
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error("seeding: {0}")]
    Seed(#[from] SeedError),
    #[error(transparent)]
    EmptyAllowList(#[from] EmptyAllowList),
    #[error("{0}: {1}")]
    ReadTls(std::path::PathBuf, std::io::Error),
    #[error(transparent)]
    Tls(#[from] TlsError),
    #[error("revoked certificates: {0}")]
    Revocations(#[from] crate::auth::revocation::RevocationError),
}

/// A ready application and its TLS configuration (`None` in plaintext mode).
#[derive(Debug)]
pub struct Booted {
    pub app: App,
    pub tls: Option<Arc<rustls::ServerConfig>>,
    /// What seeding did, if the store needed it.
    pub seeded: SeedReport,
}

/// Opens everything `config` describes without seeding: the app answers UNAVAILABLE (and health
/// says NOT_SERVING) until [`seed_and_open`] has run, unless the store was seeded already.
pub fn prepare(config: &Config, clock: Arc<Clock>) -> Result<(App, Option<Arc<rustls::ServerConfig>>), BootError> {
    let tls_files = config.validate()?;
    clock.advance(config.clock_offset_seconds);
    let tls = match tls_files {
        Some(files) => {
            let read = |p: &std::path::Path| std::fs::read(p).map_err(|e| BootError::ReadTls(p.to_owned(), e));
            Some(transport::server_config(&read(&files.ca)?, &read(&files.cert)?, &read(&files.key)?)?)
        }
        None => None,
    };
    let store = Arc::new(StoreHandle::open(&config.data_dir, config.store_options())?);
    if !config.facilities.is_empty() {
        store.get().put_facilities(&config.facilities)?;
    }
    let allow_list = Arc::new(AllowList::new(store.get().facilities()?)?);
    let seeded = store
        .get()
        .population()?
        .is_some_and(|p| p.seed == config.population.seed && p.persons >= config.population.persons);
    let app = App {
        store,
        allow_list,
        clock,
        check_digits: config.check_digits,
        population_seed: config.population.seed,
        bulk_processing_secs: i64::from(config.bulk_processing_seconds),
        codes: Arc::new(config.result_codes()?),
        faults: Arc::new(crate::faults::Faults::new()),
        journal: Arc::new(crate::journal::Journal::new(config.journal.enabled, config.journal.max_bytes)),
        serving: Arc::new(crate::app::Serving::new(seeded)),
        admission: Arc::new(crate::admission::Admission::new(
            std::time::Duration::from_millis(config.limits.max_queue_ms),
            config.limits.max_in_flight,
            config.limits.facility_max_in_flight,
        )),
        limits: Arc::new(config.limits.clone()),
        revocations: Arc::new(crate::auth::Revocations::load(&config.data_dir, config.tls.crl.as_deref())?),
        fee_rules: Arc::new(config.fee_rules()?),
    };
    Ok((app, tls))
}

/// Seeds the store if it needs it, records the baseline, and opens the facility API.
pub fn seed_and_open(app: &App, config: &Config, progress: impl FnMut(u64)) -> Result<SeedReport, BootError> {
    let today: Date = app.clock.now().date();
    let spec = SeedSpec { seed: config.population.seed, persons: config.population.persons, as_of: today };
    let report = app.store.seed_and_baseline(spec, progress)?;
    app.serving.set_ready(true);
    Ok(report)
}

/// Prepares and seeds in one go (tests and benchmarks).
pub fn boot(config: &Config, clock: Arc<Clock>, progress: impl FnMut(u64)) -> Result<Booted, BootError> {
    let (app, tls) = prepare(config, clock)?;
    let seeded = seed_and_open(&app, config, progress)?;
    Ok(Booted { app, tls, seeded })
}
