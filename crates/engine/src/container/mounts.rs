//! User mounts as a create request asks for them, checked the way dockerd's Linux mount parser
//! checks them: `-v SRC:DST[:MODE]` and `-v DST` (`HostConfig.Binds`), `--mount`
//! (`HostConfig.Mounts`: bind, volume, tmpfs with all their options), `--volumes-from`
//! specs. Parsing turns them into [`MountSpec`]s; `volumes` resolves those (creating
//! volumes) into the [`MountRecord`]s a container's record keeps, which inspect shows as
//! `Mounts` and start turns into the runtime's mounts.

use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use api_types::{HostConfig, MountPoint};

use crate::error::{Error, Result};

/// What a mount is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum MountKind {
    /// A host path.
    Bind,
    /// A volume of the volume service.
    Volume,
    /// A tmpfs of its own (`--mount type=tmpfs`).
    Tmpfs,
}

impl MountKind {
    fn as_str(self) -> &'static str {
        match self {
            MountKind::Bind => "bind",
            MountKind::Volume => "volume",
            MountKind::Tmpfs => "tmpfs",
        }
    }
}

/// A mount as the container's record keeps it (moby's `MountPoint`): resolved at create,
/// shown by inspect, mounted at start.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct MountRecord {
    pub kind: MountKind,
    pub destination: String,
    /// Bind: the host path; volume: its data directory; tmpfs: empty.
    #[serde(default)]
    pub source: String,
    /// The volume's name.
    #[serde(default)]
    pub name: String,
    /// The volume's driver (`local`).
    #[serde(default)]
    pub driver: String,
    pub rw: bool,
    /// What inspect shows as `Mode` (`ro`, `z`, the `-v` options as given).
    #[serde(default)]
    pub mode: String,
    /// What inspect shows as `Propagation` (binds only; empty means none shown).
    #[serde(default)]
    pub propagation: String,
    /// Copy the image's content into the volume when it is empty.
    #[serde(default)]
    pub copy_data: bool,
    /// The user named the source (a named volume is kept by `rm -v`).
    #[serde(default)]
    pub named: bool,
    /// `volume-subpath`: the directory of the volume to mount instead of all of it.
    #[serde(default)]
    pub subpath: String,
    #[serde(default)]
    pub non_recursive: bool,
    #[serde(default)]
    pub readonly_non_recursive: bool,
    /// `-v /host:/ctr` creates a missing host directory; `--mount` does not (unless
    /// `CreateMountpoint`).
    #[serde(default)]
    pub create_source: bool,
    /// The tmpfs mount options (`size=…,mode=…`).
    #[serde(default)]
    pub tmpfs_options: String,
}

impl MountRecord {
    /// How inspect and list show it.
    pub fn point(&self) -> MountPoint {
        MountPoint {
            r#type: self.kind.as_str().into(),
            name: self.name.clone(),
            source: self.source.clone(),
            destination: self.destination.clone(),
            driver: self.driver.clone(),
            mode: self.mode.clone(),
            rw: self.rw,
            propagation: self.propagation.clone(),
        }
    }
}

/// A mount as asked for, before its volume (if any) is found or made.
#[derive(Debug, Clone, PartialEq)]
pub struct MountSpec {
    /// Everything known before resolution; `source` and `driver` of a volume are filled
    /// in by `volumes`.
    pub record: MountRecord,
    /// The volume driver asked for (`""`, `local`).
    pub driver: String,
    /// Options and labels for a volume made on demand (`--mount` `volume-opt`,
    /// `volume-label`).
    pub volume_options: Option<std::collections::BTreeMap<String, String>>,
    pub volume_labels: Option<std::collections::BTreeMap<String, String>>,
}

fn mount_config(kind: &str, why: impl std::fmt::Display) -> Error {
    Error::invalid(format!("invalid mount config for type \"{kind}\": {why}"))
}

fn invalid_spec(raw: &str) -> String {
    format!("invalid volume specification: '{raw}'")
}

/// dockerd's checks of a destination (`Target`): present, absolute, not `/`; cleaned.
fn clean_destination(kind: &str, d: &str) -> Result<String> {
    if d.is_empty() {
        return Err(mount_config(kind, "field Target must not be empty"));
    }
    let cleaned = clean_path(d);
    if cleaned == "/" {
        return Err(mount_config(
            kind,
            "invalid specification: destination can't be '/'",
        ));
    }
    if !d.starts_with('/') {
        return Err(mount_config(
            kind,
            format!("invalid mount path: '{d}' mount path must be absolute"),
        ));
    }
    Ok(cleaned)
}

