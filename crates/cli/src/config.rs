//! The parts of the docker CLI's `config.json` berth honours: `detachKeys`, `psFormat`,
//! `imagesFormat`, `volumesFormat`. Read from `--config`, `$DOCKER_CONFIG`, or `~/.docker`; a
//! missing or unreadable file means defaults, as for docker.

use serde::Deserialize;

/// Settings from `config.json`.
#[derive(Debug, Clone, Default, Deserialize, PartialEq, Eq)]
pub struct ConfigFile {
    #[serde(rename = "detachKeys", default)]
    pub detach_keys: Option<String>,
    #[serde(rename = "psFormat", default)]
    pub ps_format: Option<String>,
    #[serde(rename = "imagesFormat", default)]
    pub images_format: Option<String>,
    #[serde(rename = "volumesFormat", default)]
    pub volumes_format: Option<String>,
    #[serde(rename = "networksFormat", default)]
    pub networks_format: Option<String>,
    /// The directory given with `--config`, if any (where credentials are read and written).
    #[serde(skip)]
    pub dir: Option<std::path::PathBuf>,
}

impl ConfigFile {
    /// Loads the config from `dir` (the `--config` flag) or the usual places.
    pub fn load(dir: Option<&str>) -> ConfigFile {
        let flag = dir.map(std::path::PathBuf::from);
        let mut cfg = Self::load_from(dir);
        cfg.dir = flag;
        cfg
    }

    fn load_from(dir: Option<&str>) -> ConfigFile {
        let dir = dir
            .map(std::path::PathBuf::from)
            .or_else(|| {
                std::env::var_os("DOCKER_CONFIG")
                    .filter(|v| !v.is_empty())
                    .map(Into::into)
            })
            .or_else(|| {
                std::env::var_os("HOME").map(|h| std::path::PathBuf::from(h).join(".docker"))
            });
        let Some(dir) = dir else {
            return ConfigFile::default();
        };
        std::fs::read(dir.join("config.json"))
            .ok()
            .and_then(|b| serde_json::from_slice(&b).ok())
            .unwrap_or_default()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_the_keys_it_knows() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(
            dir.path().join("config.json"),
            r#"{"auths":{},"detachKeys":"ctrl-a,a","psFormat":"table {{.ID}}"}"#,
        )
        .unwrap();
        let c = ConfigFile::load(Some(dir.path().to_str().unwrap()));
        assert_eq!(c.detach_keys.as_deref(), Some("ctrl-a,a"));
        assert_eq!(c.ps_format.as_deref(), Some("table {{.ID}}"));
        assert_eq!(
            ConfigFile::load(Some("/nonexistent")),
            ConfigFile {
                dir: Some("/nonexistent".into()),
                ..ConfigFile::default()
            }
        );
    }
}
