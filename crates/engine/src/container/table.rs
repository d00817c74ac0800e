//! The table of a daemon's containers: by id and by name. The container service fills it (at
//! restore, create, rename, remove); other services read it through the narrow
//! [`UsageIndex`] seam, so the table is built before either service and handed to both.

use std::collections::HashMap;
use std::sync::{Arc, RwLock, RwLockReadGuard, RwLockWriteGuard};

use super::mounts::MountKind;
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
                Resource::Volume(name) => r
                    .mount_records()
                    .iter()
                    .any(|m| m.kind == MountKind::Volume && m.name == name),
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
            health: None,
            mounts: Vec::new(),

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

    #[test]
    fn users_of_a_volume_are_the_containers_that_mount_it() {
        use crate::container::mounts::{base, MountKind, MountRecord};
        let t = ContainerTable::new();
        let vol = |name: &str| MountRecord {
            name: name.into(),
            ..base(MountKind::Volume, "/data".into(), true)
        };
        let mut c1 = record("c1", "sha256:a");
        c1.mounts = vec![vol("data")];
        let mut c2 = record("c2", "sha256:a");
        c2.mounts = vec![MountRecord {
            source: "/srv/data".into(),
            name: "data".into(),
            ..base(MountKind::Bind, "/data".into(), true)
        }];
        let mut c3 = record("c3", "sha256:a");
        c3.mounts = vec![vol("other"), vol("data")];
        for c in [c1, c2, c3] {
            t.write().by_id.insert(c.id.clone(), Container::new(c));
        }
        let mut ids: Vec<String> = t
            .users(Resource::Volume("data"))
            .into_iter()
            .map(|u| u.container_id)
            .collect();
        ids.sort();
        assert_eq!(
            ids,
            ["c1", "c3"],
            "a bind named like the volume is not a user"
        );
        assert!(t.users(Resource::Volume("none")).is_empty());
    }
}