/// Lexical cleaning as Go's `path.Clean` does for absolute paths.
pub(crate) fn clean_path(p: &str) -> String {
    let mut out: Vec<&str> = Vec::new();
    for c in p.split('/') {
        match c {
            "" | "." => {}
            ".." => {
                out.pop();
            }
            c => out.push(c),
        }
    }
    format!("/{}", out.join("/"))
}

const PROPAGATIONS: &[&str] = &[
    "private", "rprivate", "shared", "rshared", "slave", "rslave",
];
const CONSISTENCIES: &[&str] = &["consistent", "cached", "delegated"];

/// dockerd's `linuxValidMountMode`: each kind of option at most once.
fn valid_mode(mode: &str) -> bool {
    if mode.is_empty() {
        return true;
    }
    let mut counts = [0; 5];
    for o in mode.split(',') {
        let i = match o {
            "rw" | "ro" => 0,
            "z" | "Z" => 1,
            _ if PROPAGATIONS.contains(&o) => 2,
            "nocopy" => 3,
            _ if CONSISTENCIES.contains(&o) => 4,
            _ => return false,
        };
        counts[i] += 1;
    }
    counts.iter().all(|&n| n <= 1)
}

/// A mount record with nothing but its kind, destination and writability set.
pub(crate) fn base(kind: MountKind, destination: String, rw: bool) -> MountRecord {
    MountRecord {
        kind,
        destination,
        source: String::new(),
        name: String::new(),
        driver: String::new(),
        rw,
        mode: String::new(),
        propagation: String::new(),
        copy_data: false,
        named: false,
        subpath: String::new(),
        non_recursive: false,
        readonly_non_recursive: false,
        create_source: false,
        tmpfs_options: String::new(),
    }
}

/// Parses one `HostConfig.Binds` entry (`-v`), as dockerd's `ParseMountRaw`.
pub fn parse_bind(raw: &str, volume_driver: &str) -> Result<MountSpec> {
    let parts: Vec<&str> = raw.splitn(4, ':').collect();
    if parts[0].is_empty() {
        return Err(Error::invalid(invalid_spec(raw)));
    }
    let (src, dst, mode) = match parts.as_slice() {
        [dst] => ("", *dst, ""),
        [_, m] if valid_mode(m) => return Err(Error::invalid(invalid_spec(raw))),
        [src, dst] => (*src, *dst, ""),
        [src, dst, mode] => (*src, *dst, *mode),
        _ => return Err(Error::invalid(invalid_spec(raw))),
    };
    if !valid_mode(mode) {
        return Err(Error::invalid(format!("invalid mode: {mode}")));
    }
    let opts: Vec<&str> = mode.split(',').filter(|o| !o.is_empty()).collect();
    let rw = !opts.contains(&"ro");
    let propagation = opts.iter().find(|o| PROPAGATIONS.contains(o)).copied();
    let wrap = |e: Error| Error::invalid(format!("{}: {e}", invalid_spec(raw)));
    let spec = if src.starts_with('/') {
        let mut r = base(
            MountKind::Bind,
            clean_destination("bind", dst).map_err(wrap)?,
            rw,
        );
        r.source = clean_path(src);
        r.propagation = propagation.unwrap_or("rprivate").to_string();
        r.create_source = true;
        r.mode = mode.to_string();
        r.named = true;
        MountSpec {
            record: r,
            driver: String::new(),
            volume_options: None,
            volume_labels: None,
        }
    } else {
        if propagation.is_some() {
            return Err(wrap(mount_config(
                "volume",
                "field BindOptions must not be specified",
            )));
        }
        let mut r = base(
            MountKind::Volume,
            clean_destination("volume", dst).map_err(wrap)?,
            rw,
        );
        r.name = src.to_string();
        r.named = !src.is_empty();
        r.copy_data = !opts.contains(&"nocopy");
        r.mode = if mode.is_empty() { "z" } else { mode }.to_string();
        MountSpec {
            record: r,
            driver: volume_driver.to_string(),
            volume_options: None,
            volume_labels: None,
        }
    };
    Ok(spec)
}

