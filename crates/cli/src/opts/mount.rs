//! `--mount` values (docker's `MountOpt`): CSV `key=value` fields to a `HostConfig.Mounts`
//! entry, with docker's defaults (type `volume`) and its messages.

use std::collections::BTreeMap;

use api_types::{BindOptions, HostConfig, Mount, TmpfsOptions, VolumeDriver, VolumeOptions};

use super::container::OptsError;
use crate::args::{go_bool, ContainerFlags};

/// Splits one CSV record (Go's `encoding/csv` for a single line: `"` quotes a field, `""` is
/// a quote inside one).
fn csv_fields(s: &str) -> Result<Vec<String>, String> {
    let mut out = Vec::new();
    let mut cur = String::new();
    let mut chars = s.chars().peekable();
    let mut quoted = false;
    let mut at_start = true;
    while let Some(c) = chars.next() {
        match c {
            '"' if at_start => quoted = true,
            '"' if quoted => {
                if chars.peek() == Some(&'"') {
                    cur.push('"');
                    chars.next();
                } else {
                    quoted = false;
                }
            }
            ',' if !quoted => {
                out.push(std::mem::take(&mut cur));
                at_start = true;
                continue;
            }
            c => cur.push(c),
        }
        at_start = false;
    }
    if quoted {
        return Err("extraneous or missing \" in quoted-field".into());
    }
    out.push(cur);
    Ok(out)
}

fn set_kv(target: &mut BTreeMap<String, String>, value: &str) {
    let (k, v) = value.split_once('=').unwrap_or((value, ""));
    if !k.is_empty() {
        target.insert(k.to_string(), v.to_string());
    }
}

fn volume_opts(m: &mut Mount) -> &mut VolumeOptions {
    let v = m.volume_options.get_or_insert_with(|| VolumeOptions {
        labels: Some(BTreeMap::new()),
        ..Default::default()
    });
    v.driver_config.get_or_insert_with(VolumeDriver::default);
    v
}

/// Parses one `--mount` value.
pub fn parse_mount(value: &str) -> Result<Mount, String> {
    let mut m = Mount {
        r#type: "volume".into(),
        ..Default::default()
    };
    let bad = |k: &str, v: &str| format!("invalid value for {k}: {v}");
    for field in csv_fields(value)? {
        let (key, val) = match field.split_once('=') {
            Some((k, v)) => (k.to_lowercase(), v.to_string()),
            None => {
                match field.to_lowercase().as_str() {
                    "readonly" | "ro" => m.read_only = true,
                    "volume-nocopy" => volume_opts(&mut m).no_copy = true,
                    "bind-nonrecursive" => {
                        m.bind_options
                            .get_or_insert_with(Default::default)
                            .non_recursive = true
                    }
                    _ => return Err(format!("invalid field '{field}' must be a key=value pair")),
                }
                continue;
            }
        };
        match key.as_str() {
            "type" => m.r#type = val.to_lowercase(),
            "source" | "src" => {
                m.source = if val.starts_with('.') {
                    std::path::absolute(&val)
                        .map(|p| p.display().to_string())
                        .unwrap_or(val)
                } else {
                    val
                }
            }
            "target" | "dst" | "destination" => m.target = val,
            "readonly" | "ro" => m.read_only = go_bool(&val).map_err(|_| bad(&key, &val))?,
            "consistency" => m.consistency = val.to_lowercase(),
            "bind-propagation" => {
                m.bind_options
                    .get_or_insert_with(Default::default)
                    .propagation = val.to_lowercase()
            }
            "bind-nonrecursive" => {
                m.bind_options
                    .get_or_insert_with(Default::default)
                    .non_recursive = go_bool(&val).map_err(|_| bad(&key, &val))?;
                crate::commands::eprintln(
                    "WARN[0000] bind-nonrecursive is deprecated, use bind-recursive=disabled instead",
                );
            }
            "bind-recursive" => {
                let b: &mut BindOptions = m.bind_options.get_or_insert_with(Default::default);
                match val.as_str() {
                    "enabled" => {}
                    "disabled" => b.non_recursive = true,
                    "writable" => b.read_only_non_recursive = true,
                    "readonly" => b.read_only_force_recursive = true,
                    _ => {
                        return Err(format!(
                            "invalid value for {key}: {val} (must be \"enabled\", \"disabled\", \"writable\", or \"readonly\")"
                        ))
                    }
                }
            }
            "volume-subpath" => volume_opts(&mut m).subpath = val,
            "volume-nocopy" => {
                volume_opts(&mut m).no_copy =
                    go_bool(&val).map_err(|_| format!("invalid value for volume-nocopy: {val}"))?
            }
            "volume-label" => set_kv(volume_opts(&mut m).labels.get_or_insert_default(), &val),
            "volume-driver" => {
                if let Some(d) = volume_opts(&mut m).driver_config.as_mut() {
                    d.name = val;
                }
            }
            "volume-opt" => {
                if let Some(d) = volume_opts(&mut m).driver_config.as_mut() {
                    set_kv(d.options.get_or_insert_default(), &val);
                }
            }
            "image-subpath" => {
                m.image_options = Some(serde_json::json!({ "Subpath": val }));
            }
            "tmpfs-size" => {
                let size = api_types::units::ram_in_bytes(&val).map_err(|_| bad(&key, &val))?;
                m.tmpfs_options
                    .get_or_insert_with(TmpfsOptions::default)
                    .size_bytes = size;
            }
            "tmpfs-mode" => {
                let mode = u32::from_str_radix(&val, 8).map_err(|_| bad(&key, &val))?;
                m.tmpfs_options
                    .get_or_insert_with(TmpfsOptions::default)
                    .mode = mode;
            }
            _ => return Err(format!("unexpected key '{key}' in '{field}'")),
        }
    }
    check(&m)?;
    Ok(m)
}

