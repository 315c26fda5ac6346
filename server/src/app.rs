//! The server's shared state: the live store, the allow-list, the clock, faults, the journal,
//! readiness, admission and the rules in effect — what the operations and the services are given.
//! Knows no protobuf message and no tonic request.

use std::sync::Arc;

use onshi_domain::ids::CheckDigits;
use onshi_store::StoreHandle;

use crate::auth::AllowList;
use crate::clock::Clock;
use crate::errors::ServiceError;

/// Everything a request handler needs, shared by all services.
#[derive(Debug, Clone)]
pub struct App {
    /// The live store (swapped by reset and restore).
    pub store: Arc<StoreHandle>,
    pub allow_list: Arc<AllowList>,
    pub clock: Arc<Clock>,
    /// Check-digit validation for facilities whose entry does not say.
    pub check_digits: CheckDigits,
    /// The seed of the population in the store (medical histories are generated from it).
    pub population_seed: u64,
    /// How long a 一括照会 job answers "processing" after its upload.
    pub bulk_processing_secs: i64,
    /// The processing result codes and messages in effect.
    pub codes: Arc<onshi_domain::result_codes::ResultCodes>,
    /// Faults injected through the admin API.
    pub faults: Arc<crate::faults::Faults>,
    /// The request journal.
    pub journal: Arc<crate::journal::Journal>,
    /// Whether the facility API serves (seeding done, no outage), as health reports it.
    pub serving: Arc<Serving>,
    /// In-flight limits (load shedding).
    pub admission: Arc<crate::admission::Admission>,
    /// What one client may make the server hold: streams, bytes, time (see docs/configuration.md).
    pub limits: Arc<crate::config::LimitsConfig>,
    /// Revoked client certificates, checked on every call.
    pub revocations: Arc<crate::auth::Revocations>,
    /// The fee-addition rules in effect (FeeService).
    pub fee_rules: Arc<onshi_domain::fees::FeeRules>,
}

/// Readiness: the facility API answers once the store is seeded; health says SERVING when it is
/// ready and no outage fault is set. Changes are announced on a watch channel.
#[derive(Debug)]
pub struct Serving {
    ready: std::sync::atomic::AtomicBool,
    changed: tokio::sync::watch::Sender<()>,
}

impl Serving {
    pub fn new(ready: bool) -> Serving {
        Serving { ready: std::sync::atomic::AtomicBool::new(ready), changed: tokio::sync::watch::channel(()).0 }
    }

    pub fn ready(&self) -> bool {
        self.ready.load(std::sync::atomic::Ordering::Acquire)
    }

    pub fn set_ready(&self, ready: bool) {
        self.ready.store(ready, std::sync::atomic::Ordering::Release);
        self.changed.send_replace(());
    }

    /// Announces a change that may affect health (an outage fault set or cleared).
    pub fn notify(&self) {
        self.changed.send_replace(());
    }

    pub fn subscribe(&self) -> tokio::sync::watch::Receiver<()> {
        self.changed.subscribe()
    }
}

impl App {
    /// Whether health should say SERVING.
    pub fn healthy(&self) -> bool {
        self.serving.ready() && !self.faults.outage()
    }

    /// Reloads the allow-list from the live store (after reset or restore).
    pub fn reload_allow_list(&self) -> Result<(), ServiceError> {
        self.change_facilities(|_| Ok(()))
    }

    /// Changes the allow-list in the store and reloads it into memory, under the allow-list's
    /// write lock: a reload never installs a list read before another change was written.
    pub fn change_facilities(
        &self,
        change: impl FnOnce(&onshi_store::Store) -> Result<(), ServiceError>,
    ) -> Result<(), ServiceError> {
        let _writer = self.allow_list.writer();
        let store = self.store.get();
        change(&store)?;
        self.allow_list
            .replace(store.facilities()?)
            .map_err(|e| ServiceError::BadRequest(vec![("facilities".into(), e.to_string())]))
    }
}