/// Parses one `HostConfig.Mounts` entry (`--mount`), as dockerd's `ParseMountSpec`.
pub fn parse_mount(m: &api_types::Mount) -> Result<MountSpec> {
    let kind = m.r#type.as_str();
    for (set, field, owner) in [
        (m.bind_options.is_some(), "BindOptions", "bind"),
        (m.volume_options.is_some(), "VolumeOptions", "volume"),
        (m.image_options.is_some(), "ImageOptions", "image"),
        (m.tmpfs_options.is_some(), "TmpfsOptions", "tmpfs"),
        (m.cluster_options.is_some(), "ClusterOptions", "cluster"),
    ] {
        if set && kind != owner {
            return Err(mount_config(
                kind,
                format!("field {field} must not be specified"),
            ));
        }
    }
    match kind {
        "bind" => parse_bind_mount(m),
        "volume" => parse_volume_mount(m),
        "tmpfs" => parse_tmpfs_mount(m),
        "image" => Err(mount_config(
            kind,
            "image mounts are not supported by berth",
        )),
        _ => Err(mount_config(kind, "mount type unknown")),
    }
}

fn parse_bind_mount(m: &api_types::Mount) -> Result<MountSpec> {
    let dest = clean_destination("bind", &m.target)?;
    if m.source.is_empty() {
        return Err(mount_config("bind", "field Source must not be empty"));
    }
    if !m.source.starts_with('/') {
        return Err(mount_config(
            "bind",
            format!(
                "invalid mount path: '{}' mount path must be absolute",
                m.source
            ),
        ));
    }
    let opts = m.bind_options.clone().unwrap_or_default();
    if !opts.propagation.is_empty() && !PROPAGATIONS.contains(&opts.propagation.as_str()) {
        return Err(mount_config(
            "bind",
            format!("invalid propagation mode: {}", opts.propagation),
        ));
    }
    if !Path::new(&m.source).exists() && !opts.create_mountpoint {
        return Err(mount_config(
            "bind",
            format!("bind source path does not exist: {}", m.source),
        ));
    }
    if !m.read_only && opts.read_only_non_recursive {
        return Err(Error::invalid(
            "mount options conflict: !ReadOnly && BindOptions.ReadOnlyNonRecursive",
        ));
    }
    if !m.read_only && opts.read_only_force_recursive {
        return Err(Error::invalid(
            "mount options conflict: !ReadOnly && BindOptions.ReadOnlyForceRecursive",
        ));
    }
    if opts.read_only_non_recursive && opts.read_only_force_recursive {
        return Err(Error::invalid(
            "mount options conflict: ReadOnlyNonRecursive && BindOptions.ReadOnlyForceRecursive",
        ));
    }
    let mut r = base(MountKind::Bind, dest, !m.read_only);
    r.source = clean_path(&m.source);
    r.propagation = if opts.propagation.is_empty() {
        "rprivate".into()
    } else {
        opts.propagation.clone()
    };
    r.non_recursive = opts.non_recursive;
    r.readonly_non_recursive = opts.read_only_non_recursive;
    r.create_source = opts.create_mountpoint;
    r.named = true;
    Ok(MountSpec {
        record: r,
        driver: String::new(),
        volume_options: None,
        volume_labels: None,
    })
}

fn parse_volume_mount(m: &api_types::Mount) -> Result<MountSpec> {
    let dest = clean_destination("volume", &m.target)?;
    let opts = m.volume_options.clone().unwrap_or_default();
    if !opts.subpath.is_empty() {
        if m.source.is_empty() {
            return Err(mount_config(
                "volume",
                "must not set Subpath when using anonymous volumes",
            ));
        }
        let local = !opts.subpath.starts_with('/') && !opts.subpath.split('/').any(|c| c == "..");
        if !local {
            return Err(mount_config(
                "volume",
                "subpath must be a relative path within the volume",
            ));
        }
    }
    let mut r = base(MountKind::Volume, dest, !m.read_only);
    r.name = m.source.clone();
    r.named = !m.source.is_empty();
    r.copy_data = !opts.no_copy;
    r.mode = "z".into();
    r.subpath = opts.subpath.clone();
    let driver = opts.driver_config.clone().unwrap_or_default();
    Ok(MountSpec {
        record: r,
        driver: driver.name,
        volume_options: driver.options,
        volume_labels: opts.labels,
    })
}

fn parse_tmpfs_mount(m: &api_types::Mount) -> Result<MountSpec> {
    let dest = clean_destination("tmpfs", &m.target)?;
    if !m.source.is_empty() {
        return Err(mount_config("tmpfs", "field Source must not be specified"));
    }
    let mut r = base(MountKind::Tmpfs, dest, true);
    r.tmpfs_options = tmpfs_options(m.tmpfs_options.as_ref(), m.read_only)?;
    Ok(MountSpec {
        record: r,
        driver: String::new(),
        volume_options: None,
        volume_labels: None,
    })
}

