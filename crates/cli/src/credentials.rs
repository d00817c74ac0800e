//! Registry credentials in the docker CLI's `config.json`, read and written in the same
//! format so `berth` and `docker` share logins: `auths` (`{"auth": base64(user:pass)}` or an
//! `identitytoken`), a global credential helper (`credsStore`) and per-registry ones
//! (`credHelpers`), each a `docker-credential-<name>` program speaking JSON on stdin/stdout.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use api_types::AuthConfig;
use base64::Engine as _;
use serde_json::{json, Map, Value};

use crate::error::CliError;

/// The key Docker Hub credentials are stored under.
pub const DOCKER_HUB_KEY: &str = "https://index.docker.io/v1/";

/// The directory of `config.json`: `--config`, `$DOCKER_CONFIG`, or `~/.docker`.
pub fn config_dir(flag: Option<&str>) -> PathBuf {
    flag.map(PathBuf::from)
        .or_else(|| {
            std::env::var_os("DOCKER_CONFIG")
                .filter(|v| !v.is_empty())
                .map(Into::into)
        })
        .or_else(|| std::env::var_os("HOME").map(|h| PathBuf::from(h).join(".docker")))
        .unwrap_or_else(|| PathBuf::from(".docker"))
}

/// The key a registry's credentials live under: Docker Hub's URL, or `host[:port]`.
pub fn server_key(registry: &str) -> String {
    let host = hostname(registry);
    match host.as_str() {
        "" | "docker.io" | "index.docker.io" | "registry-1.docker.io" => DOCKER_HUB_KEY.into(),
        _ => host,
    }
}

/// `https://host:port/v1/` → `host:port` (docker's `ConvertToHostname`).
fn hostname(s: &str) -> String {
    let s = s.trim();
    let s = s
        .strip_prefix("https://")
        .or_else(|| s.strip_prefix("http://"))
        .unwrap_or(s);
    s.split('/').next().unwrap_or("").to_ascii_lowercase()
}

fn read_config(dir: &Path) -> Result<Map<String, Value>, CliError> {
    let path = dir.join("config.json");
    match std::fs::read(&path) {
        Ok(b) if b.iter().all(u8::is_ascii_whitespace) => Ok(Map::new()),
        Ok(b) => match serde_json::from_slice::<Value>(&b) {
            Ok(Value::Object(m)) => Ok(m),
            _ => Err(CliError::new(format!(
                "loading config file {}: invalid JSON",
                path.display()
            ))),
        },
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(Map::new()),
        Err(e) => Err(CliError::new(format!("reading {}: {e}", path.display()))),
    }
}

/// Writes `config.json` atomically, mode 0600 (it holds secrets).
fn write_config(dir: &Path, cfg: &Map<String, Value>) -> Result<(), CliError> {
    use std::os::unix::fs::OpenOptionsExt;
    let err =
        |e: std::io::Error| CliError::new(format!("saving credentials in {}: {e}", dir.display()));
    std::fs::create_dir_all(dir).map_err(err)?;
    let tmp = dir.join(format!(".config.json.{}", std::process::id()));
    let mut f = std::fs::OpenOptions::new()
        .write(true)
        .create(true)
        .truncate(true)
        .mode(0o600)
        .open(&tmp)
        .map_err(err)?;
    let text = serde_json::to_string_pretty(&Value::Object(cfg.clone())).unwrap_or_default();
    f.write_all(text.as_bytes())
        .and_then(|_| f.sync_all())
        .map_err(err)?;
    std::fs::rename(&tmp, dir.join("config.json")).map_err(err)
}

/// The credential helper for `key`: `credHelpers[host]`, else `credsStore`.
fn helper_for(cfg: &Map<String, Value>, key: &str) -> Option<String> {
    let host = hostname(key);
    cfg.get("credHelpers")
        .and_then(Value::as_object)
        .and_then(|m| {
            m.iter()
                .find(|(k, _)| hostname(k) == host || *k == key)
                .and_then(|(_, v)| v.as_str())
        })
        .or_else(|| cfg.get("credsStore").and_then(Value::as_str))
        .filter(|h| !h.is_empty())
        .map(str::to_string)
}

fn run_helper(helper: &str, action: &str, input: &str) -> Result<String, CliError> {
    let prog = format!("docker-credential-{helper}");
    let mut child = Command::new(&prog)
        .arg(action)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .map_err(|e| CliError::new(format!("error getting credentials - err: {prog}: {e}")))?;
    if let Some(mut stdin) = child.stdin.take() {
        let _ = stdin.write_all(input.as_bytes());
    }
    let out = child
        .wait_with_output()
        .map_err(|e| CliError::new(format!("{prog} {action}: {e}")))?;
    let stdout = String::from_utf8_lossy(&out.stdout).trim().to_string();
    if !out.status.success() {
        let msg = if stdout.is_empty() {
            String::from_utf8_lossy(&out.stderr).trim().to_string()
        } else {
            stdout
        };
        return Err(CliError::new(format!("{prog} {action}: {msg}")));
    }
    Ok(stdout)
}

