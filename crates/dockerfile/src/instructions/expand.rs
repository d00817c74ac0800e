//! The builder's variable expansion, instruction by instruction, as BuildKit applies it (each
//! value is one word: [`Lex::process_word`], unless noted):
//!
//! | instruction | expanded |
//! | --- | --- |
//! | ENV, LABEL | keys and values |
//! | ADD | `--chown`, `--chmod`, `--checksum`, sources, destination; heredoc sources marked `expand` (quotes stay literal) |
//! | COPY | `--chown`, `--chmod`, sources, destination; heredoc sources marked `expand`; `--from` must contain no variable |
//! | WORKDIR, USER, STOPSIGNAL | the value |
//! | VOLUME | each path |
//! | EXPOSE | each port, then split into words (`EXPOSE $PORTS`) |
//! | RUN | `--mount` values only ([`Run::mounts`]); never the command, never heredocs |
//! | FROM | image and `--platform`, with the global ARGs only (the caller passes them) |
//! | ARG | nothing here: the builder expands a default only when no `--build-arg` overrides it |
//! | CMD, ENTRYPOINT, SHELL, HEALTHCHECK, ONBUILD, MAINTAINER | never |

use super::mount::{parse_mount, Mount, MountError};
use super::*;
use crate::shell::{Env as Vars, Lex, LexError, NoEnv};

/// An instruction the builder cannot expand.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ExpandError {
    /// A value does not expand (bad syntax, or `${X:?}` with X unset).
    #[error(transparent)]
    Lex(#[from] LexError),
    /// A `--mount` value is invalid once expanded.
    #[error(transparent)]
    Mount(#[from] MountError),
    /// `COPY --from=$X`.
    #[error(
        "variable expansion is not supported for --from, define a new stage with FROM using ARG from global scope as a workaround"
    )]
    FromVariable,
}

fn word(lex: &Lex, env: &dyn Vars, s: &mut String) -> Result<(), LexError> {
    *s = lex.process_word(s, env)?;
    Ok(())
}

fn opt_word(lex: &Lex, env: &dyn Vars, s: &mut Option<String>) -> Result<(), LexError> {
    if let Some(v) = s {
        word(lex, env, v)?;
        if v.is_empty() {
            *s = None;
        }
    }
    Ok(())
}

fn words(lex: &Lex, env: &dyn Vars, v: &mut [String]) -> Result<(), LexError> {
    v.iter_mut().try_for_each(|s| word(lex, env, s))
}

fn key_values(lex: &Lex, env: &dyn Vars, kvs: &mut [KeyValue]) -> Result<(), LexError> {
    for kv in kvs {
        word(lex, env, &mut kv.key)?;
        word(lex, env, &mut kv.value)?;
    }
    Ok(())
}

/// Heredoc sources: expanded with `\` as escape and quotes left alone.
fn inline(env: &dyn Vars, sources: &mut [InlineSource]) -> Result<(), LexError> {
    let mut lex = Lex::new('\\');
    lex.skip_process_quotes = true;
    for s in sources.iter_mut().filter(|s| s.expand) {
        word(&lex, env, &mut s.data)?;
    }
    Ok(())
}

impl Instruction {
    /// Expands, in place, what the builder expands for this instruction (see the table in
    /// this module) with `env`: the stage's environment (ENV and ARG values so far), or the
    /// global ARGs for FROM. `lex` carries the file's escape token.
    pub fn expand(&mut self, lex: &Lex, env: &dyn Vars) -> Result<(), ExpandError> {
        self.kind.expand(lex, env)
    }
}

impl Kind {
    /// See [`Instruction::expand`].
    pub fn expand(&mut self, lex: &Lex, env: &dyn Vars) -> Result<(), ExpandError> {
        match self {
            Kind::Env(e) => key_values(lex, env, &mut e.vars)?,
            Kind::Label(l) => key_values(lex, env, &mut l.labels)?,
            Kind::Add(a) => {
                opt_word(lex, env, &mut a.chown)?;
                opt_word(lex, env, &mut a.chmod)?;
                opt_word(lex, env, &mut a.checksum)?;
                words(lex, env, &mut a.sources)?;
                word(lex, env, &mut a.dest)?;
                inline(env, &mut a.inline)?;
            }
            Kind::Copy(c) => {
                if let Some(from) = &c.from {
                    if lex.process_word(from, &NoEnv)? != *from {
                        return Err(ExpandError::FromVariable);
                    }
                }
                opt_word(lex, env, &mut c.chown)?;
                opt_word(lex, env, &mut c.chmod)?;
                words(lex, env, &mut c.sources)?;
                word(lex, env, &mut c.dest)?;
                inline(env, &mut c.inline)?;
            }
            Kind::Workdir(w) => word(lex, env, &mut w.path)?,
            Kind::User(u) => word(lex, env, &mut u.user)?,
            Kind::Stopsignal(s) => word(lex, env, &mut s.signal)?,
            Kind::Volume(v) => words(lex, env, &mut v.volumes)?,
            Kind::Expose(e) => {
                let mut ports = Vec::with_capacity(e.ports.len());
                for p in &e.ports {
                    ports.extend(lex.process_words(p, env)?);
                }
                e.ports = ports;
            }
            Kind::From(f) => {
                word(lex, env, &mut f.image)?;
                opt_word(lex, env, &mut f.platform)?;
            }
            Kind::Run(_)
            | Kind::Arg(_)
            | Kind::Cmd(_)
            | Kind::Entrypoint(_)
            | Kind::Shell(_)
            | Kind::Healthcheck(_)
            | Kind::Onbuild(_)
            | Kind::Maintainer(_) => {}
        }
        Ok(())
    }
}

