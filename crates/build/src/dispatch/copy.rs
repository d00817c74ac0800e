//! COPY and ADD: gather the sources (context paths and patterns, heredocs, another stage or
//! image with `--from`, URLs and local archives for ADD), key the step on their content
//! hashes (`COPY file:<sha256> in /dst ` in the history, as the classic builder writes it),
//! and on a miss write them into a new layer.

use dockerfile::instructions::{Add, Copy, InlineSource};
use sha2::{Digest as _, Sha256};

use crate::backend::{Backend, Image, LayerChange};
use crate::context::{has_wildcards, hash_list};
use crate::error::{Error, Result};
use crate::fs::copy::{self, Owner, Place, Tree};
use crate::fs::root;
use crate::stage::Stage;
use dockerfile::ignore::Pattern;

/// One source, ready to copy.
enum Item {
    Tree(Tree),
    /// A local archive ADD unpacks.
    Archive(std::path::PathBuf),
}

/// What COPY and ADD share.
struct Request<'a> {
    name: &'static str,
    sources: &'a [String],
    inline: &'a [InlineSource],
    dest: &'a str,
    from: Option<&'a str>,
    chown: Option<&'a str>,
    chmod: Option<&'a str>,
    excludes: &'a [String],
    parents: bool,
    link: bool,
    /// ADD: unpack local archives (`None`: default, yes; URLs: only with `Some(true)`).
    unpack: Option<bool>,
    checksum: Option<&'a str>,
    add: bool,
}

fn parse_chmod(s: &str, original: &str) -> Result<u32> {
    u32::from_str_radix(s, 8)
        .ok()
        .filter(|m| *m <= 0o7777)
        .ok_or_else(|| {
            Error::invalid(
                original,
                format!("invalid --chmod value {s:?}: berth takes an octal mode (0755)"),
            )
        })
}

fn is_url(s: &str) -> bool {
    s.starts_with("http://") || s.starts_with("https://")
}

fn is_git(s: &str) -> bool {
    s.starts_with("git@") || s.starts_with("git://") || (is_url(s) && s.contains(".git"))
}

/// moby's `normalizeDest`: relative to the working directory, trailing slash kept.
fn normalize_dest(workdir: &str, dest: &str) -> String {
    if dest.starts_with('/') {
        return dest.to_string();
    }
    let mut d = dockerfile::ignore::clean(&format!("/{workdir}/{dest}"));
    if dest.ends_with('/') || dest == "." {
        d.push('/');
    }
    d
}

impl<'b, B: Backend> Stage<'b, B> {
    pub(crate) async fn copy_step(&mut self, c: &Copy, original: &str, stage: usize) -> Result<()> {
        let req = Request {
            name: "COPY",
            sources: &c.sources,
            inline: &c.inline,
            dest: &c.dest,
            from: c.from.as_deref(),
            chown: c.chown.as_deref(),
            chmod: c.chmod.as_deref(),
            excludes: &c.excludes,
            parents: c.parents,
            link: c.link,
            unpack: Some(false),
            checksum: None,
            add: false,
        };
        self.copy_common(&req, original, stage).await
    }

    pub(crate) async fn add_step(&mut self, a: &Add, original: &str) -> Result<()> {
        if a.keep_git_dir.is_some() || a.sources.iter().any(|s| is_git(s)) {
            return Err(Error::Unsupported {
                what: "ADD of a git repository".into(),
                why: "clone it in the context and COPY it instead",
            });
        }
        let req = Request {
            name: "ADD",
            sources: &a.sources,
            inline: &a.inline,
            dest: &a.dest,
            from: None,
            chown: a.chown.as_deref(),
            chmod: a.chmod.as_deref(),
            excludes: &a.excludes,
            parents: false,
            link: a.link,
            unpack: a.unpack,
            checksum: a.checksum.as_deref(),
            add: true,
        };
        self.copy_common(&req, original, usize::MAX).await
    }

    /// The sources of `--from` (`view`: the stage's or image's mounted filesystem).
    fn sources_from_image(
        &self,
        view: &std::path::Path,
        req: &Request<'_>,
        image: &str,
    ) -> Result<(Vec<Item>, Vec<String>)> {
        let mut items = Vec::new();
        let mut hashes = Vec::new();
        for s in req.sources {
            let rel = s.trim_start_matches('/');
            let names = if has_wildcards(rel) {
                glob_view(view, rel).map_err(|e| Error::io("listing", view, e))?
            } else {
                vec![rel.to_string()]
            };
            if names.is_empty() {
                return Err(Error::FromSourceNotFound {
                    instruction: req.name,
                    path: s.clone(),
                    from: req.from.unwrap_or_default().to_string(),
                });
            }
            for n in names {
                let found = root::resolve(view, &n, true)
                    .map_err(|e| Error::io("resolving", view, e))?
                    .ok_or_else(|| Error::FromSourceNotFound {
                        instruction: req.name,
                        path: n.clone(),
                        from: req.from.unwrap_or_default().to_string(),
                    })?;
                let tree = copy::from_host(&n, &found.path)
                    .map_err(|e| Error::io("reading", &found.path, e))?;
                // An image never changes: its id and the path name the content.
                hashes.push(format!("from:{image}:{n}"));
                items.push(Item::Tree(tree));
            }
        }
        Ok((items, hashes))
    }

