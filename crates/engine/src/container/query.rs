//! Read-mostly operations: list, inspect, top; and the small ones: rename, resize.

use api_types::{ContainerInspect, ContainerSummary, ContainerTopResponse, Filters};

use super::networking::net_view;
use super::state::Status;
use super::{names, rootfs, ContainerService};
use crate::error::{Error, Result};

/// Options of list.
#[derive(Debug, Clone, Default)]
pub struct ListOptions {
    pub all: bool,
    pub limit: Option<usize>,
    pub size: bool,
    pub filters: Filters,
}

const LIST_FILTERS: &[&str] = &[
    "id", "name", "label", "status", "exited", "ancestor", "before", "since", "health", "network",
    "volume", "is-task", "publish", "expose",
];

impl ContainerService {
    /// `GET /containers/json`: newest first, running only unless `all` (or a limit/filter
    /// that implies it, as dockerd does).
    pub async fn list(&self, opts: ListOptions) -> Result<Vec<ContainerSummary>> {
        let f = &opts.filters;
        f.validate(LIST_FILTERS).map_err(Error::from)?;
        for s in f.get("status") {
            if Status::parse(s).is_none() {
                return Err(Error::invalid(format!("invalid filter 'status={s}'")));
            }
        }
        for h in f.get("health") {
            if !matches!(h, "starting" | "healthy" | "unhealthy" | "none") {
                return Err(Error::invalid(format!(
                    "Unrecognised filter value for health: {h}"
                )));
            }
        }
        let exited: Vec<i64> = f
            .get("exited")
            .map(|v| {
                v.parse()
                    .map_err(|_| Error::invalid(format!("invalid filter 'exited={v}'")))
            })
            .collect::<Result<_>>()?;
        let ancestors: Vec<String> = {
            let mut ids = Vec::new();
            for a in f.get("ancestor") {
                if let Ok(id) = self.images.resolve_id(a).await {
                    ids.push(id);
                }
            }
            ids
        };
        let all = opts.all || opts.limit.is_some() || f.contains("status") || f.contains("exited");
        let mut rows: Vec<_> = self.all().into_iter().map(|c| c.view()).collect();
        rows.sort_by_key(|r| std::cmp::Reverse(r.created));
        // A linked container is also listed under its links' names (`/web/db`).
        let mut link_names: std::collections::HashMap<String, Vec<String>> = Default::default();
        for r in &rows {
            for l in r.host_config.links.iter().flatten() {
                if let Some((child, name)) = l.split_once(':') {
                    link_names
                        .entry(child.trim_start_matches('/').to_string())
                        .or_default()
                        .push(name.to_string());
                }
            }
        }
        let mut out = Vec::new();
        for r in rows {
            if !all && !r.state.status().is_running() {
                continue;
            }
            if f.contains("id") && !f.get("id").any(|p| r.id.starts_with(p)) {
                continue;
            }
            if f.contains("name")
                && !f
                    .get("name")
                    .any(|p| r.name.contains(p.trim_start_matches('/')))
            {
                continue;
            }
            let labels = r.config.labels.clone().unwrap_or_default();
            if !f.match_labels(&labels) {
                continue;
            }
            if f.contains("status") && !f.get("status").any(|s| s == r.state.status().as_str()) {
                continue;
            }
            if f.contains("health") {
                let h = r.health.as_ref().map_or("none", |h| h.status().as_str());
                if !f.get("health").any(|x| x == h) {
                    continue;
                }
            }
            let exited_match = r.state.status() == Status::Exited
                && r.state.started_at() != 0
                && exited.contains(&r.state.exit_code());
            if !exited.is_empty() && !exited_match {
                continue;
            }
            if f.contains("ancestor")
                && !(ancestors.contains(&r.image_id) || f.get("ancestor").any(|a| a == r.image))
            {
                continue;
            }
            let sizes = if opts.size {
                Some((
                    self.rw_size(&r.id).await.unwrap_or(0),
                    self.root_size(&r).await,
                ))
            } else {
                None
            };
            let mut row = r.summary(sizes);
            row.names
                .extend(link_names.get(&r.name).into_iter().flatten().cloned());
            // dockerd's name index is ordered: `/app/data` before `/db`.
            row.names.sort();
            row.ports = self.networks.ports_of(&r.id);
            row.network_settings.networks = self.networks.endpoints_of(&net_view(&r));
            out.push(row);
            if opts.limit.is_some_and(|l| out.len() >= l) {
                break;
            }
        }
        Ok(out)
    }

    /// Bytes in the container's rw layer.
    pub(crate) async fn rw_size(&self, id: &str) -> Result<i64> {
        let store = self.store.clone();
        let id = id.to_string();
        tokio::task::spawn_blocking(move || rootfs::usage(&store, &id))
            .await
            .map_err(Error::task("usage"))?
    }

    async fn root_size(&self, r: &super::record::ContainerRecord) -> i64 {
        let rw = self.rw_size(&r.id).await.unwrap_or(0);
        rw + self.images.size_of(&r.image_id).await.unwrap_or(0)
    }

    /// `GET /containers/{id}/json`.
    pub async fn inspect(&self, key: &str, size: bool) -> Result<ContainerInspect> {
        let c = self.get(key)?;
        let r = c.view();
        let sizes = if size {
            Some((
                self.rw_size(&r.id).await.unwrap_or(0),
                self.root_size(&r).await,
            ))
        } else {
            None
        };
        let mut inspect = r.inspect(&self.paths(&r.id), sizes);
        inspect.exec_ids = self.execs.live_ids(&r.id);
        inspect.network_settings = self.networks.settings(&net_view(&r));
        Ok(inspect)
    }