impl Run {
    /// The `--mount`s, each value expanded with `env`, fully checked.
    pub fn mounts(&self, lex: &Lex, env: &dyn Vars) -> Result<Vec<Mount>, ExpandError> {
        let mut expand = |s: &str| lex.process_word(s, env);
        let mut out = Vec::with_capacity(self.mounts.len());
        for m in &self.mounts {
            out.push(parse_mount(m, Some(&mut expand))?);
        }
        Ok(out)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::parse;

    fn vars(pairs: &[(&str, &str)]) -> Vec<(String, String)> {
        pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect()
    }

    fn expanded(src: &str, env: &[(&str, &str)]) -> Kind {
        let df = parse(src).unwrap();
        let mut i = df.stages[0].instructions[0].clone();
        i.expand(&Lex::new(df.escape), &vars(env)).unwrap();
        i.kind
    }

    #[test]
    fn what_is_expanded() {
        let env = [("A", "x y"), ("P", "80 443/udp"), ("U", "me")];
        let Kind::Env(e) = expanded("FROM s\nENV k=\"$A\" $U=v", &env) else {
            panic!()
        };
        assert_eq!(
            (e.vars[0].value.as_str(), e.vars[1].key.as_str()),
            ("x y", "me")
        );
        let Kind::Expose(e) = expanded("FROM s\nEXPOSE $P 22", &env) else {
            panic!()
        };
        // Sorted as written, then expanded (BuildKit sorts before expanding).
        assert_eq!(e.ports, ["80", "443/udp", "22"]);
        let Kind::Copy(c) = expanded("FROM s\nCOPY --chown=$U a$U \"/d$A\"", &env) else {
            panic!()
        };
        assert_eq!(
            (c.chown.as_deref(), c.sources[0].as_str(), c.dest.as_str()),
            (Some("me"), "ame", "/dx y")
        );
        let Kind::Run(r) = expanded("FROM s\nRUN echo $A", &env) else {
            panic!()
        };
        assert_eq!(r.command.args, ["echo $A"]);
        let Kind::Cmd(c) = expanded("FROM s\nCMD [\"$A\"]", &env) else {
            panic!()
        };
        assert_eq!(c.args, ["$A"]);
    }

    #[test]
    fn heredoc_sources() {
        let src = "FROM s\nCOPY <<A <<'B' /d\n'$U' \"$U\" \\$U\nA\n$U\nB\n";
        let Kind::Copy(c) = expanded(src, &[("U", "me")]) else {
            panic!()
        };
        assert_eq!(c.inline[0].data, "'me' \"me\" $U\n");
        assert_eq!(c.inline[1].data, "$U\n");
    }

    #[test]
    fn copy_from_refuses_variables() {
        let df = parse("FROM s\nCOPY --from=$X a b").unwrap();
        let mut i = df.stages[0].instructions[0].clone();
        assert_eq!(
            i.expand(&Lex::new('\\'), &NoEnv),
            Err(ExpandError::FromVariable)
        );
    }

    #[test]
    fn run_mounts_expand_values() {
        let df = parse("FROM s\nRUN --mount=type=cache,target=$T,id=${ID:-x} make").unwrap();
        let Kind::Run(r) = &df.stages[0].instructions[0].kind else {
            panic!()
        };
        let m = r.mounts(&Lex::new('\\'), &vars(&[("T", "/c")])).unwrap();
        assert_eq!(
            (m[0].target.as_deref(), m[0].cache_id.as_deref()),
            (Some("/c"), Some("x"))
        );
        let bad = parse("FROM s\nRUN --mount=type=$T make").unwrap();
        let Kind::Run(r) = &bad.stages[0].instructions[0].kind else {
            panic!()
        };
        assert!(matches!(
            r.mounts(&Lex::new('\\'), &vars(&[("T", "nfs")])),
            Err(ExpandError::Mount(_))
        ));
    }
}
