//! The table of a daemon's containers: by id and by name. The container service fills it (at
//! restore, create, rename, remove); other services read it through the narrow
//! [`UsageIndex`] seam, so the table is built before either service and handed to both.

use std::collections::HashMap;
use std::sync::{Arc, RwLock, RwLockReadGuard, RwLockWriteGuard};

use super::Container;
use crate::usage::{Resource, UsageIndex, User};

/// Containers by id, and names to ids.
#[derive(Default)]
pub(crate) struct Index {
    pub by_id: HashMap<String, Arc<Container>>,
    pub names: HashMap<String, String>,
}

/// Every container of the daemon.
#[derive(Default)]
pub struct ContainerTable {
    index: RwLock<Index>,
}

impl ContainerTable {
    /// An empty table.
    pub fn new() -> Arc<ContainerTable> {
        Arc::new(ContainerTable::default())
    }

    pub(crate) fn read(&self) -> RwLockReadGuard<'_, Index> {
        self.index.read().unwrap_or_else(|e| e.into_inner())
    }

    pub(crate) fn write(&self) -> RwLockWriteGuard<'_, Index> {
        self.index.write().unwrap_or_else(|e| e.into_inner())
    }

    /// Every container, in no particular order.
    pub fn all(&self) -> Vec<Arc<Container>> {
        self.read().by_id.values().cloned().collect()
    }
}

impl UsageIndex for ContainerTable {
    fn users(&self, resource: Resource<'_>) -> Vec<User> {
        self.all()
            .into_iter()
            .map(|c| c.view())
            .filter(|r| match resource {
                Resource::Image(id) => r.image_id == id,
            })
            .map(|r| User {
                container_id: r.id.clone(),
                running: r.state.status().is_running(),
            })
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::container::record::ContainerRecord;
    use crate::container::state::RunState;

    fn record(id: &str, image_id: &str) -> ContainerRecord {
        ContainerRecord {
            id: id.into(),
            name: format!("n-{id}"),
            created: 0,
            image: "busybox".into(),
            image_id: image_id.into(),
            config: Default::default(),
            host_config: Default::default(),
            path: "sh".into(),
            args: vec![],
            state: RunState::default(),
            restart_count: 0,
            stopped_by_user: false,
            networks: Vec::new(),
            networks_recorded: true,
        }
    }

    #[test]
    fn users_of_an_image_are_the_containers_made_from_it() {
        let t = ContainerTable::new();
        for (id, image) in [("c1", "sha256:a"), ("c2", "sha256:b"), ("c3", "sha256:a")] {
            t.write()
                .by_id
                .insert(id.into(), Container::new(record(id, image)));
        }
        let mut users = t.users(Resource::Image("sha256:a"));
        users.sort_by(|a, b| a.container_id.cmp(&b.container_id));
        let ids: Vec<&str> = users.iter().map(|u| u.container_id.as_str()).collect();
        assert_eq!(ids, ["c1", "c3"]);
        assert!(
            users.iter().all(|u| !u.running),
            "created containers do not run"
        );
        assert!(t.users(Resource::Image("sha256:c")).is_empty());
    }
}
