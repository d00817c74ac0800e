//! RUN: a container from the current image runs the command (shell form after the SHELL,
//! JSON form as is, heredocs as BuildKit runs them), with the build arguments in use in its
//! environment, the build's network and the step's `--mount`s; its rw layer becomes the
//! step's layer. The history and cache record the command as the classic builder does —
//! `|N K=v … /bin/sh -c …` when build arguments are in use (proxy ones not declared by an
//! ARG left out).

use dockerfile::instructions::{CommandLine, NetworkMode, Run, Security};
use dockerfile::syntax::{chomp, parse_heredoc};
use oci::config::HealthConfig;
use sha2::{Digest as _, Sha256};

use crate::args::BuildArgs;
use crate::backend::{Backend, LayerChange, RunMount, RunSpec};
use crate::error::{Error, Result};
use crate::stage::{short_id, Stage};

/// Where a heredoc script with a shebang is mounted (BuildKit's place for it).
const PIPES: &str = "/dev/pipes";

/// The classic `prependEnvOnCmd`: `|N` and the sorted `K=v` of the build arguments that
/// belong in the history, before the command.
pub fn prepend_env(args: &BuildArgs, vars: &[String], cmd: &[String]) -> Vec<String> {
    let mut kept: Vec<String> = vars
        .iter()
        .filter(|v| args.in_history(v.split('=').next().unwrap_or("")))
        .cloned()
        .collect();
    kept.sort();
    let mut out = vec![format!("|{}", kept.len())];
    out.extend(kept);
    out.extend(cmd.iter().cloned());
    out
}

/// A script to mount: its file name and text.
pub type Script = (String, String);

/// A heredoc RUN's command words, and the script to mount when the heredoc has a shebang.
pub fn heredoc_command(c: &CommandLine) -> Result<(Vec<String>, Option<Script>), String> {
    if c.files.is_empty() {
        return Ok((c.args.clone(), None));
    }
    if c.args.len() != 1 || !c.prepend_shell {
        return Err(format!(
            "parsing produced an invalid run command: {:?}",
            c.args
        ));
    }
    if parse_heredoc(&c.args[0]).ok().flatten().is_some() {
        let f = &c.files[0];
        let data = if f.chomp {
            chomp(&f.data)
        } else {
            f.data.clone()
        };
        if data.starts_with("#!") {
            return Ok((
                vec![format!("{PIPES}/{}", f.name)],
                Some((f.name.clone(), data)),
            ));
        }
        return Ok((vec![data], None));
    }
    // Several heredocs, or one fed to a command: the shell reads them itself.
    let mut line = c.args[0].clone();
    for f in &c.files {
        line.push('\n');
        line.push_str(&f.data);
        line.push_str(&f.name);
    }
    Ok((vec![line], None))
}

