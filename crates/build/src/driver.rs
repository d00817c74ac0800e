//! A whole build: read and parse the Dockerfile from the context, apply `.dockerignore`,
//! check what can be checked before any output (target, COPY sources in the context), plan
//! the stages, run them — independent ones at the same time — then tag the result and print
//! the classic ending (`Successfully built …`, `Successfully tagged …`).

use std::collections::{BTreeMap, BTreeSet};
use std::sync::{Arc, Mutex};

use dockerfile::instructions::{KeyValue, Kind, Label};
use dockerfile::{Dockerfile, Instruction, Lex, Lines};
use futures_util::stream::{FuturesUnordered, StreamExt};

use crate::args::BuildArgs;
use crate::backend::{Backend, Image};
use crate::context::Context;
use crate::error::{Error, Result};
use crate::options::{check_platform, host_platform, BuildOptions};
use crate::output::Output;
use crate::plan::{plan, stage_ref, Plan};
use crate::stage::{short_id, Stage};

/// What a build produced.
#[derive(Debug, Clone)]
pub struct BuildResult {
    /// The final image.
    pub image: Image,
    /// The tags it got, familiar form.
    pub tags: Vec<String>,
}

/// What every stage of a build shares.
pub struct Builder<B: Backend> {
    /// The daemon.
    pub backend: B,
    /// The context.
    pub ctx: Arc<Context>,
    /// The options.
    pub opts: BuildOptions,
    /// The parsed Dockerfile.
    pub df: Dockerfile,
    /// The lexer with the Dockerfile's escape token.
    pub lex: Lex,
    /// `os/arch` of the build.
    pub platform: String,
    /// Build arguments after the global `ARG`s.
    pub args: BuildArgs,
    /// `cachefrom` images and their ancestors.
    pub cache_from: Vec<Image>,
    /// Finished stages' images (`None`: a scratch stage without layers).
    results: Mutex<BTreeMap<usize, Option<Image>>>,
    /// Arguments any stage declared (for the unused warning).
    referenced: Mutex<BuildArgs>,
}

impl<B: Backend> Builder<B> {
    /// The image of finished stage `i`.
    pub fn stage_result(&self, i: usize) -> Option<Option<Image>> {
        self.results
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .get(&i)
            .cloned()
    }

    /// A `cachefrom` image made by a step from `parent` whose key is `key`.
    pub fn cache_from_hit(&self, parent: Option<&str>, key: &str) -> Option<Image> {
        self.cache_from
            .iter()
            .find(|img| {
                img.parent.as_deref() == parent
                    && img
                        .config
                        .container_config
                        .as_ref()
                        .is_some_and(|cc| crate::cache::key(parent, cc, &self.platform, &[]) == key)
            })
            .cloned()
    }

    /// The image a `--from` names: a finished stage, else an image (pulled if missing).
    pub async fn from_image(
        &self,
        name: &str,
        before: usize,
        out: &Output,
    ) -> Result<Option<Image>> {
        if let Some(j) = stage_ref(&self.df, name, before) {
            return self
                .stage_result(j)
                .ok_or_else(|| Error::StageCycle(name.to_string()));
        }
        if name == "scratch" {
            return Ok(None);
        }
        Ok(Some(
            self.backend
                .base_image(name, self.opts.platform.as_deref(), false, out)
                .await?,
        ))
    }
}

/// Reads the Dockerfile named in the options from the context (docker falls back from
/// `Dockerfile` to `dockerfile`).
fn read_dockerfile(ctx: &Context, name: &str) -> Result<Dockerfile> {
    let mut found = ctx.read(name)?;
    if found.is_none() && name == "Dockerfile" {
        found = ctx.read("dockerfile")?;
    }
    let bytes = found.ok_or_else(|| Error::NoDockerfile(name.to_string()))?;
    if bytes.is_empty() {
        return Err(Error::EmptyDockerfile(name.to_string()));
    }
    dockerfile::parse_bytes(&bytes).map_err(|source| Error::Parse {
        name: name.to_string(),
        source: Box::new(source),
    })
}

/// A LABEL step for a `--label` option (never expanded, as the classic builder adds them).
fn label_instruction(key: &str, value: &str) -> Instruction {
    let text = format!("LABEL {key}={value}");
    Instruction {
        keyword: "LABEL".into(),
        lines: Lines::new(0, 0),
        flags: Vec::new(),
        args: vec![key.to_string(), value.to_string()],
        json: false,
        heredocs: Vec::new(),
        original: text,
        comments: Vec::new(),
        kind: Kind::Label(Label {
            labels: vec![KeyValue {
                key: key.to_string(),
                value: value.to_string(),
                legacy: false,
            }],
        }),
    }
}

