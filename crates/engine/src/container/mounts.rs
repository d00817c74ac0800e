//! User mounts: host bind mounts from `-v /host:/ctr[:ro]` (`HostConfig.Binds`) and
//! `--mount type=bind,…` (`HostConfig.Mounts`), checked at create the way dockerd checks them.
//! Named volumes and tmpfs mounts need the volume service, which berth does not have yet:
//! they are refused with a clear message rather than silently ignored.

use std::path::{Path, PathBuf};

use api_types::{HostConfig, MountPoint};
use serde_json::Value;

use crate::error::{Error, Result};

/// A host directory or file mounted into the container.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UserMount {
    pub source: PathBuf,
    pub destination: String,
    pub readonly: bool,
    /// `-v` creates a missing source directory; `--mount` refuses it.
    pub create_source: bool,
    /// The `Mode` inspect shows (`ro`, `z`, …).
    pub mode: String,
}

impl UserMount {
    /// How inspect and ps show it.
    pub fn point(&self) -> MountPoint {
        MountPoint {
            r#type: "bind".into(),
            name: String::new(),
            source: self.source.display().to_string(),
            destination: self.destination.clone(),
            driver: String::new(),
            mode: self.mode.clone(),
            rw: !self.readonly,
            propagation: "rprivate".into(),
        }
    }
}

fn clean_destination(d: &str) -> Result<String> {
    if !d.starts_with('/') {
        return Err(Error::invalid(format!(
            "invalid mount config: mount path must be absolute: {d}"
        )));
    }
    let cleaned = Path::new(d)
        .components()
        .filter(|c| !matches!(c, std::path::Component::CurDir))
        .collect::<PathBuf>();
    if cleaned == Path::new("/") {
        return Err(Error::invalid(
            "invalid specification: destination can't be '/'",
        ));
    }
    if cleaned
        .components()
        .any(|c| matches!(c, std::path::Component::ParentDir))
    {
        return Err(Error::invalid(format!(
            "invalid mount config: destination {d} contains '..'"
        )));
    }
    Ok(cleaned.display().to_string())
}

/// Parses one `-v` spec: `SRC:DST[:OPTS]`.
fn parse_bind(spec: &str) -> Result<UserMount> {
    let parts: Vec<&str> = spec.split(':').collect();
    let (src, dst, opts) = match parts.as_slice() {
        [src, dst] => (*src, *dst, ""),
        [src, dst, opts] => (*src, *dst, *opts),
        [dst] => {
            return Err(Error::invalid(format!(
                "anonymous volumes are not supported yet by berth (volume at {dst})"
            )))
        }
        _ => {
            return Err(Error::invalid(format!(
                "invalid volume specification: '{spec}'"
            )))
        }
    };
    if !src.starts_with('/') {
        return Err(Error::invalid(format!(
            "named volumes are not supported yet by berth (volume \"{src}\"); bind-mount a host path instead"
        )));
    }
    let mut readonly = false;
    let mut mode = Vec::new();
    for o in opts.split(',').filter(|o| !o.is_empty()) {
        match o {
            "ro" => {
                readonly = true;
                mode.push(o);
            }
            "rw" => mode.push(o),
            "z" | "Z" | "shared" | "rshared" | "slave" | "rslave" | "private" | "rprivate"
            | "nocopy" | "consistent" | "cached" | "delegated" => mode.push(o),
            other => {
                return Err(Error::invalid(format!(
                    "invalid mode: {other} in volume specification '{spec}'"
                )))
            }
        }
    }
    Ok(UserMount {
        source: PathBuf::from(src),
        destination: clean_destination(dst)?,
        readonly,
        create_source: true,
        mode: mode.join(","),
    })
}