/// The stored credentials for `registry` (a host, or Docker Hub), if any.
pub fn get(dir: &Path, registry: &str) -> Result<Option<AuthConfig>, CliError> {
    let cfg = read_config(dir)?;
    let key = server_key(registry);
    if let Some(h) = helper_for(&cfg, &key) {
        let out = match run_helper(&h, "get", &key) {
            Ok(o) => o,
            // Helpers answer "credentials not found in native keychain" with a failure.
            Err(e) if e.message.contains("not found") => return Ok(None),
            Err(e) => return Err(e),
        };
        let v: Value = serde_json::from_str(&out).unwrap_or(Value::Null);
        let user = v["Username"].as_str().unwrap_or("").to_string();
        let secret = v["Secret"].as_str().unwrap_or("").to_string();
        if secret.is_empty() {
            return Ok(None);
        }
        let mut a = AuthConfig {
            serveraddress: key,
            ..Default::default()
        };
        if user == "<token>" {
            a.identitytoken = secret;
        } else {
            a.username = user;
            a.password = secret;
        }
        return Ok(Some(a));
    }
    let host = hostname(&key);
    let Some(entry) = cfg.get("auths").and_then(Value::as_object).and_then(|m| {
        m.iter()
            .find(|(k, _)| **k == key || hostname(k) == host)
            .map(|(_, v)| v)
    }) else {
        return Ok(None);
    };
    let mut a = AuthConfig {
        serveraddress: key,
        identitytoken: entry["identitytoken"].as_str().unwrap_or("").to_string(),
        ..Default::default()
    };
    if let Some(auth) = entry["auth"].as_str().filter(|s| !s.is_empty()) {
        let raw = base64::engine::general_purpose::STANDARD
            .decode(auth)
            .map_err(|_| {
                CliError::new(format!("invalid auth for {}: not base64", a.serveraddress))
            })?;
        let s = String::from_utf8_lossy(&raw).into_owned();
        let (u, p) = s.split_once(':').unwrap_or((&s, ""));
        a.username = u.to_string();
        a.password = p.to_string();
    }
    Ok((!a.username.is_empty() || !a.identitytoken.is_empty()).then_some(a))
}

/// Every stored credential, by the server key it is stored under (docker's
/// `GetAllCredentials`, for a build's `X-Registry-Config`).
pub fn all(dir: &Path) -> Result<std::collections::BTreeMap<String, AuthConfig>, CliError> {
    let cfg = read_config(dir)?;
    let keys: Vec<String> = cfg
        .get("auths")
        .and_then(Value::as_object)
        .map(|m| m.keys().cloned().collect())
        .unwrap_or_default();
    let mut out = std::collections::BTreeMap::new();
    for k in keys {
        if let Some(a) = get(dir, &k)? {
            out.insert(k, a);
        }
    }
    Ok(out)
}

/// Stores credentials for `auth.serveraddress` (through the helper when one is set).
/// Returns the file when they were written into `config.json` in the clear.
pub fn store(dir: &Path, auth: &AuthConfig) -> Result<Option<PathBuf>, CliError> {
    let mut cfg = read_config(dir)?;
    let key = server_key(&auth.serveraddress);
    let helper = helper_for(&cfg, &key);
    let (user, secret) = if auth.identitytoken.is_empty() {
        (auth.username.clone(), auth.password.clone())
    } else {
        ("<token>".to_string(), auth.identitytoken.clone())
    };
    let auths = cfg
        .entry("auths")
        .or_insert_with(|| Value::Object(Map::new()));
    if !auths.is_object() {
        *auths = Value::Object(Map::new());
    }
    let auths = auths.as_object_mut().expect("object");
    if let Some(h) = helper {
        let input = json!({"ServerURL": key, "Username": user, "Secret": secret}).to_string();
        run_helper(&h, "store", &input)?;
        // docker keeps an empty entry so `docker login` lists the registry.
        auths.insert(key, json!({}));
        write_config(dir, &cfg)?;
        return Ok(None);
    }
    let mut entry = Map::new();
    if auth.identitytoken.is_empty() {
        let raw = format!("{}:{}", auth.username, auth.password);
        entry.insert(
            "auth".into(),
            Value::String(base64::engine::general_purpose::STANDARD.encode(raw)),
        );
    } else {
        entry.insert(
            "identitytoken".into(),
            Value::String(auth.identitytoken.clone()),
        );
    }
    auths.insert(key, Value::Object(entry));
    write_config(dir, &cfg)?;
    Ok(Some(dir.join("config.json")))
}

