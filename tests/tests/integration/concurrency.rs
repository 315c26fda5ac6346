//! Every write path at once, from several clients over real mutual TLS: afterwards every
//! acknowledged write is read back and must be there, unique and intact (see
//! `onshi_tests::stress`; `onshi-stress --kill9` runs the same workload with a crash at a random
//! moment).

use std::time::Duration;

use onshi_tests::stress::{self, Mode, Target, Workload};

use crate::common::{PERSONS, SEED_OF_DEMO, TestServer};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn concurrent_writers_lose_nothing() {
    let server = TestServer::start_with(|c| {
        // Jobs are ready at once, so the check can download them without moving the clock;
        // no queue-delay shedding: on two shared cores it would refuse some of the writers.
        c.bulk_processing_seconds = 0;
        c.limits.max_queue_ms = 0;
        c.journal.enabled = false;
    })
    .await;
    let target = Target {
        addr: server.addr,
        admin_addr: server.admin_addr,
        pki_dir: server.pki.ca().parent().expect("pki dir").to_owned(),
        seed: SEED_OF_DEMO,
        persons: PERSONS,
        as_of: server.as_of(),
    };
    let ledger = stress::run(&target, Workload { duration: Duration::from_secs(3), salt: 1, mode: Mode::Strict }).await;
    // Enough of each kind to have raced.
    assert!(ledger.bulk.len() >= 40, "only {} uploads", ledger.bulk.len());
    assert!(ledger.persons.len() >= 30, "only {} people", ledger.persons.len());
    assert!(ledger.cards.values().map(Vec::len).sum::<usize>() >= 30, "only {:?} cards", ledger.cards);
    assert!(!ledger.references.is_empty() && !ledger.reads.is_empty() && !ledger.consents.is_empty());
    let problems = stress::verify(&target, &ledger).await.expect("verify");
    assert!(ledger.failures.is_empty(), "calls failed: {:#?}\nand found: {problems:#?}", ledger.failures);
    assert!(
        problems.is_empty(),
        "{} acknowledged writes are wrong or missing:\n{}",
        problems.len(),
        problems.join("\n")
    );
    server.stop().await;
}