/// dockerd's `ConvertTmpfsOptions`: `ro`, `mode=<octal>`, `size=<n>[kmg]`, `exec`/`noexec`.
fn tmpfs_options(o: Option<&api_types::TmpfsOptions>, readonly: bool) -> Result<String> {
    let mut opts = Vec::new();
    if readonly {
        opts.push("ro".to_string());
    }
    let Some(o) = o else {
        return Ok(opts.join(","));
    };
    if o.mode != 0 {
        opts.push(format!("mode={:o}", o.mode));
    }
    if o.size_bytes < 0 {
        return Err(mount_config("tmpfs", "size must not be negative"));
    }
    if o.size_bytes != 0 {
        let (mut size, mut suffix) = (o.size_bytes, "");
        for (s, d) in [("g", 1i64 << 30), ("m", 1 << 20), ("k", 1 << 10)] {
            if size % d == 0 {
                size /= d;
                suffix = s;
                break;
            }
        }
        opts.push(format!("size={size}{suffix}"));
    }
    for opt in o.options.iter().flatten() {
        match opt.as_slice() {
            [k] if k == "exec" || k == "noexec" => opts.push(k.clone()),
            [k, v] if k == "exec" || k == "noexec" => opts.push(format!("{k}={v}")),
            [k, ..] if opt.len() <= 2 => {
                return Err(mount_config("tmpfs", format!("invalid option: {k}")))
            }
            _ => return Err(mount_config("tmpfs", "invalid option array length")),
        }
    }
    Ok(opts.join(","))
}

/// Parses one `--volumes-from` entry: `container[:ro|rw]`.
pub fn parse_volumes_from(spec: &str) -> Result<(String, bool)> {
    if spec.is_empty() {
        return Err(Error::invalid(
            "volumes-from specification cannot be an empty string",
        ));
    }
    let (id, mode) = spec.split_once(':').unwrap_or((spec, "rw"));
    let mode = if mode.is_empty() { "rw" } else { mode };
    let propagation_or_copy = mode
        .split(',')
        .any(|o| PROPAGATIONS.contains(&o) || o == "nocopy");
    if !valid_mode(mode) || propagation_or_copy {
        return Err(Error::invalid(format!("invalid mode: {mode}")));
    }
    Ok((id.to_string(), !mode.split(',').any(|o| o == "ro")))
}

/// The binds and mounts of a host config, checked (no volume is looked at yet).
pub fn from_host_config(hc: &HostConfig) -> Result<Vec<MountSpec>> {
    for v in hc.volumes_from.iter().flatten() {
        parse_volumes_from(v)?;
    }
    let mut out = Vec::new();
    let mut seen = std::collections::HashSet::new();
    let tmpfs: Vec<String> = hc
        .tmpfs
        .iter()
        .flatten()
        .map(|(d, _)| clean_path(d))
        .collect();
    for b in hc.binds.iter().flatten() {
        let spec = parse_bind(b, &hc.volume_driver)?;
        let dest = spec.record.destination.clone();
        if !seen.insert(dest.clone()) || tmpfs.contains(&dest) {
            return Err(Error::invalid(format!("Duplicate mount point: {dest}")));
        }
        out.push(spec);
    }
    for m in hc.mounts.iter().flatten() {
        let m: api_types::Mount = serde_json::from_value(m.clone())
            .map_err(|e| Error::invalid(format!("invalid mount config: {e}")))?;
        let spec = parse_mount(&m)?;
        let dest = spec.record.destination.clone();
        if !seen.insert(dest.clone()) || tmpfs.contains(&dest) {
            return Err(Error::invalid(format!("Duplicate mount point: {dest}")));
        }
        out.push(spec);
    }
    Ok(out)
}

/// The bind mounts a record from before volumes existed had (only binds were accepted then).
pub fn legacy_records(hc: &HostConfig) -> Vec<MountRecord> {
    from_host_config(hc)
        .unwrap_or_default()
        .into_iter()
        .filter(|s| s.record.kind == MountKind::Bind)
        .map(|s| s.record)
        .collect()
}

/// Creates the missing host directories of bind mounts that ask for it (as dockerd does).
pub fn create_sources(mounts: &[MountRecord]) -> Result<()> {
    for m in mounts
        .iter()
        .filter(|m| m.kind == MountKind::Bind && m.create_source && !Path::new(&m.source).exists())
    {
        let src = PathBuf::from(&m.source);
        std::fs::create_dir_all(&src).map_err(|e| Error::file(&src, e))?;
    }
    Ok(())
}

#[cfg(test)]
mod tests;
