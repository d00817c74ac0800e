//! Log drivers (`--log-driver`, `--log-opt`): `json-file` (the default), `local` (dockerd's
//! protobuf format, compressed rotation by default) and `none` (nothing kept; `docker logs`
//! then fails as dockerd's does). Other drivers are refused with dockerd's message.
//!
//! At create the container's log config is merged with the daemon's (`--log-driver`,
//! `--log-opt`: its options are the defaults of a container using the same driver), checked,
//! and recorded, so inspect shows what is in effect. At start it becomes the shim's
//! [`runtime::logfile::LogConfig`]: the file, its rotation, and for json-file the `attrs`
//! the `labels`, `env` and `tag` options ask for.

use std::collections::BTreeMap;

use api_types::{ContainerConfig, LogConfig};
use runtime::logfile::{self, LogFormat};

use super::record::{ContainerRecord, Paths};
use crate::error::{Error, Result};

/// The drivers whose logs `docker logs` can read (`Plugins.Log` of `/info`).
pub const READABLE_DRIVERS: &[&str] = &["json-file", "local"];

/// Options every driver takes (dockerd's `logger.ValidateLogOpts`).
const COMMON_OPTS: &[&str] = &["mode", "max-buffer-size"];

/// The daemon's default driver and options.
#[derive(Debug, Clone)]
pub struct LogDefaults {
    pub driver: String,
    pub opts: BTreeMap<String, String>,
}

impl Default for LogDefaults {
    fn default() -> Self {
        LogDefaults {
            driver: "json-file".into(),
            opts: BTreeMap::new(),
        }
    }
}

fn driver_opts(driver: &str) -> Option<&'static [&'static str]> {
    Some(match driver {
        "json-file" => &[
            "max-size",
            "max-file",
            "compress",
            "labels",
            "labels-regex",
            "env",
            "env-regex",
            "tag",
        ],
        "local" => &["max-size", "max-file", "compress"],
        "none" => &[],
        _ => return None,
    })
}

fn parse_bool_opt(key: &str, v: &str) -> Result<bool> {
    match v {
        "1" | "t" | "T" | "true" | "TRUE" | "True" => Ok(true),
        "0" | "f" | "F" | "false" | "FALSE" | "False" => Ok(false),
        _ => Err(Error::invalid(format!(
            "error parsing {key} option: strconv.ParseBool: parsing {v:?}: invalid syntax"
        ))),
    }
}

/// Checks a driver and its options as dockerd does at create.
pub fn validate(driver: &str, opts: &BTreeMap<String, String>) -> Result<()> {
    let Some(known) = driver_opts(driver) else {
        return Err(Error::invalid(format!(
            "logger: no log driver named '{driver}' is registered"
        )));
    };
    if driver == "none" {
        return Ok(());
    }
    match opts.get("mode").map(String::as_str) {
        None | Some("") | Some("blocking") => {}
        Some("non-blocking") => {
            return Err(Error::invalid(
                "logger: logging mode non-blocking is not supported by berth: the shim writes the log as it reads the output (blocking)",
            ))
        }
        Some(m) => return Err(Error::invalid(format!("logger: logging mode not supported: {m}"))),
    }
    if opts.contains_key("max-buffer-size") {
        return Err(Error::invalid(format!(
            "logger: max-buffer-size option is only supported with 'mode={}'",
            "non-blocking"
        )));
    }
    for key in opts.keys() {
        if !known.contains(&key.as_str()) && !COMMON_OPTS.contains(&key.as_str()) {
            return Err(Error::invalid(format!(
                "unknown log opt '{key}' for {driver} log driver"
            )));
        }
    }
    if let Some(s) = opts.get("max-size") {
        api_types::units::ram_in_bytes(s)
            .map_err(|e| Error::invalid(format!("invalid max-size {s:?}: {e}")))?;
    }
    if let Some(n) = opts.get("max-file") {
        match n.parse::<i64>() {
            Ok(n) if n >= 1 => {}
            Ok(_) => return Err(Error::invalid("max-file cannot be less than 1")),
            Err(_) => return Err(Error::invalid(format!("invalid max-file {n:?}"))),
        }
    }
    if let Some(c) = opts.get("compress") {
        parse_bool_opt("compress", c)?;
    }
    for key in ["labels-regex", "env-regex"] {
        if let Some(re) = opts.get(key) {
            regex_lite(re).map_err(|e| Error::invalid(format!("invalid {key} {re:?}: {e}")))?;
        }
    }
    if let Some(t) = opts.get("tag") {
        gotemplate::Template::docker(t)
            .map_err(|e| Error::invalid(format!("invalid tag template {t:?}: {e}")))?;
    }
    Ok(())
}

