//! The registry server's library: the OCI distribution API, storage drivers, auth, the search
//! index and the web UI behind `berth-registry`.