    /// `POST /containers/{id}/rename`.
    pub async fn rename(&self, key: &str, new_name: &str) -> Result<()> {
        let c = self.get(key)?;
        let new_name = names::validate(new_name)?;
        let mut inner = c.inner.lock().await;
        let old = inner.record.name.clone();
        if old == new_name {
            return Err(Error::invalid(
                "Renaming a container with the same name as its current name",
            ));
        }
        {
            let mut idx = self.table.write();
            if let Some(holder) = idx.names.get(&new_name) {
                return Err(Error::NameInUse {
                    name: new_name,
                    holder: holder.clone(),
                });
            }
            idx.names.insert(new_name.clone(), c.id.clone());
        }
        inner.record.name = new_name.clone();
        let networks_before = inner.record.networks.clone();
        for i in 0..inner.record.networks.len() {
            if !inner.record.networks[i].dns_names.is_empty() {
                let aliases = inner.record.networks[i].aliases.clone();
                let names = crate::network::dns_names(&net_view(&inner.record), &aliases);
                inner.record.networks[i].dns_names = names;
            }
        }
        let store = self.store.clone();
        let rec = inner.record.clone();
        let old2 = old.clone();
        let res = tokio::task::spawn_blocking(move || rootfs::rename_record(&store, &rec, &old2))
            .await
            .map_err(Error::task("rename"))?;
        {
            let mut idx = self.table.write();
            match &res {
                Ok(()) => idx.names.remove(&old),
                Err(_) => idx.names.remove(&new_name),
            };
        }
        match res {
            Ok(()) => {
                c.set_view(&inner.record);
                self.networks.renamed(&net_view(&inner.record)).await;
                let mut attrs = std::collections::BTreeMap::new();
                attrs.insert("oldName".to_string(), format!("/{old}"));
                attrs.insert("name".to_string(), new_name);
                self.events.publish("container", "rename", &c.id, attrs);
                Ok(())
            }
            Err(e) => {
                inner.record.name = old;
                inner.record.networks = networks_before;
                Err(e)
            }
        }
    }

    /// `POST /containers/{id}/resize`.
    pub async fn resize(&self, key: &str, height: u16, width: u16) -> Result<()> {
        let c = self.get(key)?;
        let shim = c.inner.lock().await.shim.clone();
        match shim {
            Some(s) => s.resize(height, width).await,
            None => Err(Error::Conflict(format!(
                "Container {} is not running",
                c.id
            ))),
        }
    }

    /// `GET /containers/{id}/top`: `ps` on the host, keeping the container's processes.
    pub async fn top(&self, key: &str, ps_args: &str) -> Result<ContainerTopResponse> {
        let c = self.get(key)?;
        let pids = {
            let inner = c.inner.lock().await;
            if !inner.record.state.status().is_running() {
                return Err(Error::Conflict(format!(
                    "Container {} is not running",
                    c.id
                )));
            }
            super::shim::container_pids(&self.cfg, &c.id, inner.record.state.pid())
        };
        let args: Vec<String> = ps_args.split_whitespace().map(str::to_string).collect();
        let out = tokio::process::Command::new("ps")
            .args(&args)
            .output()
            .await
            .map_err(|e| Error::io("running ps", e))?;
        if !out.status.success() {
            return Err(Error::Ps(
                String::from_utf8_lossy(&out.stderr).trim().to_string(),
            ));
        }
        parse_ps(&String::from_utf8_lossy(&out.stdout), &pids)
    }
}

/// Keeps the rows of `ps` output whose PID column is one of `pids`.
pub fn parse_ps(out: &str, pids: &[i64]) -> Result<ContainerTopResponse> {
    let mut lines = out.lines();
    let header = lines.next().unwrap_or("");
    let titles: Vec<String> = header.split_whitespace().map(str::to_string).collect();
    let pid_col = titles
        .iter()
        .position(|t| t == "PID")
        .ok_or_else(|| Error::invalid("Couldn't find PID field in ps output"))?;
    let mut processes = Vec::new();
    for line in lines {
        let fields: Vec<&str> = line.split_whitespace().collect();
        if fields.len() < titles.len() {
            continue;
        }
        let Ok(pid) = fields[pid_col].parse::<i64>() else {
            continue;
        };
        if !pids.contains(&pid) {
            continue;
        }
        let mut row: Vec<String> = fields[..titles.len() - 1]
            .iter()
            .map(|s| s.to_string())
            .collect();
        row.push(fields[titles.len() - 1..].join(" "));
        processes.push(row);
    }
    Ok(ContainerTopResponse { titles, processes })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ps_rows_of_the_container() {
        let out = "UID PID PPID C STIME TTY TIME CMD\nroot 1 0 0 10:00 ? 00:00:01 /sbin/init splash\nroot 42 1 0 10:01 ? 00:00:00 sleep 1000\n";
        let top = parse_ps(out, &[42]).unwrap();
        assert_eq!(top.titles.len(), 8);
        assert_eq!(
            top.processes,
            vec![vec![
                "root",
                "42",
                "1",
                "0",
                "10:01",
                "?",
                "00:00:00",
                "sleep 1000"
            ]]
        );
        assert!(parse_ps("USER CMD\n", &[1]).is_err());
    }
}
