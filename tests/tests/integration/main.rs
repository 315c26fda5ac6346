//! Black-box integration tests: the real server on 127.0.0.1:0 over real gRPC, real mutual TLS
//! and a real RocksDB. One test binary (linking is the slow part of a release test build).

mod access;
mod admin;
mod bad_input;
mod bulk;
mod common;
mod concurrency;
mod history;
mod medical;
mod overload;
mod qualification;
mod reference;
mod stream;
