//! What the pages show about a tag, read from its manifest(s) and config(s).

use crate::digest::Digest;
use crate::manifest::{Descriptor, ImageConfig, Manifest};
use crate::name::{Reference, RepoName};
use crate::store::Store;

/// Most children of an index the pages read (bounds the work per page).
const MAX_CHILDREN: usize = 32;

/// One tag's summary for the repository page.
pub struct TagFacts {
    /// Compressed size: config plus layers, summed over platforms for an index.
    pub size: u64,
    /// `os/arch[/variant]` of each image.
    pub platforms: Vec<String>,
}

/// One image (a single-platform manifest) in detail.
pub struct ImageDetails {
    /// The manifest's digest.
    pub digest: Digest,
    /// Its layers.
    pub layers: Vec<Descriptor>,
    /// Its config, if it is an image config.
    pub config: Option<ImageConfig>,
}

async fn manifest(store: &Store, repo: &RepoName, d: &Digest) -> Option<Manifest> {
    let link = store
        .resolve(repo, &Reference::Digest(d.clone()))
        .await
        .ok()?;
    let body = store.blob_bytes(&link.digest).await.ok()?;
    Manifest::parse(&body, Some(&link.media_type)).ok()
}

async fn config(store: &Store, m: &Manifest) -> Option<ImageConfig> {
    let c = m.config.as_ref()?;
    if !crate::media::is_image_config(&c.media_type) {
        return None;
    }
    serde_json::from_slice(&store.blob_bytes(&c.digest).await.ok()?).ok()
}

fn platform_of(cfg: &ImageConfig) -> String {
    match &cfg.variant {
        Some(v) => format!("{}/{}/{v}", cfg.os, cfg.architecture),
        None => format!("{}/{}", cfg.os, cfg.architecture),
    }
}

fn image_size(m: &Manifest) -> u64 {
    m.config.as_ref().map_or(0, |c| c.size) + m.layers.iter().map(|l| l.size).sum::<u64>()
}

/// Size and platforms of the manifest `d`.
pub async fn tag_facts(store: &Store, repo: &RepoName, d: &Digest) -> Option<TagFacts> {
    let m = manifest(store, repo, d).await?;
    if !m.is_index() {
        let platforms = config(store, &m)
            .await
            .map(|c| platform_of(&c))
            .into_iter()
            .collect();
        return Some(TagFacts {
            size: image_size(&m),
            platforms,
        });
    }
    let mut facts = TagFacts {
        size: 0,
        platforms: Vec::new(),
    };
    for child in m.manifests.iter().take(MAX_CHILDREN) {
        if let Some(p) = &child.platform {
            // Attestation manifests are indexed as unknown/unknown; they are not platforms.
            if p.os != "unknown" {
                facts.platforms.push(p.to_string());
            }
        }
        if let Some(cm) = manifest(store, repo, &child.digest).await {
            facts.size += image_size(&cm);
        }
    }
    Some(facts)
}

/// The platforms of the manifest `d` (one entry for a single image) and the details of the one
/// matching `want` (else the first).
pub async fn image_details(
    store: &Store,
    repo: &RepoName,
    d: &Digest,
    want: Option<&str>,
) -> Option<(Vec<(String, Digest)>, ImageDetails)> {
    let top = manifest(store, repo, d).await?;
    let (platforms, chosen, m) = if top.is_index() {
        let platforms: Vec<(String, Digest)> = top
            .manifests
            .iter()
            .take(MAX_CHILDREN)
            .filter_map(|c| Some((c.platform.as_ref()?.to_string(), c.digest.clone())))
            .filter(|(p, _)| !p.starts_with("unknown/"))
            .collect();
        let chosen = want
            .and_then(|w| platforms.iter().find(|(p, _)| p == w))
            .or_else(|| platforms.first())
            .map(|(_, d)| d.clone())
            .or_else(|| top.manifests.first().map(|c| c.digest.clone()))?;
        let m = manifest(store, repo, &chosen).await?;
        (platforms, chosen, m)
    } else {
        (Vec::new(), d.clone(), top)
    };
    let config = config(store, &m).await;
    let mut platforms = platforms;
    if platforms.is_empty() {
        if let Some(c) = &config {
            platforms.push((platform_of(c), chosen.clone()));
        }
    }
    Some((
        platforms,
        ImageDetails {
            digest: chosen,
            layers: m.layers,
            config,
        },
    ))
}