/// docker's checks after the fields are read.
fn check(m: &Mount) -> Result<(), String> {
    if m.r#type.is_empty() {
        return Err("type is required".into());
    }
    if m.target.is_empty() {
        return Err("target is required".into());
    }
    for (set, kind) in [
        (m.volume_options.is_some() && m.r#type != "volume", "volume"),
        (m.image_options.is_some() && m.r#type != "image", "image"),
        (m.bind_options.is_some() && m.r#type != "bind", "bind"),
        (m.tmpfs_options.is_some() && m.r#type != "tmpfs", "tmpfs"),
    ] {
        if set {
            return Err(format!(
                "cannot mix '{kind}-*' options with mount type '{}'",
                m.r#type
            ));
        }
    }
    if let Some(b) = &m.bind_options {
        if b.read_only_non_recursive && !m.read_only {
            return Err("option 'bind-recursive=writable' requires 'readonly' to be specified in conjunction".into());
        }
        if b.read_only_force_recursive {
            if !m.read_only {
                return Err("option 'bind-recursive=readonly' requires 'readonly' to be specified in conjunction".into());
            }
            if b.propagation != "rprivate" {
                return Err("option 'bind-recursive=readonly' requires 'bind-propagation=rprivate' to be specified in conjunction".into());
            }
        }
    }
    Ok(())
}

/// `--mount` and `--volume-driver` into the host config.
pub fn apply(flags: &ContainerFlags, host: &mut HostConfig) -> Result<(), OptsError> {
    let mut mounts = Vec::new();
    for v in &flags.mount {
        let m = parse_mount(v).map_err(|reason| OptsError::Flag {
            flag: "--mount",
            value: v.clone(),
            reason,
        })?;
        mounts.push(serde_json::to_value(m).map_err(|e| OptsError::Invalid {
            reason: e.to_string(),
        })?);
    }
    if !mounts.is_empty() {
        host.mounts = Some(mounts);
    }
    host.volume_driver = flags.volume_driver.clone().unwrap_or_default();
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn mounts_parse_like_docker() {
        let m =
            parse_mount("type=bind,src=/srv,dst=/data,readonly,bind-propagation=rslave").unwrap();
        assert_eq!((m.r#type.as_str(), m.source.as_str()), ("bind", "/srv"));
        assert!(m.read_only);
        assert_eq!(m.bind_options.unwrap().propagation, "rslave");
        let v = parse_mount("src=data,dst=/d,volume-nocopy,volume-opt=type=tmpfs,volume-label=a=b")
            .unwrap();
        assert_eq!(v.r#type, "volume");
        let o = v.volume_options.unwrap();
        assert!(o.no_copy);
        assert_eq!(o.labels.unwrap()["a"], "b");
        assert_eq!(o.driver_config.unwrap().options.unwrap()["type"], "tmpfs");
        let t = parse_mount("type=tmpfs,dst=/t,tmpfs-size=1m,tmpfs-mode=1770").unwrap();
        let to = t.tmpfs_options.unwrap();
        assert_eq!((to.size_bytes, to.mode), (1 << 20, 0o1770));
        assert_eq!(
            parse_mount("type=bind,src=/a").unwrap_err(),
            "target is required"
        );
        assert_eq!(
            parse_mount("type=tmpfs,dst=/t,volume-nocopy").unwrap_err(),
            "cannot mix 'volume-*' options with mount type 'tmpfs'"
        );
        assert_eq!(
            parse_mount("dst=/t,bogus=1").unwrap_err(),
            "unexpected key 'bogus' in 'bogus=1'"
        );
        assert_eq!(
            parse_mount("dst=/t,bogus").unwrap_err(),
            "invalid field 'bogus' must be a key=value pair"
        );
        assert_eq!(
            csv_fields("type=bind,\"src=/a,b\",dst=/x").unwrap(),
            ["type=bind", "src=/a,b", "dst=/x"]
        );
    }
}