/// Removes the credentials for `registry`; false when there were none.
pub fn erase(dir: &Path, registry: &str) -> Result<bool, CliError> {
    let mut cfg = read_config(dir)?;
    let key = server_key(registry);
    let host = hostname(&key);
    let mut found = false;
    if let Some(h) = helper_for(&cfg, &key) {
        found = run_helper(&h, "erase", &key).is_ok();
    }
    if let Some(auths) = cfg.get_mut("auths").and_then(Value::as_object_mut) {
        let keys: Vec<String> = auths
            .keys()
            .filter(|k| **k == key || hostname(k) == host)
            .cloned()
            .collect();
        for k in keys {
            auths.remove(&k);
            found = true;
        }
    }
    if found {
        write_config(dir, &cfg)?;
    }
    Ok(found)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn store_get_erase_round_trip_keeps_other_keys() {
        let d = tempfile::tempdir().unwrap();
        std::fs::write(d.path().join("config.json"), r#"{"detachKeys":"ctrl-a,a"}"#).unwrap();
        let a = AuthConfig {
            username: "alice".into(),
            password: "s3cret:x".into(),
            serveraddress: "127.0.0.1:5000".into(),
            ..Default::default()
        };
        assert!(store(d.path(), &a).unwrap().is_some());
        let text = std::fs::read_to_string(d.path().join("config.json")).unwrap();
        assert!(
            text.contains("detachKeys") && text.contains("\"127.0.0.1:5000\""),
            "{text}"
        );
        // The same format docker writes: auth = base64(user:password).
        assert!(text.contains(&base64::engine::general_purpose::STANDARD.encode("alice:s3cret:x")));
        let got = get(d.path(), "https://127.0.0.1:5000/v2/")
            .unwrap()
            .unwrap();
        assert_eq!(
            (got.username.as_str(), got.password.as_str()),
            ("alice", "s3cret:x")
        );
        assert!(get(d.path(), "docker.io").unwrap().is_none());
        assert!(erase(d.path(), "127.0.0.1:5000").unwrap());
        assert!(!erase(d.path(), "127.0.0.1:5000").unwrap());
        assert!(get(d.path(), "127.0.0.1:5000").unwrap().is_none());
        assert_eq!(server_key("docker.io"), DOCKER_HUB_KEY);
    }

    #[test]
    fn credential_helpers_are_used() {
        let d = tempfile::tempdir().unwrap();
        let bin = d.path().join("bin");
        std::fs::create_dir(&bin).unwrap();
        let store_file = d.path().join("store");
        let helper = bin.join("docker-credential-testhelper");
        std::fs::write(
            &helper,
            format!(
                "#!/bin/sh\ncase $1 in\nget) read k; [ -f {s} ] && cat {s} || {{ echo 'credentials not found in native keychain'; exit 1; }};;\nstore) cat > {s};;\nerase) rm -f {s};;\nesac\n",
                s = store_file.display()
            ),
        )
        .unwrap();
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(&helper, std::fs::Permissions::from_mode(0o755)).unwrap();
        std::fs::write(
            d.path().join("config.json"),
            r#"{"credHelpers":{"reg.example:5000":"testhelper"}}"#,
        )
        .unwrap();
        let path = format!(
            "{}:{}",
            bin.display(),
            std::env::var("PATH").unwrap_or_default()
        );
        // Only prepends a directory: other tests' spawned programs still resolve.
        std::env::set_var("PATH", path);
        assert!(get(d.path(), "reg.example:5000").unwrap().is_none());
        let a = AuthConfig {
            username: "bob".into(),
            password: "pw".into(),
            serveraddress: "reg.example:5000".into(),
            ..Default::default()
        };
        assert!(
            store(d.path(), &a).unwrap().is_none(),
            "stored by the helper"
        );
        let text = std::fs::read_to_string(d.path().join("config.json")).unwrap();
        assert!(!text.contains("pw"), "{text}");
        let got = get(d.path(), "reg.example:5000").unwrap().unwrap();
        assert_eq!(
            (got.username.as_str(), got.password.as_str()),
            ("bob", "pw")
        );
        assert!(erase(d.path(), "reg.example:5000").unwrap());
        assert!(get(d.path(), "reg.example:5000").unwrap().is_none());
    }
}
