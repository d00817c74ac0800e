//! `RUN --mount=...` and `RUN --device=...` values: comma-separated fields (CSV quoting, so a
//! field with a comma is written `"target=/a,b"`), `key=value` or a bare option.
//!
//! BuildKit reads a mount twice: when parsing, only to refuse a malformed list and a `from`
//! holding a variable; when building, with each value expanded, for everything else. Both are
//! [`parse_mount`], without and with an expander.

use serde::Serialize;

use crate::error::{Quoted, Suggestion};
use crate::go::{parse_bool, parse_uint32, ram_in_bytes, suggest};
use crate::shell::LexError;

/// The mount types.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum MountType {
    /// A directory of the build context or of another stage or image (read-only by default).
    Bind,
    /// A persistent cache directory.
    Cache,
    /// An empty tmpfs.
    Tmpfs,
    /// A build secret as a file (or environment variable).
    Secret,
    /// The SSH agent socket.
    Ssh,
}

impl MountType {
    fn as_str(self) -> &'static str {
        match self {
            MountType::Bind => "bind",
            MountType::Cache => "cache",
            MountType::Tmpfs => "tmpfs",
            MountType::Secret => "secret",
            MountType::Ssh => "ssh",
        }
    }
}

/// How concurrent builds share a cache mount.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Sharing {
    /// Used by all at once.
    Shared,
    /// Each writer gets its own copy.
    Private,
    /// One at a time.
    Locked,
}

/// A `--mount`, read.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Mount {
    /// `type=` (default bind).
    pub kind: MountType,
    /// `from=`: a stage or image to mount from.
    pub from: Option<String>,
    /// `source=`/`src=`.
    pub source: Option<String>,
    /// `target=`/`dst=`/`destination=`.
    pub target: Option<String>,
    /// `ro`/`readonly`, `rw`/`readwrite`; by default cache and tmpfs mounts are writable.
    pub read_only: bool,
    /// `size=` of a tmpfs, in bytes (0: unset).
    pub size_limit: i64,
    /// `id=`.
    pub cache_id: Option<String>,
    /// `sharing=` of a cache.
    pub sharing: Option<Sharing>,
    /// `required` (secret and ssh).
    pub required: bool,
    /// `env=`: expose a secret as this variable.
    pub env: Option<String>,
    /// `mode=` (octal).
    pub mode: Option<u32>,
    /// `uid=`.
    pub uid: Option<u32>,
    /// `gid=`.
    pub gid: Option<u32>,
}

