//! The Engine API over HTTP: axum routes on top of the engine services, `/vX.Y` prefixes,
//! `/_ping` headers, error kind → HTTP status (the only place), streamed JSON and hijacked
//! attach (`101 UPGRADED`).
