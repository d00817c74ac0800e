//! `POST /containers/create`: check everything, then write the container's directory, its rw
//! layer and its record — and undo all of it if any step fails.

use std::fs;

use api_types::{ContainerCreateRequest, ContainerCreateResponse};

use super::record::ContainerRecord;
use super::state::RunState;
use super::{checks, config, files, names, rootfs, Container, ContainerService};
use crate::clock;
use crate::error::{Error, Result};

impl ContainerService {
    /// Creates a container from `req`, named `name` or a generated name.
    #[tracing::instrument(skip(self, req), fields(image = %req.config.image))]
    pub async fn create(
        &self,
        name: Option<&str>,
        req: ContainerCreateRequest,
    ) -> Result<ContainerCreateResponse> {
        checks::check_create_request(&req)?;
        let ContainerCreateRequest {
            config: user_config,
            mut host_config,
            ..
        } = req;
        // dockerd records the daemon's defaults, so inspect shows the modes in effect.
        if host_config.cgroupns_mode.is_empty() {
            host_config.cgroupns_mode = config::default_cgroupns_mode().to_string();
        }
        if host_config.ipc_mode.is_empty() {
            host_config.ipc_mode = "private".to_string();
        }
        let name = match name {
            Some(n) => Some(names::validate(n)?),
            None => None,
        };
        let image = self.images.resolve_for_create(&user_config.image).await?;
        let mut merged = config::merge(user_config, &image.defaults);
        let (path, args) = config::command_line(&merged)?;
        let id = names::new_id();
        if merged.hostname.is_empty() {
            merged.hostname =
                if host_config.network_mode == "host" || host_config.uts_mode == "host" {
                    nix::unistd::gethostname()
                        .map(|h| h.to_string_lossy().into_owned())
                        .unwrap_or_else(|_| id[..12].to_string())
                } else {
                    id[..12].to_string()
                };
        }

        let name = self.reserve_name(&id, name)?;
        let record = ContainerRecord {
            id: id.clone(),
            name: name.clone(),
            created: clock::now_nanos(),
            image: merged.image.clone(),
            image_id: image.id.clone(),
            config: merged,
            host_config,
            path,
            args,
            state: RunState::default(),
            restart_count: 0,
            stopped_by_user: false,
        };
        match self.materialise(&record, image.top_layer.clone()).await {
            Ok(()) => {}
            Err(e) => {
                self.release_name(&name, &id);
                return Err(e);
            }
        }
        let c = Container::new(record.clone());
        self.table.write().by_id.insert(id.clone(), c);
        self.publish(&record, "create");
        Ok(ContainerCreateResponse {
            id,
            warnings: Vec::new(),
        })
    }

    /// Holds `name` for `id` in the in-memory index (generating one if `None`); the database
    /// write that follows is the durable check.
    fn reserve_name(&self, id: &str, name: Option<String>) -> Result<String> {
        let mut idx = self.table.write();
        let name = match name {
            Some(n) => {
                if let Some(holder) = idx.names.get(&n) {
                    return Err(Error::NameInUse {
                        name: n,
                        holder: holder.clone(),
                    });
                }
                n
            }
            None => (0..100)
                .map(names::generate)
                .find(|n| !idx.names.contains_key(n))
                .ok_or(Error::NoFreeName)?,
        };
        idx.names.insert(name.clone(), id.to_string());
        Ok(name)
    }

    fn release_name(&self, name: &str, id: &str) {
        let mut idx = self.table.write();
        if idx.names.get(name).map(String::as_str) == Some(id) {
            idx.names.remove(name);
        }
    }

    /// Writes the directory, files, rw layer and record of a new container; on failure removes
    /// whatever was made.
    async fn materialise(&self, record: &ContainerRecord, top_layer: Option<String>) -> Result<()> {
        let paths = self.paths(&record.id);
        let own_netns = record.host_config.network_mode != "host";
        let host_resolv = fs::read_to_string("/etc/resolv.conf").unwrap_or_default();
        let hosts = if own_netns {
            files::hosts_content(
                None,
                record.host_config.extra_hosts.as_deref().unwrap_or(&[]),
            )?
        } else {
            fs::read_to_string("/etc/hosts").map_err(|e| Error::file("/etc/hosts", e))?
        };
        let resolv = files::resolv_content(
            &host_resolv,
            own_netns,
            record.host_config.dns.as_deref().unwrap_or(&[]),
            record.host_config.dns_search.as_deref().unwrap_or(&[]),
            record.host_config.dns_options.as_deref().unwrap_or(&[]),
        );
        fs::create_dir_all(paths.rootfs()).map_err(|e| Error::file(paths.rootfs(), e))?;
        let store = self.store.clone();
        let rec = record.clone();
        let hostname = record.config.hostname.clone();
        let dir = paths.dir.clone();
        let result = tokio::task::spawn_blocking(move || -> Result<()> {
            files::write_all(&dir, &hostname, &hosts, &resolv)?;
            rootfs::prepare(&store, &rec.id, top_layer.as_deref())?;
            if let Err(e) = rootfs::save_new_record(&store, &rec) {
                let _ = rootfs::remove(&store, &rec.id);
                return Err(e);
            }
            Ok(())
        })
        .await
        .map_err(Error::task("create"))?;
        if result.is_err() {
            let _ = fs::remove_dir_all(&paths.dir);
        }
        result
    }
}