    /// The sources from the context, URLs (ADD) and heredocs.
    async fn local_sources(
        &self,
        req: &Request<'_>,
        original: &str,
    ) -> Result<(Vec<Item>, Vec<String>)> {
        let mut items = Vec::new();
        let mut hashes = Vec::new();
        for s in req.sources {
            if req.add && is_url(s) {
                let (item, hash) = self.download(s, req, original).await?;
                items.push(item);
                hashes.push(hash);
                continue;
            }
            let found = self.b.ctx.sources(s)?;
            if found.is_empty() {
                return Err(Error::SourceNotFound {
                    instruction: req.name,
                    path: s.clone(),
                });
            }
            for src in found {
                let tree = copy::from_context(&self.b.ctx, &src.name, &src.path);
                hashes.push(src.hash.clone());
                let host = self.b.ctx.root().join(&src.path);
                let unpack = req.add && req.unpack != Some(false) && !src.is_dir;
                if unpack && copy::is_archive(&host) {
                    items.push(Item::Archive(host));
                } else {
                    items.push(Item::Tree(tree));
                }
            }
        }
        for i in req.inline {
            let data = i.data.clone().into_bytes();
            let mut h = Sha256::new();
            h.update(i.path.as_bytes());
            h.update(b"\0");
            h.update(&data);
            hashes.push(format!("file:{}", hex::encode(h.finalize())));
            items.push(Item::Tree(copy::from_bytes(&i.path, data, 0o644)));
        }
        Ok((items, hashes))
    }

    async fn download(
        &self,
        url: &str,
        req: &Request<'_>,
        original: &str,
    ) -> Result<(Item, String)> {
        let d = self
            .b
            .backend
            .download(url, &self.out)
            .await
            .map_err(Error::Download)?;
        let path = d.path.clone();
        let data = tokio::task::spawn_blocking(move || std::fs::read(&path))
            .await?
            .map_err(|e| Error::io("reading the download", &d.path, e))?;
        let sum = hex::encode(Sha256::digest(&data));
        if let Some(want) = req.checksum {
            if want.strip_prefix("sha256:") != Some(sum.as_str()) {
                return Err(Error::invalid(
                    original,
                    format!("digest mismatch for {url}: expected {want}, got sha256:{sum}"),
                ));
            }
        }
        let name = match d.filename.clone() {
            Some(n) => n,
            None if req.dest.ends_with('/') => {
                return Err(Error::invalid(
                    original,
                    format!("cannot determine filename for source {url}"),
                ))
            }
            None => "__unnamed__".to_string(),
        };
        if req.unpack == Some(true) && copy::is_archive(&d.path) {
            return Ok((Item::Archive(d.path), format!("file:{sum}")));
        }
        let mut tree = copy::from_bytes(&name, data, 0o600);
        tree.nodes[0].meta.mtime = d.mtime.unwrap_or(0);
        Ok((Item::Tree(tree), format!("file:{sum}")))
    }

