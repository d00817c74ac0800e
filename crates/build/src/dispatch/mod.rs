//! Dispatching one instruction of a stage: expand it (exactly the parts the builder expands,
//! see `dockerfile::instructions::Instruction::expand`), then run it — `meta` for the
//! config-only instructions, `run` for RUN, `copy` for COPY/ADD, WORKDIR here — and ONBUILD
//! triggers inherited from the base image.

mod copy;
mod meta;
mod mounts;
mod run;

pub use meta::{exposed_ports, valid_signal};

use dockerfile::instructions::Kind;
use dockerfile::Instruction;

use crate::backend::{Backend, LayerChange};
use crate::error::{Error, Result};
use crate::fs::root;
use crate::stage::Stage;

/// moby's `normalizeWorkdir`: a relative WORKDIR is relative to the current one.
pub fn normalize_workdir(current: &str, requested: &str) -> String {
    let joined = if requested.starts_with('/') {
        requested.to_string()
    } else {
        format!("/{current}/{requested}")
    };
    dockerfile::ignore::clean(&joined)
}

impl<'b, B: Backend> Stage<'b, B> {
    /// Expands `ins` with the stage's variables and runs it.
    pub async fn dispatch(&mut self, ins: &Instruction, stage: usize) -> Result<()> {
        let mut ins = ins.clone();
        let env = self.env();
        ins.expand(&self.b.lex, &env)
            .map_err(|source| Error::Expand {
                instruction: ins.original.clone(),
                source: Box::new(source),
            })?;
        self.dispatch_unexpanded(&ins, stage).await
    }

    /// Runs an instruction as it is (already expanded, or never to be).
    pub async fn dispatch_unexpanded(&mut self, ins: &Instruction, stage: usize) -> Result<()> {
        let o = ins.original.as_str();
        match &ins.kind {
            Kind::Env(e) => self.env_step(e).await,
            Kind::Label(l) => self.label_step(l).await,
            Kind::Maintainer(m) => self.maintainer_step(&m.maintainer).await,
            Kind::Cmd(c) => self.cmd_step(c).await,
            Kind::Entrypoint(c) => self.entrypoint_step(c).await,
            Kind::Expose(e) => self.expose_step(e, o).await,
            Kind::Volume(v) => self.volume_step(v, o).await,
            Kind::User(u) => self.user_step(&u.user).await,
            Kind::Stopsignal(s) => self.stopsignal_step(&s.signal, o).await,
            Kind::Healthcheck(h) => self.healthcheck_step(h).await,
            Kind::Shell(s) => self.shell_step(&s.shell).await,
            Kind::Onbuild(t) => self.onbuild_step(&t.expression).await,
            Kind::Arg(a) => self.arg_step(a, o).await,
            Kind::Workdir(w) => self.workdir_step(&w.path, o).await,
            Kind::Run(r) => self.run_step(r, o, stage).await,
            Kind::Copy(c) => self.copy_step(c, o, stage).await,
            Kind::Add(a) => self.add_step(a, o).await,
            Kind::From(_) => Err(Error::invalid(o, "FROM is not allowed here")),
        }
    }

    /// Runs the base image's ONBUILD triggers (they are not inherited further).
    pub async fn run_triggers(&mut self, stage: usize) -> Result<()> {
        let triggers = self.run.on_build.take().unwrap_or_default();
        if triggers.is_empty() {
            return Ok(());
        }
        let n = triggers.len();
        self.out.line(format!(
            "# Executing {n} build trigger{}",
            if n > 1 { "s" } else { "" }
        ));
        for t in &triggers {
            let ins = dockerfile::parse_trigger(t).map_err(|source| Error::Parse {
                name: format!("ONBUILD trigger {t:?}"),
                source: Box::new(source),
            })?;
            Box::pin(self.dispatch(&ins, stage)).await?;
        }
        Ok(())
    }

    /// WORKDIR: the run config's working directory, and the directory itself created in a
    /// layer of its own (empty when it was there already).
    async fn workdir_step(&mut self, path: &str, original: &str) -> Result<()> {
        if path.is_empty() {
            return Err(Error::invalid(original, "cannot normalize nothing"));
        }
        let current = self.run.working_dir.clone().unwrap_or_default();
        let wd = normalize_workdir(&current, path);
        self.run.working_dir = Some(wd.clone());
        let cc = self.comment_config(&format!("WORKDIR {wd}"), true);
        let (key, hit) = self.probe(&cc, &[]).await?;
        if hit {
            return Ok(());
        }
        let layer = self.b.backend.open_layer(self.image.as_ref()).await?;
        let dir = layer.as_ref().to_path_buf();
        let rel = wd.trim_start_matches('/').to_string();
        tokio::task::spawn_blocking(move || root::mkdir_all(&dir, &rel, 0o755, (0, 0)))
            .await?
            .map_err(|source| Error::Copy {
                instruction: "WORKDIR",
                source,
            })?;
        self.commit(&key, &cc, LayerChange::Written(layer)).await
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn workdirs() {
        assert_eq!(normalize_workdir("", "/app"), "/app");
        assert_eq!(normalize_workdir("/app", "sub/../x"), "/app/x");
        assert_eq!(normalize_workdir("", "rel"), "/rel");
        assert_eq!(normalize_workdir("/a", "/b/"), "/b");
    }
}
