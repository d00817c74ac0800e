//! The stage graph: which stages a build runs and what each waits for. A stage depends on
//! an earlier stage its `FROM`, `COPY --from` or `RUN --mount=from=` names (by name or
//! index); the target (`--target`, else the last stage) and what it depends on run, every
//! other stage is skipped; stages that do not depend on each other run at the same time.

use std::collections::{BTreeMap, BTreeSet};

use dockerfile::instructions::{Kind, MountType};
use dockerfile::{Dockerfile, Lex};

use crate::error::{Error, Result};

/// One stage to run.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Planned {
    /// Its index in the Dockerfile.
    pub index: usize,
    /// Indexes of the stages it waits for.
    pub deps: BTreeSet<usize>,
}

/// The stages to run, in Dockerfile order.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Plan {
    /// The stages.
    pub stages: Vec<Planned>,
    /// The target's index.
    pub target: usize,
}

/// Finds the stage `name` refers to among the stages before `before`: a stage name, or a
/// stage index.
pub fn stage_ref(df: &Dockerfile, name: &str, before: usize) -> Option<usize> {
    let lower = name.to_ascii_lowercase();
    if let Some(i) = df.stages[..before]
        .iter()
        .position(|s| s.name.as_deref() == Some(lower.as_str()))
    {
        return Some(i);
    }
    name.parse::<usize>().ok().filter(|i| *i < before)
}

/// Plans a build of `df` up to `target`, expanding each `FROM` with the global args `meta`.
pub fn plan(
    df: &Dockerfile,
    target: Option<&str>,
    meta: &BTreeMap<String, String>,
) -> Result<Plan> {
    if df.stages.is_empty() {
        return Err(Error::NoImage);
    }
    let mut seen = BTreeSet::new();
    for s in &df.stages {
        if let Some(n) = &s.name {
            if !seen.insert(n.clone()) {
                return Err(Error::DuplicateStage(n.clone()));
            }
        }
    }
    let target = match target.filter(|t| !t.is_empty()) {
        Some(t) => {
            let lower = t.to_ascii_lowercase();
            df.stages
                .iter()
                .position(|s| s.name.as_deref() == Some(lower.as_str()))
                .ok_or_else(|| Error::NoTarget(t.to_string()))?
        }
        None => df.stages.len() - 1,
    };
    let lex = Lex::new(df.escape);
    let mut deps: Vec<BTreeSet<usize>> = Vec::with_capacity(df.stages.len());
    for (i, s) in df.stages.iter().enumerate() {
        let mut d = BTreeSet::new();
        let (base, _) = s.expand_base(&lex, meta).map_err(|source| Error::Lex {
            instruction: s.from.original.clone(),
            source: Box::new(source),
        })?;
        if let Some(j) = stage_ref(df, &base, i) {
            d.insert(j);
        }
        for ins in &s.instructions {
            for from in instruction_sources(&ins.kind) {
                if let Some(j) = stage_ref(df, &from, i) {
                    d.insert(j);
                }
            }
        }
        deps.push(d);
    }
    let mut needed = BTreeSet::new();
    let mut todo = vec![target];
    while let Some(i) = todo.pop() {
        if needed.insert(i) {
            todo.extend(deps[i].iter().copied());
        }
    }
    Ok(Plan {
        stages: needed
            .into_iter()
            .map(|i| Planned {
                index: i,
                deps: deps[i].clone(),
            })
            .collect(),
        target,
    })
}

/// The `--from` values of an instruction (COPY, RUN mounts), unexpanded.
fn instruction_sources(kind: &Kind) -> Vec<String> {
    match kind {
        Kind::Copy(c) => c.from.iter().cloned().collect(),
        Kind::Run(r) => r
            .mounts
            .iter()
            .filter_map(|m| dockerfile::instructions::parse_mount(m, None).ok())
            .filter(|m| m.kind != MountType::Tmpfs)
            .filter_map(|m| m.from)
            .collect(),
        _ => Vec::new(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn plan_of(src: &str, target: Option<&str>) -> Result<Plan> {
        plan(&dockerfile::parse(src).unwrap(), target, &BTreeMap::new())
    }

    #[test]
    fn skips_unused_stages_and_finds_deps() {
        let src = "FROM busybox AS a\nRUN x\nFROM busybox AS unused\nRUN y\nFROM busybox AS b\nCOPY --from=a /x /x\nFROM b\nRUN --mount=type=bind,from=0,target=/m z\n";
        let p = plan_of(src, None).unwrap();
        let idx: Vec<usize> = p.stages.iter().map(|s| s.index).collect();
        assert_eq!(idx, [0, 2, 3]);
        assert_eq!(p.stages[1].deps, BTreeSet::from([0]));
        assert_eq!(p.stages[2].deps, BTreeSet::from([0, 2]));
        let p = plan_of(src, Some("UNUSED")).unwrap();
        assert_eq!(p.stages.len(), 1);
        assert_eq!(p.target, 1);
    }

    #[test]
    fn bad_targets_and_names() {
        assert!(matches!(
            plan_of("FROM a AS x\n", Some("y")),
            Err(Error::NoTarget(_))
        ));
        assert!(matches!(
            plan_of("FROM a AS x\nFROM b AS x\n", None),
            Err(Error::DuplicateStage(_))
        ));
        // A name that is no earlier stage is an image.
        let p = plan_of("FROM later AS x\nFROM a AS later\n", None).unwrap();
        assert_eq!(p.stages.len(), 1);
    }
}
