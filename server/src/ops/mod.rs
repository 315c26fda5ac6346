//! The operations: what the admin API and the facility services do, as use cases in domain terms.
//! They take validated domain values, the clock's `now` (or today) as a parameter, and the store
//! (or, for the allow-list, the shared [`App`](crate::app::App)); they answer with domain values
//! or a [`ServiceError`](crate::errors::ServiceError). No protobuf message and no tonic type
//! reaches this layer: the services above translate, so the rules here can be called from a
//! test, the admin page or a command without a request.

pub mod confirm;
pub mod facilities;
pub mod history;
pub mod people;
pub mod records;
pub mod reference;
