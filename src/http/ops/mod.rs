//! Operations: readiness and liveness probes, Prometheus metrics, and the API documentation.

pub mod docs;
pub mod health;
pub mod metrics;
