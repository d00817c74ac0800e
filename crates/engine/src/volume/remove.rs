//! `DELETE /volumes/{name}` and `POST /volumes/prune`.

use std::collections::BTreeMap;
use std::sync::atomic::Ordering;
use std::sync::Arc;

use api_types::{Filters, VolumePruneResponse};

use super::record::{VolumeRecord, ANONYMOUS_LABEL, TABLE};
use super::{blocking, Result, VolumeError, VolumeService};

impl VolumeService {
    /// Removes a volume no container uses: its record (one commit), then its directory. With
    /// `force`, a missing volume is not an error (a used one still is, as in dockerd).
    pub(super) fn remove_blocking(&self, name: &str, force: bool) -> Result<u64> {
        if !self.state().records.contains_key(name) {
            return if force {
                Ok(0)
            } else {
                Err(VolumeError::NotFound(name.to_string()))
            };
        }
        let users = self.users_of(name);
        if !users.is_empty() {
            return Err(VolumeError::InUse {
                name: name.to_string(),
                users,
            });
        }
        let mut st = self.state();
        // Checked again under the lock: a claim may have come in meanwhile.
        if st.claims.get(name).is_some_and(|c| !c.is_empty())
            || st.refs.get(name).is_some_and(|r| !r.is_empty())
        {
            return Err(VolumeError::InUse {
                name: name.to_string(),
                users: st.claims.get(name).into_iter().flatten().cloned().collect(),
            });
        }
        let Some(rec) = st.records.get(name).cloned() else {
            return Ok(0);
        };
        let size = if rec.has_options() {
            0
        } else {
            self.driver.size(name).unwrap_or(0).max(0) as u64
        };
        self.store
            .db()
            .write(|tx| tx.delete(TABLE, name))
            .map_err(VolumeError::meta(name))?;
        st.records.remove(name);
        drop(st);
        if let Err(e) = self.driver.remove_dirs(name, &self.trash) {
            // The volume is gone from the database; its directory is swept at the next start.
            tracing::warn!(volume = %name, error = %e, "removing the volume's directory");
        }
        self.publish("destroy", name, &[("driver", &rec.driver)]);
        Ok(size)
    }

    /// `DELETE /volumes/{name}?force=`.
    #[tracing::instrument(skip(self))]
    pub async fn remove(self: &Arc<Self>, name: &str, force: bool) -> Result<()> {
        let svc = self.clone();
        let name = name.to_string();
        blocking(move || svc.remove_blocking(&name, force).map(drop)).await
    }

    /// `docker rm -v`: removes an anonymous volume of a removed container unless another
    /// container still uses it (not an error, as in dockerd).
    pub async fn remove_if_unused(self: &Arc<Self>, name: &str) -> Result<()> {
        match self.remove(name, true).await {
            Err(VolumeError::InUse { .. }) => Ok(()),
            r => r,
        }
    }

    /// `POST /volumes/prune?filters=`: local volumes no container uses, without driver
    /// options, matching `label`/`label!`; only anonymous ones unless `all` (the filter, or
    /// `all_by_default` for API versions before 1.42, where prune removed every unused one).
    #[tracing::instrument(skip(self))]
    pub async fn prune(
        self: &Arc<Self>,
        filters: Filters,
        all_by_default: bool,
    ) -> Result<VolumePruneResponse> {
        filters.validate(&["label", "label!", "all"])?;
        let all: Vec<&str> = filters.get("all").collect();
        let all = match all.as_slice() {
            [] => all_by_default,
            [one] => parse_bool(one).ok_or_else(|| {
                VolumeError::Invalid(format!("invalid filter 'all': invalid value {one:?}"))
            })?,
            _ => {
                return Err(VolumeError::Invalid(format!(
                    "invalid filter 'all={}': only one value is expected",
                    all.join(",")
                )))
            }
        };
        if self.prune_running.swap(true, Ordering::SeqCst) {
            return Err(VolumeError::PruneRunning);
        }
        let svc = self.clone();
        let res = blocking(move || {
            let mut deleted = Vec::new();
            let mut reclaimed = 0u64;
            for rec in svc.records() {
                if !prunable(&rec, &filters, all) || !svc.users_of(&rec.name).is_empty() {
                    continue;
                }
                match svc.remove_blocking(&rec.name, false) {
                    Ok(size) => {
                        reclaimed += size;
                        deleted.push(rec.name.clone());
                    }
                    Err(e) => tracing::warn!(volume = %rec.name, error = %e, "could not prune"),
                }
            }
            svc.publish("prune", "", &[("reclaimed", &reclaimed.to_string())]);
            Ok(VolumePruneResponse {
                volumes_deleted: Some(deleted),
                space_reclaimed: reclaimed,
            })
        })
        .await;
        self.prune_running.store(false, Ordering::SeqCst);
        res
    }
}

fn parse_bool(s: &str) -> Option<bool> {
    match s.to_ascii_lowercase().as_str() {
        "1" | "t" | "true" => Some(true),
        "0" | "f" | "false" => Some(false),
        _ => None,
    }
}

/// Whether prune may take this volume, users aside.
fn prunable(rec: &VolumeRecord, filters: &Filters, all: bool) -> bool {
    if rec.has_options() || rec.driver != "local" {
        return false;
    }
    let labels: BTreeMap<String, String> = rec.labels.clone().unwrap_or_default();
    if !all && !labels.contains_key(ANONYMOUS_LABEL) {
        return false;
    }
    if !filters.match_labels(&labels) {
        return false;
    }
    // `label!`: excluded when every such filter matches (moby's MatchKVList).
    let mut not = filters.get("label!").peekable();
    if not.peek().is_some() {
        let all_match = not.all(|want| match want.split_once('=') {
            Some((k, v)) => labels.get(k).is_some_and(|have| have == v),
            None => labels.contains_key(want),
        });
        if all_match {
            return false;
        }
    }
    true
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rec(labels: &[(&str, &str)], options: bool) -> VolumeRecord {
        VolumeRecord {
            name: "v".into(),
            driver: "local".into(),
            created: 0,
            labels: Some(
                labels
                    .iter()
                    .map(|(k, v)| (k.to_string(), v.to_string()))
                    .collect(),
            ),
            options: options.then(|| BTreeMap::from([("type".into(), "tmpfs".into())])),
            populating: false,
        }
    }

    #[test]
    fn prune_takes_anonymous_volumes_unless_all() {
        let none = Filters::default();
        assert!(prunable(
            &rec(&[(ANONYMOUS_LABEL, "")], false),
            &none,
            false
        ));
        assert!(!prunable(&rec(&[], false), &none, false));
        assert!(prunable(&rec(&[], false), &none, true));
        assert!(!prunable(&rec(&[(ANONYMOUS_LABEL, "")], true), &none, true));
        let mut f = Filters::default();
        f.add("label!", "keep");
        assert!(!prunable(&rec(&[("keep", "1")], false), &f, true));
        assert!(prunable(&rec(&[("other", "1")], false), &f, true));
        let mut f = Filters::default();
        f.add("label", "team=a");
        assert!(prunable(&rec(&[("team", "a")], false), &f, true));
        assert!(!prunable(&rec(&[("team", "b")], false), &f, true));
    }
}