/// The container's effective log config: its own driver, else the daemon's; the daemon's
/// options apply when the driver is the daemon's (the container's override them).
pub fn merge(own: &LogConfig, defaults: &LogDefaults) -> LogConfig {
    let driver = if own.r#type.is_empty() {
        defaults.driver.clone()
    } else {
        own.r#type.clone()
    };
    let mut config = BTreeMap::new();
    if driver == defaults.driver {
        config.extend(defaults.opts.clone());
    }
    config.extend(own.config.clone());
    LogConfig {
        r#type: driver,
        config,
    }
}

/// The live log file of a container under its driver (`None`: no log is kept).
pub fn log_path(r: &ContainerRecord, paths: &Paths) -> Option<std::path::PathBuf> {
    match r.host_config.log_config.r#type.as_str() {
        "none" => None,
        "local" => Some(paths.dir.join("local-logs").join("container.log")),
        _ => Some(paths.log(&r.id)),
    }
}

/// The shim's log config for a container (its recorded, merged, checked log config), with
/// the daemon's default rotation for json-file (`--log-max-size`, `--log-max-file`); `None`
/// for the `none` driver.
pub fn shim_config(
    r: &ContainerRecord,
    paths: &Paths,
    json_max_size: u64,
    json_max_files: u32,
) -> Result<Option<logfile::LogConfig>> {
    let Some(path) = log_path(r, paths) else {
        return Ok(None);
    };
    let lc = &r.host_config.log_config;
    let opts = &lc.config;
    let local = lc.r#type == "local";
    let (format, default_size, default_files, default_compress) = if local {
        // dockerd's local driver: 20 MB × 5, compressed.
        (LogFormat::Local, 20 * 1000 * 1000, 5, true)
    } else {
        (LogFormat::JsonFile, json_max_size, json_max_files, false)
    };
    let max_size = match opts.get("max-size") {
        Some(s) => api_types::units::ram_in_bytes(s)
            .map_err(|e| Error::invalid(format!("invalid max-size {s:?}: {e}")))?
            .max(0) as u64,
        None => default_size,
    };
    let max_files = match opts.get("max-file") {
        Some(n) => n
            .parse::<u32>()
            .map_err(|_| Error::invalid(format!("invalid max-file {n:?}")))?
            .max(1),
        None => default_files,
    };
    let compress = match opts.get("compress") {
        Some(c) => parse_bool_opt("compress", c)?,
        None => default_compress,
    };
    Ok(Some(logfile::LogConfig {
        path,
        max_size,
        max_files,
        format,
        compress: compress && max_files > 1,
        attrs: if local {
            BTreeMap::new()
        } else {
            attrs(r, opts)?
        },
    }))
}