impl<'b, B: Backend> Stage<'b, B> {
    pub(crate) async fn run_step(&mut self, r: &Run, original: &str, stage: usize) -> Result<()> {
        let Some(image) = self.image.clone() else {
            return Err(Error::invalid(
                original,
                "RUN needs a filesystem to run in: this stage starts FROM scratch and has no files yet",
            ));
        };
        if r.security == Security::Insecure {
            return Err(Error::Unsupported {
                what: "RUN --security=insecure".into(),
                why: "it needs the security.insecure entitlement, which berth does not grant",
            });
        }
        if !r.devices.is_empty() {
            return Err(Error::Unsupported {
                what: "RUN --device".into(),
                why: "devices are not given to build steps",
            });
        }
        let network = match r.network {
            NetworkMode::Default => self.b.opts.network().to_string(),
            NetworkMode::None => "none".to_string(),
            NetworkMode::Host => "host".to_string(),
        };
        self.b.backend.check_network(&network)?;
        let (words, script) =
            heredoc_command(&r.command).map_err(|reason| Error::invalid(original, reason))?;
        let cmd = if r.command.prepend_shell {
            let mut v = self.shell();
            v.extend(words);
            v
        } else {
            words
        };
        let env = self.run.env.clone().unwrap_or_default();
        let build_env = self.args.filter_allowed(&env);
        let save_cmd = if build_env.is_empty() {
            cmd.clone()
        } else {
            prepend_env(&self.args, &build_env, &cmd)
        };
        let mut probe = self.run.clone();
        probe.cmd = Some(save_cmd.clone());
        if !save_cmd.is_empty() {
            probe.entrypoint = None;
        }
        let vars = self.env();
        let mounts = r
            .mounts(&self.b.lex, &vars)
            .map_err(|source| Error::Expand {
                instruction: original.to_string(),
                source: Box::new(source),
            })?;
        let mut prepared = self.prepare_mounts(&mounts, stage, original).await?;
        if r.network != NetworkMode::Default {
            prepared.key.push(format!("network={network}"));
        }
        if let Some((name, text)) = &script {
            prepared.key.push(format!(
                "script={name}:{}",
                hex::encode(Sha256::digest(text.as_bytes()))
            ));
            let dir = self.b.backend.scratch().join(crate::stage::unique("pipes"));
            let file = dir.join(name);
            let (d2, f2, t2) = (dir.clone(), file.clone(), text.clone());
            tokio::task::spawn_blocking(move || -> std::io::Result<()> {
                use std::os::unix::fs::PermissionsExt;
                std::fs::create_dir_all(&d2)?;
                std::fs::write(&f2, t2)?;
                std::fs::set_permissions(&f2, std::fs::Permissions::from_mode(0o755))
            })
            .await?
            .map_err(|e| Error::io("writing the heredoc script", &file, e))?;
            prepared.mounts.push(RunMount::Bind {
                source: file,
                target: format!("{PIPES}/{name}"),
                readonly: true,
            });
        }
        let (key, hit) = self.probe(&probe, &prepared.key).await?;
        if hit {
            return Ok(());
        }
        let mut config = self.run.clone();
        config.cmd = Some(cmd.clone());
        let mut run_env = env;
        run_env.extend(build_env);
        run_env.extend(prepared.env.iter().cloned());
        config.env = Some(run_env);
        config.entrypoint = Some(vec![String::new()]);
        config.healthcheck = Some(HealthConfig {
            test: Some(vec!["NONE".into()]),
            ..Default::default()
        });
        let spec = RunSpec {
            image: image.id.clone(),
            config,
            network,
            extra_hosts: self.b.opts.extra_hosts.clone(),
            resources: self.b.opts.resources.clone(),
            mounts: prepared.mounts.clone(),
        };
        let id = self.b.backend.create_container(&spec).await?;
        self.out.line(format!(" ---> Running in {}", short_id(&id)));
        let ran = self.b.backend.run_container(&id, &self.out).await;
        drop(prepared);
        let code = match ran {
            Ok(code) => code,
            Err(e) => {
                self.remove_if(self.b.opts.force_remove, &id).await;
                return Err(e.into());
            }
        };
        if code != 0 {
            self.remove_if(self.b.opts.force_remove, &id).await;
            return Err(Error::RunFailed {
                command: cmd.join(" "),
                code,
            });
        }
        let committed = self
            .commit(&key, &probe, LayerChange::Container(id.clone()))
            .await;
        let rm = self.b.opts.force_remove || (self.b.opts.remove && committed.is_ok());
        self.remove_if(rm, &id).await;
        committed
    }

    /// Removes a step's container when asked to, saying so as docker does.
    async fn remove_if(&self, yes: bool, id: &str) {
        if !yes {
            return;
        }
        match self.b.backend.remove_container(id).await {
            Ok(()) => self
                .out
                .line(format!("Removing intermediate container {}", short_id(id))),
            Err(e) => self.out.line(format!(
                "Removing intermediate container {}: {e}",
                short_id(id)
            )),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use dockerfile::instructions::Kind;

    fn run_of(src: &str) -> Run {
        let df = dockerfile::parse(src).unwrap();
        match &df.stages[0].instructions[0].kind {
            Kind::Run(r) => r.clone(),
            _ => panic!(),
        }
    }

    #[test]
    fn heredocs_run_as_buildkit_runs_them() {
        let r = run_of("FROM s\nRUN <<EOF\necho hi\nEOF\n");
        assert_eq!(
            heredoc_command(&r.command).unwrap(),
            (vec!["echo hi\n".to_string()], None)
        );
        let r = run_of("FROM s\nRUN <<EOF\n#!/bin/sh\necho hi\nEOF\n");
        let (w, s) = heredoc_command(&r.command).unwrap();
        assert_eq!(w, ["/dev/pipes/EOF"]);
        assert_eq!(s.unwrap().1, "#!/bin/sh\necho hi\n");
        let r = run_of("FROM s\nRUN cat <<A > /a && cat <<B > /b\none\nA\ntwo\nB\n");
        let (w, _) = heredoc_command(&r.command).unwrap();
        assert_eq!(w, ["cat <<A > /a && cat <<B > /b\none\nA\ntwo\nB"]);
        let r = run_of("FROM s\nRUN <<-EOF\n\techo tab\nEOF\n");
        assert_eq!(heredoc_command(&r.command).unwrap().0, ["echo tab\n"]);
    }

    #[test]
    fn build_args_prefix_the_history() {
        let mut a = BuildArgs::new(Default::default());
        a.declare("V", Some("1".into()));
        let cmd = vec!["/bin/sh".to_string(), "-c".into(), "echo".into()];
        let v = prepend_env(&a, &["V=1".into(), "http_proxy=p".into()], &cmd);
        assert_eq!(v.join(" "), "|1 V=1 /bin/sh -c echo");
    }
}
