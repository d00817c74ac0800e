//! Test images written as an OCI image layout (gzip layers, config, manifest, optional
//! multi-platform index) and copied into a registry with skopeo — so pull tests start from a
//! registry that berth never wrote to.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::Command;

use anyhow::{bail, Context, Result};
use serde_json::{json, Value};
use sha2::{Digest as _, Sha256};

/// `sha256:<hex>` of `data`.
pub fn sha256(data: &[u8]) -> String {
    format!("sha256:{}", hex(&Sha256::digest(data)))
}

fn hex(b: &[u8]) -> String {
    b.iter().map(|x| format!("{x:02x}")).collect()
}

/// A tar of regular files (`path`, content), parent directories included.
pub fn tar_of(files: &[(&str, &[u8])]) -> Result<Vec<u8>> {
    let mut b = tar::Builder::new(Vec::new());
    let mut dirs = std::collections::BTreeSet::new();
    for (p, _) in files {
        let mut acc = PathBuf::new();
        if let Some(parent) = Path::new(p).parent() {
            for c in parent.components() {
                acc.push(c);
                dirs.insert(acc.clone());
            }
        }
    }
    for d in dirs {
        let mut h = tar::Header::new_gnu();
        h.set_entry_type(tar::EntryType::Directory);
        h.set_mode(0o755);
        h.set_size(0);
        b.append_data(&mut h, &d, std::io::empty())?;
    }
    for (p, data) in files {
        let mut h = tar::Header::new_gnu();
        h.set_mode(0o644);
        h.set_size(data.len() as u64);
        b.append_data(&mut h, p, *data)?;
    }
    Ok(b.into_inner()?)
}

fn gzip(data: &[u8]) -> Result<Vec<u8>> {
    let mut e = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
    e.write_all(data)?;
    Ok(e.finish()?)
}

/// A descriptor: media type, digest, size.
#[derive(Debug, Clone)]
pub struct Desc {
    pub media_type: String,
    pub digest: String,
    pub size: u64,
}

impl Desc {
    fn json(&self) -> Value {
        json!({"mediaType": self.media_type, "digest": self.digest, "size": self.size})
    }

    /// The hex part of the digest.
    pub fn hex(&self) -> &str {
        self.digest.trim_start_matches("sha256:")
    }
}

/// One image of a layout: its manifest and its layer blobs.
#[derive(Debug, Clone)]
pub struct BuiltImage {
    pub manifest: Desc,
    pub config: Desc,
    pub layers: Vec<Desc>,
}

/// An OCI image layout being written.
pub struct Layout {
    pub dir: PathBuf,
    refs: Vec<Value>,
}

impl Layout {
    /// A new layout in `dir`.
    pub fn new(dir: &Path) -> Result<Layout> {
        std::fs::create_dir_all(dir.join("blobs/sha256"))?;
        std::fs::write(dir.join("oci-layout"), r#"{"imageLayoutVersion":"1.0.0"}"#)?;
        Ok(Layout {
            dir: dir.to_path_buf(),
            refs: Vec::new(),
        })
    }

    /// Stores a blob.
    pub fn blob(&self, media_type: &str, data: &[u8]) -> Result<Desc> {
        let d = sha256(data);
        std::fs::write(
            self.dir
                .join("blobs/sha256")
                .join(d.trim_start_matches("sha256:")),
            data,
        )?;
        Ok(Desc {
            media_type: media_type.into(),
            digest: d,
            size: data.len() as u64,
        })
    }

    /// An image of `layers` (uncompressed tars, stored gzip) for `arch`, running `cmd`.
    pub fn image(&self, layers: &[Vec<u8>], arch: &str, cmd: &[&str]) -> Result<BuiltImage> {
        let mut descs = Vec::new();
        let mut diff_ids = Vec::new();
        for l in layers {
            diff_ids.push(sha256(l));
            descs.push(self.blob("application/vnd.oci.image.layer.v1.tar+gzip", &gzip(l)?)?);
        }
        let config = json!({
            "architecture": arch, "os": "linux",
            "config": {"Cmd": cmd, "Env": ["PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"]},
            "rootfs": {"type": "layers", "diff_ids": diff_ids},
            "history": layers.iter().map(|_| json!({"created_by": "berth test"})).collect::<Vec<_>>(),
        });
        let config = self.blob(
            "application/vnd.oci.image.config.v1+json",
            &serde_json::to_vec(&config)?,
        )?;
        let manifest = json!({
            "schemaVersion": 2,
            "mediaType": "application/vnd.oci.image.manifest.v1+json",
            "config": config.json(),
            "layers": descs.iter().map(Desc::json).collect::<Vec<_>>(),
        });
        let manifest = self.blob(
            "application/vnd.oci.image.manifest.v1+json",
            &serde_json::to_vec(&manifest)?,
        )?;
        Ok(BuiltImage {
            manifest,
            config,
            layers: descs,
        })
    }

    /// An index over `images` with their platforms (`(image, arch, variant)`).
    pub fn index(&self, images: &[(&BuiltImage, &str, Option<&str>)]) -> Result<Desc> {
        let manifests: Vec<Value> = images
            .iter()
            .map(|(img, arch, variant)| {
                let mut d = img.manifest.json();
                let mut p = json!({"os": "linux", "architecture": arch});
                if let Some(v) = variant {
                    p["variant"] = json!(v);
                }
                d["platform"] = p;
                d
            })
            .collect();
        let index = json!({
            "schemaVersion": 2,
            "mediaType": "application/vnd.oci.image.index.v1+json",
            "manifests": manifests,
        });
        self.blob(
            "application/vnd.oci.image.index.v1+json",
            &serde_json::to_vec(&index)?,
        )
    }

    /// Names `d` (a manifest or index) `tag` in `index.json`.
    pub fn tag(&mut self, tag: &str, d: &Desc) -> Result<()> {
        let mut v = d.json();
        v["annotations"] = json!({"org.opencontainers.image.ref.name": tag});
        self.refs.push(v);
        let index = json!({"schemaVersion": 2, "manifests": self.refs});
        std::fs::write(self.dir.join("index.json"), serde_json::to_vec(&index)?)?;
        Ok(())
    }

    /// `skopeo copy [--all] oci:<dir>:<tag> docker://<dest>` over plain HTTP or unverified TLS,
    /// with `creds` (`user:password`) if given.
    pub fn push(&self, tag: &str, dest: &str, creds: Option<&str>) -> Result<()> {
        let mut c = Command::new("skopeo");
        c.args(["copy", "-q", "--all", "--dest-tls-verify=false"]);
        if let Some(cr) = creds {
            c.arg("--dest-creds").arg(cr);
        }
        c.arg(format!("oci:{}:{tag}", self.dir.display()))
            .arg(format!("docker://{dest}"));
        let out = c.output().context("running skopeo")?;
        if !out.status.success() {
            bail!(
                "skopeo copy to {dest}: {}",
                String::from_utf8_lossy(&out.stderr)
            );
        }
        Ok(())
    }
}

/// The busybox root filesystem as a tar (a runnable base layer).
pub fn busybox_layer(scratch: &Path) -> Result<Vec<u8>> {
    let tar = crate::busybox_tar(scratch)?;
    let data = std::fs::read(&tar)?;
    std::fs::remove_file(&tar)?;
    Ok(data)
}
