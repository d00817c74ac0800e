//! The registry client: talks the OCI distribution API (and Docker's registry v2 dialect) to
//! registries, for pull, push, login and search. It knows nothing of the store: the engine
//! hands it references and byte streams and glues the results into images.
//!
//! Vocabulary:
//! - a **registry** is a host (`docker.io`, `127.0.0.1:5000`) serving `/v2/`; its **endpoints**
//!   are the URLs a request may go to: the configured **mirrors** first (pull only), then the
//!   **origin**;
//! - a registry is **insecure** when it may be reached over plain HTTP or with unverified TLS
//!   (`insecure-registries`, and 127.0.0.0/8 by default); a **certs.d** directory per host
//!   (`<certs-dir>/<host>/ca.crt`, `client.cert`, `client.key`) adds trust and client identity;
//! - **credentials** ([`AuthConfig`]) are what the docker CLI sends in `X-Registry-Auth`; a
//!   **challenge** is a registry's `WWW-Authenticate` answer (Basic, or Bearer with a token
//!   **realm**, **service** and **scope**);
//! - a [`Repository`] is one repository on one registry, with the credentials and scope of
//!   one operation (pull, or pull+push).
//!
//! Modules: [`options`] (daemon settings: insecure registries, mirrors, certs.d, limits),
//! [`auth`] (credentials, challenges, tokens), [`registry`] (clients and endpoints),
//! [`repository`] (manifests, blobs, uploads, tags), [`search`] and [`login`], [`error`].

pub mod auth;
pub mod error;
pub mod login;
pub mod options;
pub mod registry;
pub mod repository;
pub mod search;

pub use auth::{AuthConfig, Credentials};
pub use error::{Error, Result};
pub use options::RegistryOptions;
pub use registry::Registries;
pub use repository::{BlobBody, Mount, Repository, Upload};
pub use search::{SearchResult, SearchResults};

pub use errdefs::ErrorKind;
