//! `berth info`: docker's `prettyPrintInfo` over the daemon's `/info`, or a template.

use serde_json::Value as Json;

use super::{eprintln, print, Ctx};
use crate::args::InfoArgs;
use crate::error::CliError;
use crate::format::units::bytes_size;
use gotemplate::{Template, Value};

/// `berth info`.
pub async fn info(ctx: &Ctx, args: InfoArgs) -> Result<(), CliError> {
    let raw = ctx.client.info_raw().await;
    if let Some(format) = args.format.as_deref().filter(|f| !f.is_empty()) {
        let raw = raw?;
        if format == "json" || format == "{{json .}}" {
            print(&format!("{}\n", crate::format::json_indent::compact(&raw)));
            return Ok(());
        }
        let t = Template::docker(format)
            .map_err(|e| CliError::status(format!("template parsing error: {e}"), 64))?;
        let v = Value::from_json_slice(&raw).map_err(|e| CliError::new(e.to_string()))?;
        print(&format!(
            "{}\n",
            t.execute(&v)
                .map_err(|e| CliError::new(format!("template: {e}")))?
        ));
        return Ok(());
    }
    let mut out = String::new();
    out.push_str(&format!(
        "Client:\n Version:    {}\n Context:    default\n Debug Mode: false\n\nServer:\n",
        env!("CARGO_PKG_VERSION")
    ));
    let raw = match raw {
        Ok(r) => r,
        Err(e) => {
            print(&out);
            eprintln(&format!("ERROR: {e}"));
            return Err(CliError::new("errors pretty printing info"));
        }
    };
    let info: Json = serde_json::from_slice(&raw)
        .map_err(|e| CliError::new(format!("error decoding info: {e}")))?;
    let (text, warnings) = server_info(&info);
    out.push_str(&text);
    print(&out);
    for w in warnings {
        eprintln(&w);
    }
    Ok(())
}

fn s<'a>(v: &'a Json, k: &str) -> &'a str {
    v.get(k).and_then(Json::as_str).unwrap_or("")
}

fn n(v: &Json, k: &str) -> i64 {
    v.get(k).and_then(Json::as_i64).unwrap_or(0)
}

fn b(v: &Json, k: &str) -> bool {
    v.get(k).and_then(Json::as_bool).unwrap_or(false)
}

fn strs(v: &Json) -> Vec<String> {
    v.as_array()
        .map(|a| {
            a.iter()
                .filter_map(|x| x.as_str().map(str::to_string))
                .collect()
        })
        .unwrap_or_default()
}

/// The server half of `info`, and the warnings docker prints on stderr.
pub fn server_info(i: &Json) -> (String, Vec<String>) {
    let mut o = String::new();
    let mut line = |l: String| {
        o.push_str(&l);
        o.push('\n');
    };
    line(format!(" Containers: {}", n(i, "Containers")));
    line(format!("  Running: {}", n(i, "ContainersRunning")));
    line(format!("  Paused: {}", n(i, "ContainersPaused")));
    line(format!("  Stopped: {}", n(i, "ContainersStopped")));
    line(format!(" Images: {}", n(i, "Images")));
    for (label, key) in [
        (" Server Version:", "ServerVersion"),
        (" Storage Driver:", "Driver"),
    ] {
        if !s(i, key).is_empty() {
            line(format!("{label} {}", s(i, key)));
        }
    }
    for pair in i
        .get("DriverStatus")
        .and_then(Json::as_array)
        .into_iter()
        .flatten()
    {
        let p = strs(pair);
        if p.len() == 2 {
            line(format!("  {}: {}", p[0], p[1]));
        }
    }
    for (label, key) in [
        (" Logging Driver:", "LoggingDriver"),
        (" Cgroup Driver:", "CgroupDriver"),
        (" Cgroup Version:", "CgroupVersion"),
    ] {
        if !s(i, key).is_empty() {
            line(format!("{label} {}", s(i, key)));
        }
    }
    let plugins = i.get("Plugins").cloned().unwrap_or(Json::Null);
    line(" Plugins:".into());
    line(format!("  Volume: {}", strs(&plugins["Volume"]).join(" ")));
    line(format!(
        "  Network: {}",
        strs(&plugins["Network"]).join(" ")
    ));
    let auth = strs(&plugins["Authorization"]);
    if !auth.is_empty() {
        line(format!("  Authorization: {}", auth.join(" ")));
    }
    line(format!("  Log: {}", strs(&plugins["Log"]).join(" ")));
    let swarm = i
        .get("Swarm")
        .map(|sw| s(sw, "LocalNodeState"))
        .unwrap_or("");
    line(format!(
        " Swarm: {}",
        if swarm.is_empty() { "inactive" } else { swarm }
    ));
    if let Some(rt) = i
        .get("Runtimes")
        .and_then(Json::as_object)
        .filter(|m| !m.is_empty())
    {
        line(format!(
            " Runtimes: {}",
            rt.keys().cloned().collect::<Vec<_>>().join(" ")
        ));
        line(format!(" Default Runtime: {}", s(i, "DefaultRuntime")));
    }
    if s(i, "OSType") == "linux" {
        line(format!(" Init Binary: {}", s(i, "InitBinary")));
        for (label, key) in [
            (" containerd version:", "ContainerdCommit"),
            (" runc version:", "RuncCommit"),
            (" init version:", "InitCommit"),
        ] {
            line(format!(
                "{label} {}",
                i.get(key).map(|c| s(c, "ID")).unwrap_or("")
            ));
        }
        let sec = strs(&i["SecurityOptions"]);
        if !sec.is_empty() {
            line(" Security Options:".into());
            for opt in sec {
                for kv in opt.split(',') {
                    match kv.split_once('=') {
                        Some(("name", name)) => line(format!("  {name}")),
                        Some(("profile", p)) => line(format!("   Profile: {p}")),
                        _ => {}
                    }
                }
            }
        }
    }
    for (label, key) in [
        (" Kernel Version:", "KernelVersion"),
        (" Operating System:", "OperatingSystem"),
        (" OSType:", "OSType"),
        (" Architecture:", "Architecture"),
    ] {
        if !s(i, key).is_empty() {
            line(format!("{label} {}", s(i, key)));
        }
    }
    line(format!(" CPUs: {}", n(i, "NCPU")));
    line(format!(
        " Total Memory: {}",
        bytes_size(n(i, "MemTotal") as f64)
    ));
    for (label, key) in [(" Name:", "Name"), (" ID:", "ID")] {
        if !s(i, key).is_empty() {
            line(format!("{label} {}", s(i, key)));
        }
    }
    line(format!(" Docker Root Dir: {}", s(i, "DockerRootDir")));
    line(format!(" Debug Mode: {}", b(i, "Debug")));
    if b(i, "Debug") {
        line(format!("  File Descriptors: {}", n(i, "NFd")));
        line(format!("  Goroutines: {}", n(i, "NGoroutines")));
        line(format!("  System Time: {}", s(i, "SystemTime")));
        line(format!("  EventsListeners: {}", n(i, "NEventsListener")));
    }
    for (label, key) in [
        (" HTTP Proxy:", "HttpProxy"),
        (" HTTPS Proxy:", "HttpsProxy"),
        (" No Proxy:", "NoProxy"),
    ] {
        if !s(i, key).is_empty() {
            line(format!("{label} {}", s(i, key)));
        }
    }
    let labels = strs(&i["Labels"]);
    if !labels.is_empty() {
        line(" Labels:".into());
        for l in labels {
            line(format!("  {l}"));
        }
    }
    line(format!(" Experimental: {}", b(i, "ExperimentalBuild")));
    registries(i, &mut line);
    line(format!(
        " Live Restore Enabled: {}",
        b(i, "LiveRestoreEnabled")
    ));
    if let Some(pools) = i["DefaultAddressPools"]
        .as_array()
        .filter(|p| !p.is_empty())
    {
        line(" Default Address Pools:".into());
        for p in pools {
            line(format!(
                "   Base: {}, Size: {}",
                p["Base"].as_str().unwrap_or(""),
                p["Size"]
            ));
        }
    }
    line(String::new());
    (o, strs(&i["Warnings"]))
}

