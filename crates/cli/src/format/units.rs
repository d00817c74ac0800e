//! Docker's units (go-units): re-exported from `api-types`, shared with the daemon.
pub use api_types::units::*;
