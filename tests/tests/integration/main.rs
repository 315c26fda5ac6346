//! Black-box integration tests: the real server on 127.0.0.1:0 over real gRPC, real mutual TLS
//! and a real RocksDB. One test binary (linking is the slow part of a release test build).

mod access;
mod admin;
mod admin_page;
mod bad_input;
mod browser;
mod bulk;
mod common;
mod concurrency;
mod crash_loop;
mod fees;
mod fuzz;
mod history;
mod hostile;
mod medical;
mod overload;
mod qualification;
mod raw;
mod reference;
mod revocation;
mod stream;
mod tamper;
mod terminal;
