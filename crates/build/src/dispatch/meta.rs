//! The instructions that change only the image's config (each still a step of its own, with
//! an `empty_layer` history entry, as the classic builder records them): ENV, LABEL,
//! MAINTAINER, CMD, ENTRYPOINT, EXPOSE, VOLUME, USER, STOPSIGNAL, HEALTHCHECK, SHELL,
//! ONBUILD, ARG.

use std::collections::BTreeMap;

use dockerfile::instructions::{Arg, CommandLine, Env, Expose, Healthcheck, Label, Volume};
use oci::config::HealthConfig;
use serde_json::Value;

use crate::backend::Backend;
use crate::error::{Error, Result};
use crate::golang::{duration, list, quote_list};
use crate::stage::Stage;

/// docker's `parsePortSpec` reduced to what EXPOSE keeps: `[ip:[host]:]port[-end][/proto]`
/// → the container ports as `port/proto` keys.
pub fn exposed_ports(spec: &str) -> std::result::Result<Vec<String>, String> {
    let parts: Vec<&str> = spec.split(':').collect();
    let container = parts.last().copied().unwrap_or("");
    let (port, proto) = match container.split_once('/') {
        Some((p, pr)) => (p, if pr.is_empty() { "tcp" } else { pr }),
        None => (container, "tcp"),
    };
    if port.is_empty() {
        return Err(format!("no port specified: {spec}<empty>"));
    }
    let proto = proto.to_ascii_lowercase();
    if !matches!(proto.as_str(), "tcp" | "udp" | "sctp") {
        return Err(format!("invalid proto: {proto}"));
    }
    let parse = |s: &str| s.parse::<u16>().ok();
    let (start, end) = match port.split_once('-') {
        Some((a, b)) => (parse(a), parse(b)),
        None => (parse(port), parse(port)),
    };
    match (start, end) {
        (Some(a), Some(b)) if a <= b => Ok((a..=b).map(|p| format!("{p}/{proto}")).collect()),
        _ => Err(format!("invalid containerPort: {port}")),
    }
}

/// Whether `s` is a signal dockerd accepts for STOPSIGNAL (a name with or without `SIG`,
/// `SIGRTMIN+n`, or a number).
pub fn valid_signal(s: &str) -> bool {
    if let Ok(n) = s.parse::<i32>() {
        return (1..=64).contains(&n);
    }
    let name = s.to_ascii_uppercase();
    let name = name.strip_prefix("SIG").unwrap_or(&name);
    const NAMES: [&str; 31] = [
        "ABRT", "ALRM", "BUS", "CHLD", "CLD", "CONT", "FPE", "HUP", "ILL", "INT", "IO", "IOT",
        "KILL", "PIPE", "POLL", "PROF", "PWR", "QUIT", "SEGV", "STKFLT", "STOP", "SYS", "TERM",
        "TRAP", "TSTP", "TTIN", "TTOU", "URG", "USR1", "USR2", "VTALRM",
    ];
    if NAMES.contains(&name) || matches!(name, "WINCH" | "XCPU" | "XFSZ" | "UNUSED") {
        return true;
    }
    for (base, max) in [("RTMIN+", 30), ("RTMAX-", 30)] {
        if let Some(n) = name.strip_prefix(base).and_then(|n| n.parse::<i32>().ok()) {
            return (0..=max).contains(&n);
        }
    }
    matches!(name, "RTMIN" | "RTMAX")
}

impl<'b, B: Backend> Stage<'b, B> {
    /// RUN/CMD/ENTRYPOINT's command: the JSON words, or the shell form after the SHELL.
    pub fn command(&self, c: &CommandLine) -> Vec<String> {
        if c.prepend_shell {
            let mut v = self.shell();
            v.extend(c.args.iter().cloned());
            v
        } else {
            c.args.clone()
        }
    }

    pub(crate) async fn env_step(&mut self, e: &Env) -> Result<()> {
        let mut msg = String::from("ENV");
        let env = self.run.env.get_or_insert_with(Vec::new);
        for kv in &e.vars {
            let var = format!("{}={}", kv.key, kv.value);
            msg.push(' ');
            msg.push_str(&var);
            match env
                .iter_mut()
                .find(|x| x.split('=').next() == Some(kv.key.as_str()))
            {
                Some(slot) => *slot = var,
                None => env.push(var),
            }
        }
        self.commit_meta(&msg).await
    }

    pub(crate) async fn label_step(&mut self, l: &Label) -> Result<()> {
        let mut msg = String::from("LABEL");
        let labels = self.run.labels.get_or_insert_with(BTreeMap::new);
        for kv in &l.labels {
            labels.insert(kv.key.clone(), kv.value.clone());
            msg.push_str(&format!(" {}={}", kv.key, kv.value));
        }
        self.commit_meta(&msg).await
    }

    pub(crate) async fn maintainer_step(&mut self, m: &str) -> Result<()> {
        self.maintainer = Some(m.to_string());
        self.commit_meta(&format!("MAINTAINER {m}")).await
    }

    pub(crate) async fn cmd_step(&mut self, c: &CommandLine) -> Result<()> {
        let cmd = self.command(c);
        self.run.cmd = Some(cmd.clone());
        self.commit_meta(&format!("CMD {}", quote_list(&cmd)))
            .await?;
        if !c.args.is_empty() {
            self.cmd_set = true;
        }
        Ok(())
    }