/// A bad `--mount` value.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum MountError {
    /// The CSV list does not parse.
    #[error("failed to parse csv mounts: {0}")]
    Csv(String),
    /// `from=$x` (stages cannot be chosen by variable).
    #[error("'from' doesn't support variable expansion, define alias stage instead")]
    FromVariable,
    /// A bare word that is not an option.
    #[error("invalid field '{0}' must be a key=value pair")]
    NotKeyValue(String),
    /// A key the mount type does not take.
    #[error("unexpected key '{key}' for mount type '{kind}'")]
    KeyForType {
        /// The key.
        key: String,
        /// The mount type.
        kind: &'static str,
    },
    /// An unknown key.
    #[error("unexpected key '{key}' in '{field}'{}", Suggestion(.suggestion))]
    UnknownKey {
        /// The key.
        key: String,
        /// The whole field.
        field: String,
        /// The closest key.
        suggestion: Option<String>,
    },
    /// An unknown `type=`.
    #[error("unsupported mount type {}{}", Quoted(.value), Suggestion(.suggestion))]
    UnsupportedType {
        /// The value.
        value: String,
        /// The closest type.
        suggestion: Option<String>,
    },
    /// An unknown `sharing=`.
    #[error("unsupported sharing value {}{}", Quoted(.value), Suggestion(.suggestion))]
    UnsupportedSharing {
        /// The value.
        value: String,
        /// The closest mode.
        suggestion: Option<String>,
    },
    /// A value of the wrong shape (`ro=maybe`, `size=big`).
    #[error("invalid value for {key}: {value}")]
    InvalidValue {
        /// The key.
        key: String,
        /// The value.
        value: String,
    },
    /// A bad `mode=`, `uid=` or `gid=`.
    #[error("invalid value {value} for {key}")]
    InvalidNumber {
        /// The key.
        key: &'static str,
        /// The value.
        value: String,
    },
    /// `mode=`, `uid=`, `gid=` on a bind or tmpfs mount.
    #[error("{key} not allowed for {} type mounts", Quoted(.kind))]
    NotAllowed {
        /// The key.
        key: &'static str,
        /// The mount type.
        kind: &'static str,
    },
    /// A secret with `from=`.
    #[error("secret mount should not have a from")]
    SecretFrom,
    /// A secret with `sharing=`.
    #[error("secret mount should not define sharing")]
    SecretSharing,
    /// A secret without source, target or id.
    #[error("invalid secret mount. one of source, target required")]
    SecretTarget,
    /// A secret with both source and id.
    #[error("both source and id can't be set")]
    SecretSourceAndId,
    /// `sharing=` on something other than a cache.
    #[error("invalid cache sharing set for {0} mount")]
    SharingNotCache(&'static str),
    /// A value that does not expand.
    #[error(transparent)]
    Expand(#[from] LexError),
}

/// Go's `encoding/csv` rules for one record, as BuildKit's `csvvalue` applies them.
fn csv_fields(line: &str) -> Result<Vec<String>, String> {
    let line = line
        .strip_suffix('\n')
        .map(|l| l.strip_suffix('\r').unwrap_or(l))
        .unwrap_or(line);
    if line.is_empty() {
        return Err("EOF".to_string());
    }
    let err = |col: usize, what: &str| format!("parse error on line 1, column {col}: {what}");
    let mut out: Vec<String> = Vec::new();
    let (mut rest, mut pos) = (line, 0usize);
    'field: loop {
        if !rest.starts_with('"') {
            let (field, next) = match rest.find(',') {
                Some(i) => (&rest[..i], Some(i)),
                None => (rest, None),
            };
            if let Some(j) = field.find('"') {
                return Err(err(pos + j + 1, "bare \" in non-quoted-field"));
            }
            out.push(field.to_string());
            match next {
                Some(i) => {
                    rest = &rest[i + 1..];
                    pos += i + 1;
                    continue;
                }
                None => break,
            }
        }
        rest = &rest[1..];
        pos += 1;
        let mut half_open = false;
        loop {
            let Some(i) = rest.find('"') else {
                return Err(err(pos + 1, "extraneous or missing \" in quoted-field"));
            };
            if half_open {
                if let Some(last) = out.last_mut() {
                    last.push_str(&rest[..i]);
                }
            } else {
                out.push(rest[..i].to_string());
            }
            rest = &rest[i + 1..];
            pos += i + 1;
            match rest.chars().next() {
                Some('"') => {
                    if let Some(last) = out.last_mut() {
                        last.push('"');
                    }
                    rest = &rest[1..];
                    pos += 1;
                    half_open = true;
                }
                Some(',') => {
                    rest = &rest[1..];
                    pos += 1;
                    continue 'field;
                }
                None => break 'field,
                Some(_) => return Err(err(pos, "extraneous or missing \" in quoted-field")),
            }
        }
    }
    Ok(out)
}

const MOUNT_KEYS: &[&str] = &[
    "type",
    "from",
    "source",
    "target",
    "readonly",
    "id",
    "sharing",
    "required",
    "size",
    "mode",
    "uid",
    "gid",
    "src",
    "dst",
    "destination",
    "ro",
    "rw",
    "readwrite",
    "env",
];

/// An expander for mount values: BuildKit's single-word expansion with the stage environment.
pub type Expander<'a> = &'a mut dyn FnMut(&str) -> Result<String, LexError>;

fn some(v: String) -> Option<String> {
    (!v.is_empty()).then_some(v)
}

