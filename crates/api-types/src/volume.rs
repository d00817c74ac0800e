//! Volume bodies (`/volumes…`), the typed `HostConfig.Mounts` entry (`--mount`), and the
//! path stat of the archive endpoints (`docker cp`).

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use crate::serde_util::null_default;

/// A volume as `GET /volumes/{name}` and `GET /volumes` report it.
#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq)]
#[serde(rename_all = "PascalCase")]
pub struct Volume {
    /// RFC 3339, seconds precision.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub created_at: String,
    pub driver: String,
    /// `null` when created without labels, as dockerd reports it.
    pub labels: Option<BTreeMap<String, String>>,
    /// Where the data is on the host.
    pub mountpoint: String,
    pub name: String,
    /// The driver options (`--opt`), `null` when none were given.
    pub options: Option<BTreeMap<String, String>>,
    pub scope: String,
    /// Driver status; the local driver has none.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub status: Option<BTreeMap<String, serde_json::Value>>,
    /// Size and reference count, only in `GET /system/df`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub usage_data: Option<UsageData>,
}

/// `UsageData` of a volume in `GET /system/df`: bytes used (`-1` when unknown) and how many
/// containers refer to it.
#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "PascalCase")]
pub struct UsageData {
    pub size: i64,
    pub ref_count: i64,
}

/// Body of `POST /volumes/create`.
#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq)]
#[serde(rename_all = "PascalCase")]
pub struct VolumeCreateOptions {
    /// Empty: a generated name (an anonymous volume).
    #[serde(default, deserialize_with = "null_default")]
    pub name: String,
    /// Empty means `local`.
    #[serde(default, deserialize_with = "null_default")]
    pub driver: String,
    #[serde(default)]
    pub driver_opts: Option<BTreeMap<String, String>>,
    #[serde(default)]
    pub labels: Option<BTreeMap<String, String>>,
    /// Swarm cluster volumes: refused.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cluster_volume_spec: Option<serde_json::Value>,
}

/// Response of `GET /volumes`.
#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq)]
#[serde(rename_all = "PascalCase")]
pub struct VolumeListResponse {
    #[serde(default, deserialize_with = "null_default")]
    pub volumes: Vec<Volume>,
    #[serde(default, deserialize_with = "null_default")]
    pub warnings: Vec<String>,
}

/// Response of `POST /volumes/prune`.
#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "PascalCase")]
pub struct VolumePruneResponse {
    pub volumes_deleted: Option<Vec<String>>,
    pub space_reclaimed: u64,
}

/// One `HostConfig.Mounts` entry (`--mount`), as moby's `mount.Mount`.
#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq)]
#[serde(rename_all = "PascalCase")]
pub struct Mount {
    /// `bind`, `volume`, `tmpfs` (`image`, `npipe`, `cluster` are refused).
    #[serde(default, deserialize_with = "null_default")]
    pub r#type: String,
    #[serde(default, deserialize_with = "null_default")]
    pub source: String,
    #[serde(default, deserialize_with = "null_default")]
    pub target: String,
    #[serde(default, deserialize_with = "null_default")]
    pub read_only: bool,
    /// `default`, `consistent`, `cached`, `delegated`: meaningful on macOS only.
    #[serde(default, deserialize_with = "null_default")]
    pub consistency: String,
    #[serde(default)]
    pub bind_options: Option<BindOptions>,
    #[serde(default)]
    pub volume_options: Option<VolumeOptions>,
    #[serde(default)]
    pub tmpfs_options: Option<TmpfsOptions>,
    #[serde(default)]
    pub image_options: Option<serde_json::Value>,
    #[serde(default)]
    pub cluster_options: Option<serde_json::Value>,
}

/// `Mount.BindOptions`.
#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "PascalCase")]
pub struct BindOptions {
    #[serde(default, deserialize_with = "null_default")]
    pub propagation: String,
    #[serde(default, deserialize_with = "null_default")]
    pub non_recursive: bool,
    #[serde(default, deserialize_with = "null_default")]
    pub create_mountpoint: bool,
    #[serde(default, deserialize_with = "null_default")]
    pub read_only_non_recursive: bool,
    #[serde(default, deserialize_with = "null_default")]
    pub read_only_force_recursive: bool,
}

/// `Mount.VolumeOptions`.
#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "PascalCase")]
pub struct VolumeOptions {
    #[serde(default, deserialize_with = "null_default")]
    pub no_copy: bool,
    #[serde(default)]
    pub labels: Option<BTreeMap<String, String>>,
    #[serde(default)]
    pub driver_config: Option<VolumeDriver>,
    #[serde(default, deserialize_with = "null_default")]
    pub subpath: String,
}