    async fn copy_common(&mut self, req: &Request<'_>, original: &str, stage: usize) -> Result<()> {
        let chmod = req.chmod.map(|m| parse_chmod(m, original)).transpose()?;
        let excludes = req
            .excludes
            .iter()
            .map(|e| Pattern::new(e))
            .collect::<std::result::Result<Vec<_>, _>>()
            .map_err(|e| Error::invalid(original, e.to_string()))?;
        let from: Option<Option<Image>> = match req.from {
            Some(f) => Some(self.b.from_image(f, stage, &self.out).await?),
            None => None,
        };
        let view = match &from {
            Some(Some(img)) => Some(self.b.backend.mount_image(img).await?),
            _ => None,
        };
        let (items, hashes) = match (&from, &view) {
            (Some(Some(img)), Some(v)) => self.sources_from_image(v.as_ref(), req, &img.id)?,
            (Some(_), _) => {
                return Err(Error::FromSourceNotFound {
                    instruction: req.name,
                    path: req.sources.join(" "),
                    from: req.from.unwrap_or_default().to_string(),
                })
            }
            (None, _) => self.local_sources(req, original).await?,
        };
        if items.len() > 1 && !req.dest.ends_with('/') {
            return Err(Error::MultiSourceDest(req.name));
        }
        let chown_comment = req
            .chown
            .map(|c| format!("--chown={c} "))
            .unwrap_or_default();
        let hash = hash_list(hashes.iter().map(String::as_str));
        let comment = format!("{} {chown_comment}{hash} in {} ", req.name, req.dest);
        let cc = self.comment_config(&comment, true);
        let mut extra = Vec::new();
        if let Some(m) = chmod {
            extra.push(format!("chmod={m:o}"));
        }
        if !req.excludes.is_empty() {
            extra.push(format!("exclude={:?}", req.excludes));
        }
        if req.parents {
            extra.push("parents".into());
        }
        let (key, hit) = self.probe(&cc, &extra).await?;
        if hit {
            return Ok(());
        }
        let _ = req.link; // --link changes how BuildKit stores the layer, not its files.
        let layer = self.b.backend.open_layer(self.image.as_ref()).await?;
        let root_dir = layer.as_ref().to_path_buf();
        let owner = match req.chown {
            Some(c) => {
                let r = root_dir.clone();
                let spec = c.to_string();
                let ids =
                    tokio::task::spawn_blocking(move || root::parse_chown(Some(&r), &spec)).await?;
                let (u, g) = ids.map_err(|reason| {
                    Error::invalid(
                        original,
                        format!("unable to convert uid/gid chown string to host mapping: {reason}"),
                    )
                })?;
                Owner::Chown(u, g)
            }
            None if req.from.is_some() => Owner::Preserve,
            None => Owner::Root,
        };
        let how = Place {
            owner,
            chmod,
            parents: req.parents,
            excludes,
        };
        let dest = normalize_dest(self.run.working_dir.as_deref().unwrap_or(""), req.dest);
        let name = req.name;
        let written =
            tokio::task::spawn_blocking(move || -> std::result::Result<(), copy::CopyError> {
                let mut trees = Vec::new();
                for item in items {
                    match item {
                        Item::Tree(t) => trees.push(t),
                        Item::Archive(p) => copy::unpack(&root_dir, &dest, &p)?,
                    }
                }
                if !trees.is_empty() {
                    copy::place(&root_dir, &dest, &trees, &how)?;
                }
                Ok(())
            })
            .await?;
        drop(view);
        written.map_err(|e| match e {
            copy::CopyError::Io(source) => Error::Copy {
                instruction: name,
                source,
            },
            copy::CopyError::Apply(a) => Error::Unpack(a),
        })?;
        self.commit(&key, &cc, LayerChange::Written(layer)).await
    }
}

/// The paths of a mounted image matching a pattern of plain components with wildcards.
fn glob_view(view: &std::path::Path, pattern: &str) -> std::io::Result<Vec<String>> {
    let mut found = vec![String::new()];
    for comp in pattern.split('/').filter(|c| !c.is_empty() && *c != ".") {
        let mut next = Vec::new();
        for base in found {
            if !has_wildcards(comp) {
                next.push(if base.is_empty() {
                    comp.to_string()
                } else {
                    format!("{base}/{comp}")
                });
                continue;
            }
            let Some(dir) = root::resolve(view, &base, true)?.filter(|f| f.meta.is_dir()) else {
                continue;
            };
            let pat = Pattern::new(comp)
                .map_err(|e| std::io::Error::new(std::io::ErrorKind::InvalidInput, e))?;
            let mut names: Vec<String> = std::fs::read_dir(&dir.path)?
                .filter_map(|e| e.ok())
                .map(|e| e.file_name().to_string_lossy().into_owned())
                .filter(|n| pat.matches(n))
                .collect();
            names.sort();
            for n in names {
                next.push(if base.is_empty() {
                    n
                } else {
                    format!("{base}/{n}")
                });
            }
        }
        found = next;
    }
    Ok(found)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn destinations() {
        assert_eq!(normalize_dest("/app", "x"), "/app/x");
        assert_eq!(normalize_dest("/app", "x/"), "/app/x/");
        assert_eq!(normalize_dest("/app", "."), "/app/");
        assert_eq!(normalize_dest("", "/abs"), "/abs");
        assert_eq!(normalize_dest("", "rel"), "/rel");
    }

    #[test]
    fn chmod_values() {
        assert_eq!(parse_chmod("755", "x").unwrap(), 0o755);
        assert_eq!(parse_chmod("0644", "x").unwrap(), 0o644);
        assert!(parse_chmod("u+x", "x").is_err());
        assert!(parse_chmod("77777", "x").is_err());
    }
}
