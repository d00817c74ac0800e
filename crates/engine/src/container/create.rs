//! `POST /containers/create`: check everything, then write the container's directory, its rw
//! layer and its record — and undo all of it if any step fails.

use std::fs;

use api_types::{ContainerConfig, ContainerCreateRequest, ContainerCreateResponse};

use super::record::ContainerRecord;
use super::state::RunState;
use super::{checks, config, logdriver, names, rootfs, Container, ContainerService};
use crate::clock;
use crate::error::{Error, Result};
use crate::network::{write_initial_files, ContainerNet, InitialFiles};

impl ContainerService {
    /// Creates a container from `req`, named `name` or a generated name.
    #[tracing::instrument(skip(self, req), fields(image = %req.config.image))]
    pub async fn create(
        &self,
        name: Option<&str>,
        req: ContainerCreateRequest,
    ) -> Result<ContainerCreateResponse> {
        checks::check_create_request(&req)?;
        // Most creates are a `run`, whose start follows within milliseconds: the grace period
        // the start's cgroup move needs can begin now (see `runtime::cgroup::prime_migration`).
        tokio::task::spawn_blocking(runtime::cgroup::prime_migration);
        let ContainerCreateRequest {
            config: user_config,
            mut host_config,
            networking_config,
        } = req;
        // dockerd records the daemon's defaults, so inspect shows the modes in effect.
        if host_config.cgroupns_mode.is_empty() {
            host_config.cgroupns_mode = config::default_cgroupns_mode().to_string();
        }
        if host_config.ipc_mode.is_empty() {
            host_config.ipc_mode = "private".to_string();
        }
        // The runtime and log config in effect are recorded, as dockerd records them.
        let (runtime, _) = self.cfg.runtimes.resolve(&host_config.runtime)?;
        host_config.runtime = runtime.to_string();
        host_config.log_config = logdriver::merge(&host_config.log_config, &self.cfg.log);
        logdriver::validate(
            &host_config.log_config.r#type,
            &host_config.log_config.config,
        )?;
        let name = match name {
            Some(n) => Some(names::validate(n)?),
            None => None,
        };
        let image = self.images.resolve_for_create(&user_config.image).await?;
        let user_net = ContainerConfig {
            mac_address: user_config.mac_address.clone(),
            exposed_ports: user_config.exposed_ports.clone(),
            hostname: user_config.hostname.clone(),
            ..Default::default()
        };
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
        let (mounts, claims) = match self.resolve_mounts(&id, &host_config, &merged).await {
            Ok(m) => m,
            Err(e) => {
                self.release_name(&name, &id);
                return Err(e);
            }
        };
        let view = ContainerNet {
            id: &id,
            name: &name,
            hostname: &merged.hostname,
            domainname: &merged.domainname,
            host_config: &host_config,
            exposed: merged.exposed_ports.as_ref(),
            attachments: &[],
        };
        let mut hc = host_config.clone();
        let (networks, warnings) =
            match self.plan_network(view, &user_net, &mut hc, &networking_config) {
                Ok(p) => p,
                Err(e) => {
                    self.release_name(&name, &id);
                    return Err(e);
                }
            };
        let host_config = hc;
        // API ≥ 1.44 keeps the MAC per endpoint only (dockerd clears the container-wide one).
        merged.mac_address = None;
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
            health: None,
            mounts,

            networks,
            networks_recorded: true,
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
        claims.keep();
        self.publish(&record, "create");
        Ok(ContainerCreateResponse { id, warnings })
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
        fs::create_dir_all(paths.rootfs()).map_err(|e| Error::file(paths.rootfs(), e))?;
        let files = InitialFiles {
            hostname: &record.config.hostname,
            domainname: &record.config.domainname,
            host_config: &record.host_config,
        };
        let gateway = self.networks.host_gateway();
        if let Err(e) = write_initial_files(self.networks.config(), &gateway, &paths.dir, &files) {
            let _ = fs::remove_dir_all(&paths.dir);
            return Err(e.into());
        }
        let store = self.store.clone();
        let volumes = self.volumes.clone();
        let rec = record.clone();
        let paths2 = paths.clone();
        let result = tokio::task::spawn_blocking(move || -> Result<()> {
            rootfs::prepare(&store, &rec, top_layer.as_deref())?;
            // Fresh volumes get the image's content at their path once the rootfs exists. The
            // record is already durable: a copy-up cut short by a crash is redone at start.
            if let Err(e) = super::volumes::copy_up(store.clone(), volumes, &rec, &paths2) {
                let _ = rootfs::delete_record(&store, &rec.id, &rec.name);
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