/// `VolumeOptions.DriverConfig`.
#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "PascalCase")]
pub struct VolumeDriver {
    #[serde(default, deserialize_with = "null_default")]
    pub name: String,
    #[serde(default)]
    pub options: Option<BTreeMap<String, String>>,
}

/// `Mount.TmpfsOptions`.
#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "PascalCase")]
pub struct TmpfsOptions {
    /// Bytes; 0 is the kernel's default (half the RAM).
    #[serde(default, deserialize_with = "null_default")]
    pub size_bytes: i64,
    /// Permission bits (as a number: `1777` octal is 1023).
    #[serde(default, deserialize_with = "null_default")]
    pub mode: u32,
    /// Extra options as `[name]` or `[name, value]`: `exec`, `noexec` (API 1.46).
    #[serde(default)]
    pub options: Option<Vec<Vec<String>>>,
}

/// The stat of a path in a container (`X-Docker-Container-Path-Stat`, base64 of this JSON).
/// `mode` is Go's `os.FileMode`: permission bits plus Go's own type bits.
#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq, Eq)]
pub struct ContainerPathStat {
    pub name: String,
    pub size: i64,
    pub mode: u32,
    /// RFC 3339 with nanoseconds.
    pub mtime: String,
    #[serde(rename = "linkTarget")]
    pub link_target: String,
}

/// Go's `os.FileMode` type bits, which the path stat carries instead of `st_mode`'s.
pub mod go_mode {
    pub const DIR: u32 = 1 << 31;
    pub const SYMLINK: u32 = 1 << 27;
    pub const DEVICE: u32 = 1 << 26;
    pub const NAMED_PIPE: u32 = 1 << 25;
    pub const SOCKET: u32 = 1 << 24;
    pub const SETUID: u32 = 1 << 23;
    pub const SETGID: u32 = 1 << 22;
    pub const CHAR_DEVICE: u32 = 1 << 21;
    pub const STICKY: u32 = 1 << 20;

    /// Converts a Unix `st_mode` to Go's `os.FileMode` bits.
    pub fn from_unix(st_mode: u32) -> u32 {
        let mut m = st_mode & 0o777;
        m |= match st_mode & 0o170000 {
            0o040000 => DIR,
            0o120000 => SYMLINK,
            0o060000 => DEVICE,
            0o020000 => DEVICE | CHAR_DEVICE,
            0o010000 => NAMED_PIPE,
            0o140000 => SOCKET,
            _ => 0,
        };
        if st_mode & 0o4000 != 0 {
            m |= SETUID;
        }
        if st_mode & 0o2000 != 0 {
            m |= SETGID;
        }
        if st_mode & 0o1000 != 0 {
            m |= STICKY;
        }
        m
    }

    /// Back to `st_mode` (type and permission bits).
    pub fn to_unix(mode: u32) -> u32 {
        let mut m = mode & 0o777;
        m |= if mode & DIR != 0 {
            0o040000
        } else if mode & SYMLINK != 0 {
            0o120000
        } else if mode & CHAR_DEVICE != 0 {
            0o020000
        } else if mode & DEVICE != 0 {
            0o060000
        } else if mode & NAMED_PIPE != 0 {
            0o010000
        } else if mode & SOCKET != 0 {
            0o140000
        } else {
            0o100000
        };
        if mode & SETUID != 0 {
            m |= 0o4000;
        }
        if mode & SETGID != 0 {
            m |= 0o2000;
        }
        if mode & STICKY != 0 {
            m |= 0o1000;
        }
        m
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn volumes_serialize_like_dockerd() {
        let v = Volume {
            created_at: "2024-01-02T03:04:05Z".into(),
            driver: "local".into(),
            mountpoint: "/var/lib/berth/volumes/v/_data".into(),
            name: "v".into(),
            scope: "local".into(),
            ..Default::default()
        };
        let j = serde_json::to_string(&v).unwrap();
        assert_eq!(
            j,
            r#"{"CreatedAt":"2024-01-02T03:04:05Z","Driver":"local","Labels":null,"Mountpoint":"/var/lib/berth/volumes/v/_data","Name":"v","Options":null,"Scope":"local"}"#
        );
    }

    #[test]
    fn go_file_modes_round_trip() {
        for m in [0o040755, 0o100644, 0o120777, 0o020666, 0o104755, 0o041777] {
            assert_eq!(go_mode::to_unix(go_mode::from_unix(m)), m, "{m:o}");
        }
        assert_eq!(go_mode::from_unix(0o040755), (1 << 31) | 0o755);
    }

    #[test]
    fn mounts_parse_from_the_cli_body() {
        let m: Mount = serde_json::from_str(
            r#"{"Type":"tmpfs","Target":"/t","TmpfsOptions":{"SizeBytes":1048576,"Mode":1023}}"#,
        )
        .unwrap();
        assert_eq!(m.tmpfs_options.unwrap().mode, 0o1777);
    }
}
