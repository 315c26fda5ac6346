//! From a validated configuration to a ready application: open the store, seed it if it is empty,
//! put the configured facilities on the allow-list, load the allow-list (refusing an empty one)
//! and load the TLS files. The `serve` and `demo` commands and the integration tests all start
//! the server through here.

use std::sync::Arc;

use onshi_domain::date::Date;
use thiserror::Error;

use crate::auth::AllowList;
use crate::auth::allow_list::EmptyAllowList;
use crate::clock::Clock;
use crate::config::{Config, ConfigError};
use crate::seed::{self, SeedError, SeedReport, SeedSpec};
use crate::service::App;
use crate::store::{Store, StoreError};
use crate::transport::{self, TlsError};

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
}

/// A ready application and its TLS configuration (`None` in plaintext mode).
#[derive(Debug)]
pub struct Booted {
    pub app: App,
    pub tls: Option<Arc<rustls::ServerConfig>>,
    /// What seeding did, if the store needed it.
    pub seeded: SeedReport,
}

/// Prepares the server described by `config`. `progress` hears seeding progress (people written).
pub fn boot(config: &Config, clock: Arc<Clock>, progress: impl FnMut(u64)) -> Result<Booted, BootError> {
    let tls_files = config.validate()?;
    clock.advance(config.clock_offset_seconds);
    let tls = match tls_files {
        Some(files) => {
            let read = |p: &std::path::Path| std::fs::read(p).map_err(|e| BootError::ReadTls(p.to_owned(), e));
            Some(transport::server_config(&read(&files.ca)?, &read(&files.cert)?, &read(&files.key)?)?)
        }
        None => None,
    };
    let store = Arc::new(Store::open(&config.data_dir, config.store_options())?);
    let today: Date = clock.now().date();
    let seeded = seed::seed(
        &store,
        SeedSpec { seed: config.population.seed, persons: config.population.persons, as_of: today },
        progress,
    )?;
    if !config.facilities.is_empty() {
        store.put_facilities(&config.facilities)?;
    }
    let allow_list = Arc::new(AllowList::new(store.facilities()?)?);
    let population_seed = store.population()?.map_or(config.population.seed, |p| p.seed);
    let app = App {
        store,
        allow_list,
        clock,
        check_digits: config.check_digits,
        population_seed,
        bulk_processing_secs: i64::from(config.bulk_processing_seconds),
    };
    Ok(Booted { app, tls, seeded })
}
