//! The seam between services that own shared objects (images, volumes; networks next) and
//! the containers that use them. `rmi`, `images`, `image prune` and `system df` ask "which
//! containers use this image?"; `volume rm`, `volume prune` and `volume ls -f dangling` ask
//! the same of volumes, and `network rm` will of networks. The service that owns an object
//! receives a [`UsageIndex`] at construction and asks it; it never points back at the
//! container service.
//!
//! Vocabulary: a [`Resource`] is the shared object asked about; a [`User`] is a container
//! that refers to it, with whether it runs (running users block removal even when forced).

/// A shared object containers can use.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Resource<'a> {
    /// An image, by its full id (`sha256:…`).
    Image(&'a str),
    /// A volume, by name.
    Volume(&'a str),
}

/// A container using a [`Resource`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct User {
    /// The container's full id.
    pub container_id: String,
    /// Whether a process of the container is alive (running, paused or restarting).
    pub running: bool,
}

/// Answers who uses a shared object. Implemented by the container table; fakes in tests.
pub trait UsageIndex: Send + Sync {
    /// The containers using `resource`, in no particular order.
    fn users(&self, resource: Resource<'_>) -> Vec<User>;
}