/// Reads a `--mount` value. Without `expand` (parse time) only the list and `from` are
/// checked and the other fields are left for later; with it every value is expanded first.
pub fn parse_mount(val: &str, mut expand: Option<Expander<'_>>) -> Result<Mount, MountError> {
    let fields = csv_fields(val).map_err(MountError::Csv)?;
    let mut m = Mount {
        kind: MountType::Bind,
        from: None,
        source: None,
        target: None,
        read_only: false,
        size_limit: 0,
        cache_id: None,
        sharing: None,
        required: false,
        env: None,
        mode: None,
        uid: None,
        gid: None,
    };
    let mut ro_auto = true;
    for field in &fields {
        let (key, value) = match field.split_once('=') {
            Some((k, v)) => (k.to_lowercase(), v.to_string()),
            None => {
                if expand.is_none() {
                    continue;
                }
                bare_option(&mut m, &mut ro_auto, &field.to_lowercase(), field)?;
                continue;
            }
        };
        let value = match expand.as_mut() {
            Some(e) => e(&value)?,
            None if key == "from" => {
                if value.find('$').is_some_and(|i| i != value.len() - 1) {
                    return Err(MountError::FromVariable);
                }
                value
            }
            None => continue,
        };
        set_field(&mut m, &mut ro_auto, &key, value, field)?;
    }
    check_mount(m, ro_auto)
}

fn bare_option(
    m: &mut Mount,
    ro_auto: &mut bool,
    key: &str,
    field: &str,
) -> Result<(), MountError> {
    match key {
        "readonly" | "ro" => m.read_only = true,
        "readwrite" | "rw" => m.read_only = false,
        "required" if matches!(m.kind, MountType::Secret | MountType::Ssh) => {
            m.required = true;
            return Ok(());
        }
        "required" => {
            return Err(MountError::KeyForType {
                key: key.to_string(),
                kind: m.kind.as_str(),
            })
        }
        _ => return Err(MountError::NotKeyValue(field.to_string())),
    }
    *ro_auto = false;
    Ok(())
}

fn set_field(
    m: &mut Mount,
    ro_auto: &mut bool,
    key: &str,
    value: String,
    field: &str,
) -> Result<(), MountError> {
    let invalid = || MountError::InvalidValue {
        key: key.to_string(),
        value: value.clone(),
    };
    let for_type = || MountError::KeyForType {
        key: key.to_string(),
        kind: m.kind.as_str(),
    };
    let number = |key: &'static str, base: u32| {
        parse_uint32(&value, base).ok_or(MountError::InvalidNumber {
            key,
            value: value.clone(),
        })
    };
    match key {
        "type" => {
            m.kind = match value.to_lowercase().as_str() {
                "bind" => MountType::Bind,
                "cache" => MountType::Cache,
                "tmpfs" => MountType::Tmpfs,
                "secret" => MountType::Secret,
                "ssh" => MountType::Ssh,
                _ => {
                    let suggestion =
                        suggest(&value, &["bind", "cache", "tmpfs", "secret", "ssh"], true);
                    return Err(MountError::UnsupportedType { value, suggestion });
                }
            }
        }
        "from" => m.from = some(value),
        "source" | "src" => m.source = some(value),
        "target" | "dst" | "destination" => m.target = some(value),
        "readonly" | "ro" => {
            m.read_only = parse_bool(&value).ok_or_else(invalid)?;
            *ro_auto = false;
        }
        "readwrite" | "rw" => {
            m.read_only = !parse_bool(&value).ok_or_else(invalid)?;
            *ro_auto = false;
        }
        "required" if matches!(m.kind, MountType::Secret | MountType::Ssh) => {
            m.required = parse_bool(&value).ok_or_else(invalid)?;
        }
        "size" if m.kind == MountType::Tmpfs => {
            m.size_limit = ram_in_bytes(&value).ok_or_else(invalid)?
        }
        "required" | "size" => return Err(for_type()),
        "id" => m.cache_id = some(value),
        "sharing" => {
            m.sharing = Some(match value.to_lowercase().as_str() {
                "shared" => Sharing::Shared,
                "private" => Sharing::Private,
                "locked" => Sharing::Locked,
                _ => {
                    let suggestion = suggest(&value, &["shared", "private", "locked"], true);
                    return Err(MountError::UnsupportedSharing { value, suggestion });
                }
            })
        }
        "mode" => m.mode = Some(number("mode", 8)?),
        "uid" => m.uid = Some(number("uid", 10)?),
        "gid" => m.gid = Some(number("gid", 10)?),
        "env" => m.env = Some(value),
        _ => {
            let suggestion = suggest(key, MOUNT_KEYS, true);
            return Err(MountError::UnknownKey {
                key: key.to_string(),
                field: field.to_string(),
                suggestion,
            });
        }
    }
    Ok(())
}

