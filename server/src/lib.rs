//! onshi-server: a local stand-in for Japan's online qualification confirmation system.
//!
//! Layers, each depending only on those below: `onshi_domain` ← [`store`] ← [`service`] ← the
//! commands ([`boot`], [`demo`], `main.rs`). Only [`service`] sees protobuf types. The library's
//! entry is [`server::run`], which serves on a listener the caller bound, until a shutdown future
//! completes.

pub mod admission;
pub mod app;
pub mod auth;
pub mod boot;
pub mod clock;
pub mod config;
pub mod demo;
pub mod demo_terminals;
pub mod errors;
pub mod faults;
pub mod fees_cli;
pub mod journal;
pub mod limits;
pub mod metrics;
pub mod ops;
pub mod people;
pub mod pki;
pub mod running;
pub mod server;
pub mod service;
pub mod transport;
pub mod verify;
pub mod web;

pub use server::run;