    pub(crate) async fn entrypoint_step(&mut self, c: &CommandLine) -> Result<()> {
        let ep = self.command(c);
        self.run.entrypoint = Some(ep.clone());
        if !self.cmd_set {
            self.run.cmd = None;
        }
        self.commit_meta(&format!("ENTRYPOINT {}", quote_list(&ep)))
            .await
    }

    pub(crate) async fn expose_step(&mut self, e: &Expose, original: &str) -> Result<()> {
        let ports = self.run.exposed_ports.get_or_insert_with(BTreeMap::new);
        for p in &e.ports {
            for key in exposed_ports(p).map_err(|r| Error::invalid(original, r))? {
                ports.insert(key, Value::Object(Default::default()));
            }
        }
        self.commit_meta(&format!("EXPOSE {}", e.ports.join(" ")))
            .await
    }

    pub(crate) async fn volume_step(&mut self, v: &Volume, original: &str) -> Result<()> {
        let vols = self.run.volumes.get_or_insert_with(BTreeMap::new);
        for p in &v.volumes {
            if p.is_empty() {
                return Err(Error::invalid(
                    original,
                    "VOLUME specified can not be an empty string",
                ));
            }
            vols.insert(p.clone(), Value::Object(Default::default()));
        }
        self.commit_meta(&format!("VOLUME {}", list(&v.volumes)))
            .await
    }

    pub(crate) async fn user_step(&mut self, u: &str) -> Result<()> {
        self.run.user = Some(u.to_string());
        self.commit_meta(&format!("USER {u}")).await
    }

    pub(crate) async fn stopsignal_step(&mut self, s: &str, original: &str) -> Result<()> {
        if !valid_signal(s) {
            return Err(Error::invalid(original, format!("Invalid signal: {s}")));
        }
        self.run.stop_signal = Some(s.to_string());
        self.commit_meta(&format!("STOPSIGNAL {s}")).await
    }

    pub(crate) async fn healthcheck_step(&mut self, h: &Healthcheck) -> Result<()> {
        if let Some(old) = self.run.healthcheck.as_ref().and_then(|h| h.test.as_ref()) {
            if old.first().is_some_and(|t| t != "NONE") {
                self.out.line(format!(
                    "Note: overriding previous HEALTHCHECK: {}",
                    list(old)
                ));
            }
        }
        let opt = |v: i64| (v != 0).then_some(v);
        self.run.healthcheck = Some(HealthConfig {
            test: Some(h.test.clone()),
            interval: opt(h.interval),
            timeout: opt(h.timeout),
            start_period: opt(h.start_period),
            start_interval: opt(h.start_interval),
            retries: opt(h.retries),
            extra: Default::default(),
        });
        let msg = format!(
            "HEALTHCHECK &{{Test:{} Interval:{} Timeout:{} StartPeriod:{} StartInterval:{} Retries:{}}}",
            list(&h.test),
            duration(h.interval),
            duration(h.timeout),
            duration(h.start_period),
            duration(h.start_interval),
            h.retries
        );
        self.commit_meta(&msg).await
    }

    pub(crate) async fn shell_step(&mut self, shell: &[String]) -> Result<()> {
        self.run.shell = Some(shell.to_vec());
        self.commit_meta(&format!("SHELL {}", list(shell))).await
    }

    pub(crate) async fn onbuild_step(&mut self, expression: &str) -> Result<()> {
        self.run
            .on_build
            .get_or_insert_with(Vec::new)
            .push(expression.to_string());
        self.commit_meta(&format!("ONBUILD {expression}")).await
    }

    pub(crate) async fn arg_step(&mut self, a: &Arg, original: &str) -> Result<()> {
        let mut parts = Vec::new();
        for def in &a.args {
            let default =
                match &def.default {
                    Some(d) => Some(self.b.lex.process_word(d, &self.env()).map_err(|source| {
                        Error::Lex {
                            instruction: original.to_string(),
                            source: Box::new(source),
                        }
                    })?),
                    None => None,
                };
            parts.push(match &default {
                Some(v) => format!("{}={v}", def.key),
                None => def.key.clone(),
            });
            self.args.declare(&def.key, default);
        }
        self.commit_meta(&format!("ARG {}", parts.join(" "))).await
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ports() {
        assert_eq!(exposed_ports("8080").unwrap(), ["8080/tcp"]);
        assert_eq!(exposed_ports("53/UDP").unwrap(), ["53/udp"]);
        assert_eq!(
            exposed_ports("1-3/tcp").unwrap(),
            ["1/tcp", "2/tcp", "3/tcp"]
        );
        assert_eq!(exposed_ports("127.0.0.1:80:8080").unwrap(), ["8080/tcp"]);
        assert!(exposed_ports("80/icmp").is_err());
        assert!(exposed_ports("x").is_err());
        assert!(exposed_ports("9-1").is_err());
    }

    #[test]
    fn signals() {
        for s in ["SIGKILL", "term", "9", "SIGRTMIN+3", "USR1"] {
            assert!(valid_signal(s), "{s}");
        }
        for s in ["SIGNOPE", "0", "99", "RTMIN+99"] {
            assert!(!valid_signal(s), "{s}");
        }
    }
}