fn check_mount(mut m: Mount, ro_auto: bool) -> Result<Mount, MountError> {
    let kind = m.kind.as_str();
    if !matches!(
        m.kind,
        MountType::Secret | MountType::Ssh | MountType::Cache
    ) {
        for (key, set) in [
            ("mode", m.mode.is_some()),
            ("uid", m.uid.is_some()),
            ("gid", m.gid.is_some()),
        ] {
            if set {
                return Err(MountError::NotAllowed { key, kind });
            }
        }
    }
    if ro_auto {
        m.read_only = !matches!(m.kind, MountType::Cache | MountType::Tmpfs);
    }
    if m.kind == MountType::Secret {
        if m.from.is_some() {
            return Err(MountError::SecretFrom);
        }
        if m.sharing.is_some() {
            return Err(MountError::SecretSharing);
        }
        if m.source.is_none() && m.target.is_none() && m.cache_id.is_none() {
            return Err(MountError::SecretTarget);
        }
        if m.source.is_some() && m.cache_id.is_some() {
            return Err(MountError::SecretSourceAndId);
        }
    }
    if m.sharing.is_some() && m.kind != MountType::Cache {
        return Err(MountError::SharingNotCache(kind));
    }
    Ok(m)
}

/// A `--device` (a CDI device name, optionally required).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Device {
    /// The device name.
    pub name: String,
    /// Fail when the device is missing.
    pub required: bool,
}

/// A bad `--device` value.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum DeviceError {
    /// The CSV list does not parse.
    #[error("failed to parse csv devices: {0}")]
    Csv(String),
    /// A second bare word.
    #[error("invalid field '{0}' must be a key=value pair")]
    NotKeyValue(String),
    /// `name=` after a name.
    #[error("device name already set to {0}")]
    NameSet(String),
    /// `required=maybe`.
    #[error("invalid value for {key}: {value}")]
    InvalidValue {
        /// The key.
        key: String,
        /// The value.
        value: String,
    },
    /// An unknown key after a name.
    #[error("unexpected key '{key}' in '{field}'{}", Suggestion(.suggestion))]
    UnknownKey {
        /// The key.
        key: String,
        /// The field.
        field: String,
        /// The closest key.
        suggestion: Option<String>,
    },
}

/// Reads a `--device` value (`name[,required]`, `name=x,required=true`).
pub fn parse_device(val: &str) -> Result<Device, DeviceError> {
    let fields = csv_fields(val).map_err(DeviceError::Csv)?;
    let mut d = Device {
        name: String::new(),
        required: false,
    };
    for field in fields {
        let Some((key, value)) = field.split_once('=') else {
            if field.to_lowercase() == "required" {
                d.required = true;
            } else if d.name.is_empty() {
                d.name = field;
            } else {
                return Err(DeviceError::NotKeyValue(field));
            }
            continue;
        };
        match key.to_lowercase().as_str() {
            "name" if !d.name.is_empty() => return Err(DeviceError::NameSet(d.name)),
            "name" => d.name = value.to_string(),
            "required" => {
                d.required = parse_bool(value).ok_or_else(|| DeviceError::InvalidValue {
                    key: "required".to_string(),
                    value: value.to_string(),
                })?
            }
            _ if d.name.is_empty() => d.name = field.clone(),
            k => {
                let suggestion = suggest(k, &["name", "required"], true);
                return Err(DeviceError::UnknownKey {
                    key: k.to_string(),
                    field: field.clone(),
                    suggestion,
                });
            }
        }
    }
    Ok(d)
}

#[cfg(test)]
mod tests;