/// Checks, before anything runs, that every COPY/ADD source of the context without variables
/// exists: a missing one is a 400, not a failure after minutes of building.
fn preflight(df: &Dockerfile, plan: &Plan, ctx: &Context) -> Result<()> {
    for p in &plan.stages {
        for ins in &df.stages[p.index].instructions {
            let (name, sources, from) = match &ins.kind {
                Kind::Copy(c) => ("COPY", &c.sources, c.from.is_some()),
                Kind::Add(a) => ("ADD", &a.sources, false),
                _ => continue,
            };
            if from {
                continue;
            }
            for s in sources {
                let remote = s.contains("://") || s.starts_with("git@");
                if remote || s.contains('$') {
                    continue;
                }
                if ctx.sources(s)?.is_empty() {
                    return Err(Error::SourceNotFound {
                        instruction: name,
                        path: s.clone(),
                    });
                }
            }
        }
    }
    Ok(())
}

/// Prepares a build: reads the Dockerfile, applies `.dockerignore`, processes global args,
/// plans the stages and checks the sources. Everything that can be refused before the first
/// output line is refused here.
pub async fn prepare<B: Backend>(
    backend: B,
    mut ctx: Context,
    opts: BuildOptions,
) -> Result<Prepared<B>> {
    opts.validate()?;
    backend.check_network(opts.network())?;
    let df = read_dockerfile(&ctx, &opts.dockerfile)?;
    ctx.apply_dockerignore()?;
    let lex = Lex::new(df.escape);
    let mut args = BuildArgs::new(opts.build_args.clone());
    for meta in &df.meta_args {
        let Kind::Arg(a) = &meta.kind else { continue };
        for def in &a.args {
            let env = args.meta();
            let default = match &def.default {
                Some(d) => Some(lex.process_word(d, &env).map_err(|source| Error::Lex {
                    instruction: meta.original.clone(),
                    source: Box::new(source),
                })?),
                None => None,
            };
            args.declare_meta(&def.key, default);
        }
    }
    let plan = plan(&df, opts.target.as_deref(), &args.meta())?;
    preflight(&df, &plan, &ctx)?;
    let (os, arch) = host_platform();
    let mut cache_from = Vec::new();
    for name in &opts.cache_from {
        // A cache source that is not here is no error: it just gives no hits.
        if let Ok(chain) = backend.image_chain(name).await {
            cache_from.extend(chain);
        }
    }
    let referenced = Mutex::new(args.clone());
    Ok(Prepared {
        plan,
        builder: Builder {
            backend,
            ctx: Arc::new(ctx),
            lex,
            platform: format!("{os}/{arch}"),
            args,
            cache_from,
            results: Mutex::new(BTreeMap::new()),
            referenced,
            df,
            opts,
        },
    })
}

/// A build that passed every check that needs no image: ready to run.
pub struct Prepared<B: Backend> {
    plan: Plan,
    builder: Builder<B>,
}

impl<B: Backend> Prepared<B> {
    /// The stages that will run, by index.
    pub fn stages(&self) -> Vec<usize> {
        self.plan.stages.iter().map(|p| p.index).collect()
    }

    /// Runs the build, streaming to `out`. On failure everything the stages printed is
    /// flushed to `out` before the error is returned.
    pub async fn run(self, out: &Output) -> Result<BuildResult> {
        let b = &self.builder;
        let result = run_stages(b, &self.plan, out).await;
        let image = match result {
            Ok(Some(img)) => img,
            Ok(None) => return Err(Error::NoImage),
            Err(e) => return Err(e),
        };
        let unused = b
            .referenced
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .unused();
        if !unused.is_empty() {
            out.line(format!(
                "[Warning] One or more build-args {} were not consumed",
                crate::golang::list(&unused)
            ));
        }
        out.line(format!("Successfully built {}", short_id(&image.id)));
        let tags = b.backend.tag(&image, &b.opts.tags).await?;
        for t in &tags {
            out.line(format!("Successfully tagged {t}"));
        }
        Ok(BuildResult { image, tags })
    }
}

/// Step numbers: the first of each planned stage, and the total (classic numbering over
/// the global ARGs and the stages that run).
fn numbering<B: Backend>(b: &Builder<B>, plan: &Plan) -> (Vec<usize>, usize) {
    let mut n = b.df.meta_args.len() + 1;
    let mut firsts = Vec::new();
    for p in &plan.stages {
        firsts.push(n);
        n += 1 + b.df.stages[p.index].instructions.len();
        if p.index == plan.target {
            n += b.opts.labels.len();
        }
    }
    (firsts, n - 1)
}