fn registries(i: &Json, line: &mut impl FnMut(String)) {
    let rc = &i["RegistryConfig"];
    let cidrs = strs(&rc["InsecureRegistryCIDRs"]);
    let index = rc["IndexConfigs"].as_object();
    if !cidrs.is_empty() || index.is_some_and(|m| !m.is_empty()) {
        line(" Insecure Registries:".into());
        for (name, cfg) in index.into_iter().flatten() {
            if !b(cfg, "Secure") {
                line(format!("  {name}"));
            }
        }
        for c in cidrs {
            line(format!("  {c}"));
        }
    }
    let mirrors = strs(&rc["Mirrors"]);
    if !mirrors.is_empty() {
        line(" Registry Mirrors:".into());
        for m in mirrors {
            line(format!("  {m}"));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn server_info_reads_like_docker() {
        let i: Json = serde_json::json!({
            "Containers": 3, "ContainersRunning": 1, "ContainersPaused": 0, "ContainersStopped": 2, "Images": 1,
            "ServerVersion": "0.1.0", "Driver": "overlay2", "DriverStatus": [["Backing Filesystem", "extfs"]],
            "LoggingDriver": "json-file", "CgroupDriver": "cgroupfs", "CgroupVersion": "1",
            "Plugins": {"Volume": ["local"], "Network": ["bridge", "host", "none"], "Log": ["json-file"]},
            "Swarm": {"LocalNodeState": "inactive"}, "Runtimes": {"runc": {}}, "DefaultRuntime": "runc",
            "OSType": "linux", "InitBinary": "berth-init", "SecurityOptions": ["name=seccomp,profile=builtin"],
            "KernelVersion": "6.18", "OperatingSystem": "Debian GNU/Linux 12", "Architecture": "x86_64", "NCPU": 2,
            "MemTotal": 25_000_000_000i64, "Name": "host", "ID": "abc", "DockerRootDir": "/var/lib/berth",
            "RegistryConfig": {"InsecureRegistryCIDRs": ["::1/128", "127.0.0.0/8"], "IndexConfigs": {}, "Mirrors": []},
            "Warnings": ["WARNING: No swap limit support"]
        });
        let (text, warnings) = server_info(&i);
        assert!(text.starts_with(" Containers: 3\n  Running: 1\n  Paused: 0\n  Stopped: 2\n Images: 1\n Server Version: 0.1.0\n Storage Driver: overlay2\n  Backing Filesystem: extfs\n"));
        assert!(text.contains(" Plugins:\n  Volume: local\n  Network: bridge host none\n  Log: json-file\n Swarm: inactive\n Runtimes: runc\n"));
        assert!(text.contains(" Security Options:\n  seccomp\n   Profile: builtin\n"));
        assert!(text.contains(" Total Memory: 23.28GiB\n"));
        assert!(text.contains(
            " Insecure Registries:\n  ::1/128\n  127.0.0.0/8\n Live Restore Enabled: false\n\n"
        ));
        assert_eq!(warnings, vec!["WARNING: No swap limit support"]);
    }
}