/// The `attrs` of every json-file entry: the labels and environment variables the `labels`
/// and `env` options (and their `-regex` forms) name, and `tag`.
pub fn attrs(
    r: &ContainerRecord,
    opts: &BTreeMap<String, String>,
) -> Result<BTreeMap<String, String>> {
    let mut out = BTreeMap::new();
    let labels = r.config.labels.clone().unwrap_or_default();
    let env: BTreeMap<String, String> = r
        .config
        .env
        .iter()
        .flatten()
        .filter_map(|e| {
            e.split_once('=')
                .map(|(k, v)| (k.to_string(), v.to_string()))
        })
        .collect();
    for (list_key, re_key, source) in [
        ("labels", "labels-regex", &labels),
        ("env", "env-regex", &env),
    ] {
        if let Some(list) = opts.get(list_key) {
            for k in list.split(',').map(str::trim).filter(|k| !k.is_empty()) {
                if let Some(v) = source.get(k) {
                    out.insert(k.to_string(), v.clone());
                }
            }
        }
        if let Some(re) = opts.get(re_key) {
            let re =
                regex_lite(re).map_err(|e| Error::invalid(format!("invalid {re_key}: {e}")))?;
            for (k, v) in source.iter().filter(|(k, _)| re.is_match(k)) {
                out.insert(k.clone(), v.clone());
            }
        }
    }
    if let Some(t) = opts.get("tag") {
        out.insert("tag".into(), tag(r, &r.config, t)?);
    }
    Ok(out)
}

/// A `tag` template over dockerd's `logger.Info` fields.
fn tag(r: &ContainerRecord, config: &ContainerConfig, template: &str) -> Result<String> {
    use gotemplate::{ObjKind, Value};
    let t = gotemplate::Template::docker(template)
        .map_err(|e| Error::invalid(format!("invalid tag template {template:?}: {e}")))?;
    let s = |v: &str| Value::Str(v.to_string());
    let image_hex = r.image_id.trim_start_matches("sha256:");
    let data = Value::Obj(
        ObjKind::Struct,
        vec![
            ("ID".into(), s(&r.id[..12.min(r.id.len())])),
            ("FullID".into(), s(&r.id)),
            ("Name".into(), s(&r.name)),
            ("ImageID".into(), s(&image_hex[..12.min(image_hex.len())])),
            ("ImageFullID".into(), s(&r.image_id)),
            ("ImageName".into(), s(&config.image)),
            ("DaemonName".into(), s("docker")),
        ],
    );
    t.execute(&data)
        .map_err(|e| Error::invalid(format!("invalid tag template {template:?}: {e}")))
}

/// The label and env regexes (Go's RE2 syntax; the `regex` crate is close enough for names).
fn regex_lite(re: &str) -> std::result::Result<regex::Regex, regex::Error> {
    regex::Regex::new(re)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn opts(kv: &[(&str, &str)]) -> BTreeMap<String, String> {
        kv.iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect()
    }

    #[test]
    fn drivers_and_options_are_checked_like_dockerd() {
        let e = validate("asdf", &opts(&[])).unwrap_err().to_string();
        assert_eq!(e, "logger: no log driver named 'asdf' is registered");
        let e = validate("journald", &opts(&[])).unwrap_err().to_string();
        assert_eq!(e, "logger: no log driver named 'journald' is registered");
        validate("none", &opts(&[])).unwrap();
        validate(
            "json-file",
            &opts(&[("max-size", "10m"), ("max-file", "3"), ("labels", "a")]),
        )
        .unwrap();
        let e = validate("local", &opts(&[("labels", "a")]))
            .unwrap_err()
            .to_string();
        assert_eq!(e, "unknown log opt 'labels' for local log driver");
        assert!(validate("local", &opts(&[("max-file", "0")])).is_err());
        assert!(validate("json-file", &opts(&[("compress", "maybe")])).is_err());
        assert!(validate("json-file", &opts(&[("max-size", "ten")])).is_err());
        assert!(validate("json-file", &opts(&[("mode", "non-blocking")])).is_err());
        validate("json-file", &opts(&[("mode", "blocking")])).unwrap();
    }

    #[test]
    fn daemon_defaults_merge_under_the_same_driver_only() {
        let defaults = LogDefaults {
            driver: "local".into(),
            opts: opts(&[("max-size", "1m")]),
        };
        let m = merge(&LogConfig::default(), &defaults);
        assert_eq!(m.r#type, "local");
        assert_eq!(m.config, opts(&[("max-size", "1m")]));
        let own = LogConfig {
            r#type: "json-file".into(),
            config: opts(&[("max-file", "2")]),
        };
        assert_eq!(merge(&own, &defaults).config, opts(&[("max-file", "2")]));
    }
}