async fn run_stages<B: Backend>(
    b: &Builder<B>,
    plan: &Plan,
    out: &Output,
) -> Result<Option<Image>> {
    let (firsts, total) = numbering(b, plan);
    for (i, meta) in b.df.meta_args.iter().enumerate() {
        out.line(format!("Step {}/{total} : {}", i + 1, meta.original));
    }
    let staged = out.with_stages(plan.stages.len());
    let mut started = BTreeSet::new();
    let mut done: BTreeSet<usize> = BTreeSet::new();
    let mut running = FuturesUnordered::new();
    let mut failure: Option<Error> = None;
    loop {
        if failure.is_none() {
            for (slot, p) in plan.stages.iter().enumerate() {
                if started.contains(&slot) || !p.deps.iter().all(|d| done.contains(d)) {
                    continue;
                }
                started.insert(slot);
                let o = staged.stage(slot);
                let step = (firsts[slot], total);
                let is_target = p.index == plan.target;
                running
                    .push(async move { (slot, run_stage(b, p.index, &o, step, is_target).await) });
            }
        }
        let Some((slot, r)) = running.next().await else {
            break;
        };
        match r {
            Ok((img, args)) => {
                let index = plan.stages[slot].index;
                b.results
                    .lock()
                    .unwrap_or_else(|e| e.into_inner())
                    .insert(index, img);
                b.referenced
                    .lock()
                    .unwrap_or_else(|e| e.into_inner())
                    .merge_referenced(&args);
                done.insert(index);
                staged.finish_stage(slot);
            }
            Err(e) => {
                // Stages already running finish (none is left half done); none starts.
                staged.flush();
                failure.get_or_insert(e);
            }
        }
    }
    if let Some(e) = failure {
        staged.flush();
        return Err(e);
    }
    Ok(b.stage_result(plan.target).flatten())
}

/// Runs stage `index`: FROM, its ONBUILD triggers, its instructions (and the `--label`s on
/// the target); returns its image and its build arguments.
async fn run_stage<B: Backend>(
    b: &Builder<B>,
    index: usize,
    out: &Output,
    (first, total): (usize, usize),
    is_target: bool,
) -> Result<(Option<Image>, BuildArgs)> {
    let s = &b.df.stages[index];
    let mut n = first;
    out.line(format!("Step {n}/{total} : {}", s.from.original));
    n += 1;
    let (base, platform) = s
        .expand_base(&b.lex, &b.args.meta())
        .map_err(|source| Error::Lex {
            instruction: s.from.original.clone(),
            source: Box::new(source),
        })?;
    if base.is_empty() {
        return Err(Error::BlankBase(s.base.clone()));
    }
    if let Some(p) = &platform {
        check_platform(p)?;
    }
    let image = match stage_ref(&b.df, &base, index) {
        Some(j) => b
            .stage_result(j)
            .ok_or_else(|| Error::StageCycle(base.clone()))?,
        None if base.eq_ignore_ascii_case("scratch") => None,
        None => {
            let platform = platform.as_deref().or(b.opts.platform.as_deref());
            Some(
                b.backend
                    .base_image(&base, platform, b.opts.pull, out)
                    .await?,
            )
        }
    };
    out.line(format!(
        " ---> {}",
        image.as_ref().map(|i| short_id(&i.id)).unwrap_or_default()
    ));
    let mut st = Stage::new(b, out.clone(), image, b.args.for_stage());
    st.run_triggers(index).await?;
    for ins in &s.instructions {
        out.line(format!("Step {n}/{total} : {}", ins.original));
        n += 1;
        let t0 = std::time::Instant::now();
        st.dispatch(ins, index).await?;
        tracing::debug!(step = n - 1, elapsed_us = t0.elapsed().as_micros() as u64, instruction = %ins.keyword, "build step");
        out.line(format!(" ---> {}", short_id(st.image_id())));
    }
    if is_target {
        for (k, v) in &b.opts.labels {
            let ins = label_instruction(k, v);
            out.line(format!("Step {n}/{total} : {}", ins.original));
            n += 1;
            st.dispatch_unexpanded(&ins, index).await?;
            out.line(format!(" ---> {}", short_id(st.image_id())));
        }
    }
    if let Some(img) = &st.image {
        out.aux(serde_json::json!({ "ID": img.id }));
    }
    Ok((st.image, st.args))
}