/// Parses one `HostConfig.Mounts` entry.
fn parse_mount(v: &Value) -> Result<UserMount> {
    let field = |k: &str| v.get(k).and_then(Value::as_str).unwrap_or("");
    match field("Type") {
        "bind" => {}
        "" => return Err(Error::invalid("invalid mount config: mount type unknown")),
        t @ ("volume" | "tmpfs" | "npipe" | "cluster" | "image") => {
            return Err(Error::invalid(format!(
                "mounts of type \"{t}\" are not supported yet by berth"
            )))
        }
        t => {
            return Err(Error::invalid(format!(
                "invalid mount config: mount type unknown: {t:?}"
            )))
        }
    }
    let src = field("Source");
    if !src.starts_with('/') {
        return Err(Error::invalid(format!(
            "invalid mount config for type \"bind\": invalid mount path: '{src}' mount path must be absolute"
        )));
    }
    if !Path::new(src).exists() {
        return Err(Error::invalid(format!(
            "invalid mount config for type \"bind\": bind source path does not exist: {src}"
        )));
    }
    let readonly = v.get("ReadOnly").and_then(Value::as_bool).unwrap_or(false);
    Ok(UserMount {
        source: PathBuf::from(src),
        destination: clean_destination(field("Target"))?,
        readonly,
        create_source: false,
        mode: String::new(),
    })
}

/// The user mounts of a host config, checked; refuses what berth cannot do yet.
pub fn from_host_config(hc: &HostConfig) -> Result<Vec<UserMount>> {
    if hc.volumes_from.as_ref().is_some_and(|v| !v.is_empty()) {
        return Err(Error::invalid(
            "--volumes-from is not supported yet by berth",
        ));
    }
    let mut out = Vec::new();
    for b in hc.binds.iter().flatten() {
        out.push(parse_bind(b)?);
    }
    for m in hc.mounts.iter().flatten() {
        out.push(parse_mount(m)?);
    }
    let mut seen = std::collections::HashSet::new();
    let tmpfs = hc.tmpfs.iter().flatten().map(|(d, _)| d.as_str());
    for dest in out.iter().map(|m| m.destination.as_str()).chain(tmpfs) {
        if !seen.insert(dest.trim_end_matches('/').to_string()) {
            return Err(Error::invalid(format!("Duplicate mount point: {dest}")));
        }
    }
    Ok(out)
}

/// Creates the missing sources of `-v` mounts (as directories, as dockerd does).
pub fn create_sources(mounts: &[UserMount]) -> Result<()> {
    for m in mounts
        .iter()
        .filter(|m| m.create_source && !m.source.exists())
    {
        std::fs::create_dir_all(&m.source).map_err(|e| Error::file(&m.source, e))?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn binds_like_dockerd() {
        let m = parse_bind("/srv/data:/data:ro,z").unwrap();
        assert_eq!(m.destination, "/data");
        assert!(m.readonly && m.create_source);
        assert_eq!(m.mode, "ro,z");
        assert!(!parse_bind("/a:/b").unwrap().readonly);
        assert!(parse_bind("named:/data")
            .unwrap_err()
            .to_string()
            .contains("named volumes"));
        assert!(parse_bind("/a:rel").is_err());
        assert!(parse_bind("/a:/").is_err());
        assert!(parse_bind("/a:/b:bogus").is_err());
        assert!(parse_bind("/data").is_err());
    }

    #[test]
    fn host_config_checks() {
        let mut hc = HostConfig {
            binds: Some(vec!["/tmp:/x".into(), "/var:/x".into()]),
            ..Default::default()
        };
        assert!(from_host_config(&hc)
            .unwrap_err()
            .to_string()
            .contains("Duplicate mount point"));
        hc.binds = None;
        hc.mounts = Some(vec![
            serde_json::json!({"Type":"bind","Source":"/nonexistent-berth","Target":"/m"}),
        ]);
        assert!(from_host_config(&hc)
            .unwrap_err()
            .to_string()
            .contains("does not exist"));
        hc.mounts = Some(vec![
            serde_json::json!({"Type":"bind","Source":"/tmp","Target":"/m","ReadOnly":true}),
        ]);
        let m = from_host_config(&hc).unwrap();
        assert!(m[0].readonly && !m[0].create_source);
    }
}
