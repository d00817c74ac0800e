//! `docker images` rows: one per repository/tag (and digest when shown), with the
//! placeholders `.Repository .Tag .ID .Digest .CreatedSince .CreatedAt .Size .Containers
//! .SharedSize .UniqueSize .VirtualSize`.

use std::rc::Rc;

use api_types::ImageSummary;

use super::container::Header;
use super::ids::truncate_id;
use super::units::{human_duration, human_size, human_size_with_precision};
use api_types::time::{go_time_string, Zone};
use gotemplate::{Object, Value};
use oci::Reference;

const DEFAULT_TABLE: &str =
    "table {{.Repository}}\t{{.Tag}}\t{{.ID}}\t{{if .CreatedSince }}{{.CreatedSince}}{{else}}N/A{{end}}\t{{.Size}}";
const DEFAULT_TABLE_DIGEST: &str = "table {{.Repository}}\t{{.Tag}}\t{{.Digest}}\t{{.ID}}\t{{if .CreatedSince }}{{.CreatedSince}}{{else}}N/A{{end}}\t{{.Size}}";

/// Go's zero `time.Time` as a unix timestamp (year 1): shown as `N/A`.
const GO_ZERO_TIME: i64 = -62_135_596_800;

/// docker's `NewImageFormat`.
pub fn image_format(source: &str, quiet: bool, digest: bool) -> String {
    match source {
        "table" => {
            if quiet {
                "{{.ID}}".into()
            } else if digest {
                DEFAULT_TABLE_DIGEST.into()
            } else {
                DEFAULT_TABLE.into()
            }
        }
        "raw" => {
            if quiet {
                "image_id: {{.ID}}".into()
            } else if digest {
                "repository: {{ .Repository }}\ntag: {{.Tag}}\ndigest: {{.Digest}}\nimage_id: {{.ID}}\ncreated_at: {{.CreatedAt}}\nvirtual_size: {{.Size}}\n".into()
            } else {
                "repository: {{ .Repository }}\ntag: {{.Tag}}\nimage_id: {{.ID}}\ncreated_at: {{.CreatedAt}}\nvirtual_size: {{.Size}}\n".into()
            }
        }
        other => {
            let mut f = other.to_string();
            if f.starts_with("table") && digest && !f.contains("{{.Digest}}") {
                f.push_str("\t{{.Digest}}");
            }
            f
        }
    }
}

/// One displayed row of an image.
pub struct ImageContext {
    pub i: ImageSummary,
    pub repo: String,
    pub tag: String,
    pub digest: String,
    pub trunc: bool,
    pub now: f64,
    pub zone: &'static Zone,
}

const FIELDS: &[&str] = &[
    "Containers",
    "CreatedAt",
    "CreatedSince",
    "Digest",
    "ID",
    "Repository",
    "SharedSize",
    "Size",
    "Tag",
    "UniqueSize",
    "VirtualSize",
];

impl ImageContext {
    fn get(&self, name: &str) -> Option<String> {
        let i = &self.i;
        Some(match name {
            "ID" => {
                if self.trunc {
                    truncate_id(&i.id).to_string()
                } else {
                    i.id.clone()
                }
            }
            "Repository" => self.repo.clone(),
            "Tag" => self.tag.clone(),
            "Digest" => self.digest.clone(),
            "CreatedSince" => {
                if i.created == GO_ZERO_TIME {
                    String::new()
                } else {
                    format!("{} ago", human_duration(self.now - i.created as f64))
                }
            }
            "CreatedAt" => go_time_string(i.created, self.zone),
            "Size" => human_size_with_precision(i.size as f64, 3),
            "Containers" => {
                if i.containers == -1 {
                    "N/A".into()
                } else {
                    i.containers.to_string()
                }
            }
            "VirtualSize" => human_size(i.size as f64),
            "SharedSize" => {
                if i.shared_size == -1 {
                    "N/A".into()
                } else {
                    human_size(i.shared_size as f64)
                }
            }
            "UniqueSize" => {
                if i.size == -1 || i.shared_size == -1 {
                    "N/A".into()
                } else {
                    human_size((i.size - i.shared_size) as f64)
                }
            }
            _ => return None,
        })
    }
}

impl Object for ImageContext {
    fn type_name(&self) -> &'static str {
        "*formatter.imageContext"
    }

    fn call(&self, name: &str, args: &[Value]) -> Option<Result<Value, String>> {
        super::string_method(name, args, self.get(name))
    }

    fn to_json(&self) -> Value {
        super::string_fields_json(FIELDS, |f| self.get(f))
    }
}

/// The header of image tables.
pub fn image_header() -> Value {
    Value::Object(Rc::new(Header {
        names: vec![
            ("ID", "IMAGE ID"),
            ("Repository", "REPOSITORY"),
            ("Tag", "TAG"),
            ("Digest", "DIGEST"),
            ("CreatedSince", "CREATED"),
            ("CreatedAt", "CREATED AT"),
            ("Size", "SIZE"),
            ("Containers", "CONTAINERS"),
            ("VirtualSize", "SIZE"),
            ("SharedSize", "SHARED SIZE"),
            ("UniqueSize", "UNIQUE SIZE"),
        ],
    }))
}

fn is_dangling(i: &ImageSummary) -> bool {
    (i.repo_tags.is_empty() && i.repo_digests.is_empty())
        || (i.repo_tags == ["<none>:<none>"] && i.repo_digests == ["<none>@<none>"])
}

/// Options that shape the rows.
pub struct ImageRows {
    pub trunc: bool,
    /// `--digests`.
    pub digest: bool,
    /// Whether the format mentions `{{.Digest}}` (docker's `needDigest`).
    pub format_has_digest: bool,
    pub now: f64,
    pub zone: &'static Zone,
}

impl ImageRows {
    /// docker's `imageFormat`: a row per repository and tag, digests as asked.
    pub fn rows(&self, images: &[ImageSummary]) -> Vec<Value> {
        let mut out = Vec::new();
        for img in images {
            let mk = |repo: &str, tag: &str, digest: &str| {
                Value::Object(Rc::new(ImageContext {
                    i: img.clone(),
                    repo: repo.into(),
                    tag: tag.into(),
                    digest: digest.into(),
                    trunc: self.trunc,
                    now: self.now,
                    zone: self.zone,
                }))
            };
            if is_dangling(img) {
                out.push(mk("<none>", "<none>", "<none>"));
                continue;
            }
            let mut repo_tags: Vec<(String, Vec<String>)> = Vec::new();
            for r in &img.repo_tags {
                let Ok(r) = Reference::parse(r) else {
                    continue;
                };
                let Some(tag) = r.tag().map(str::to_string) else {
                    continue;
                };
                push_group(&mut repo_tags, r.familiar_name(), tag);
            }
            let mut repo_digests: Vec<(String, Vec<String>)> = Vec::new();
            for r in &img.repo_digests {
                let Ok(r) = Reference::parse(r) else {
                    continue;
                };
                let Some(d) = r.digest().map(|d| d.to_string()) else {
                    continue;
                };
                push_group(&mut repo_digests, r.familiar_name(), d);
            }
            let need_digest = self.digest || self.format_has_digest;
            for (repo, tags) in &repo_tags {
                let pos = repo_digests.iter().position(|(r, _)| r == repo);
                let digests = pos.map(|p| repo_digests.remove(p).1).unwrap_or_default();
                for tag in tags {
                    if !need_digest || digests.is_empty() {
                        out.push(mk(repo, tag, "<none>"));
                    } else {
                        for d in &digests {
                            out.push(mk(repo, tag, d));
                        }
                    }
                }
            }
            for (repo, digests) in &repo_digests {
                if self.digest {
                    for d in digests {
                        out.push(mk(repo, "<none>", d));
                    }
                } else {
                    out.push(mk(repo, "<none>", ""));
                }
            }
        }
        out
    }
}

fn push_group(groups: &mut Vec<(String, Vec<String>)>, key: String, v: String) {
    match groups.iter_mut().find(|(k, _)| *k == key) {
        Some((_, vs)) => vs.push(v),
        None => groups.push((key, vec![v])),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::format::table::render;

    const NOW: f64 = 1_700_000_000.0;
    const SHA: &str = "sha256:cbbf2f9a99b47fc460d422812b6a5adff7dfee951d8fa2e4a98caa0382cfbdbf";

    fn images() -> Vec<ImageSummary> {
        let day_ago = (NOW - 86400.0) as i64;
        vec![
            ImageSummary {
                id: "imageID1".into(),
                repo_tags: vec!["image:tag1".into()],
                repo_digests: vec![format!("image@{SHA}")],
                created: day_ago,
                ..Default::default()
            },
            ImageSummary {
                id: "imageID2".into(),
                repo_tags: vec!["image:tag2".into()],
                created: GO_ZERO_TIME,
                ..Default::default()
            },
            ImageSummary {
                id: "imageID3".into(),
                repo_tags: vec!["<none>:<none>".into()],
                repo_digests: vec!["<none>@<none>".into()],
                created: day_ago,
                ..Default::default()
            },
        ]
    }

    fn write(source: &str, quiet: bool, digest: bool) -> String {
        let format = image_format(source, quiet, digest);
        let rows = ImageRows {
            trunc: true,
            digest,
            format_has_digest: format.contains("{{.Digest}}"),
            now: NOW,
            zone: Zone::utc_static(),
        };
        match render(&format, &image_header(), &rows.rows(&images())) {
            Ok(s) => s,
            Err(e) => e.to_string(),
        }
    }

    #[test]
    fn image_write_cases_from_docker() {
        assert_eq!(
            write("{{InvalidFunction}}", false, false),
            "template parsing error: template: :1: function \"InvalidFunction\" not defined"
        );
        assert_eq!(
            write("table", false, false),
            "REPOSITORY   TAG       IMAGE ID   CREATED        SIZE\nimage        tag1      imageID1   24 hours ago   0B\nimage        tag2      imageID2   N/A            0B\n<none>       <none>    imageID3   24 hours ago   0B\n"
        );
        assert_eq!(
            write("table {{.Repository}}", false, false),
            "REPOSITORY\nimage\nimage\n<none>\n"
        );
        assert_eq!(
            write("table {{.Repository}}", false, true),
            format!("REPOSITORY   DIGEST\nimage        {SHA}\nimage        <none>\n<none>       <none>\n")
        );
        assert_eq!(
            write("table {{.Repository}}", true, false),
            "REPOSITORY\nimage\nimage\n<none>\n"
        );
        assert_eq!(
            write("table {{.Digest}}", true, false),
            format!("DIGEST\n{SHA}\n<none>\n<none>\n")
        );
        assert_eq!(
            write("table", true, false),
            "imageID1\nimageID2\nimageID3\n"
        );
        assert_eq!(
            write("table", false, true),
            format!(
                "REPOSITORY   TAG       DIGEST                                                                    IMAGE ID   CREATED        SIZE\n\
                 image        tag1      {SHA}   imageID1   24 hours ago   0B\n\
                 image        tag2      <none>                                                                    imageID2   N/A            0B\n\
                 <none>       <none>    <none>                                                                    imageID3   24 hours ago   0B\n"
            )
        );
        let day = "2023-11-13 22:13:20 +0000 UTC";
        let zero = "0001-01-01 00:00:00 +0000 UTC";
        assert_eq!(
            write("raw", false, false),
            format!("repository: image\ntag: tag1\nimage_id: imageID1\ncreated_at: {day}\nvirtual_size: 0B\n\nrepository: image\ntag: tag2\nimage_id: imageID2\ncreated_at: {zero}\nvirtual_size: 0B\n\nrepository: <none>\ntag: <none>\nimage_id: imageID3\ncreated_at: {day}\nvirtual_size: 0B\n\n")
        );
        assert_eq!(
            write("raw", true, false),
            "image_id: imageID1\nimage_id: imageID2\nimage_id: imageID3\n"
        );
        assert_eq!(
            write("{{.Repository}}", false, true),
            "image\nimage\n<none>\n"
        );
    }

    #[test]
    fn familiar_names_and_sizes() {
        let img = ImageSummary {
            id: "sha256:".to_string() + &"f".repeat(64),
            repo_tags: vec![
                "docker.io/library/busybox:latest".into(),
                "localhost:5000/me/app:v1".into(),
            ],
            size: 4_257_800,
            created: (NOW - 3.0 * 86400.0) as i64,
            ..Default::default()
        };
        let rows = ImageRows {
            trunc: true,
            digest: false,
            format_has_digest: false,
            now: NOW,
            zone: Zone::utc_static(),
        };
        let out = render(
            &image_format("table", false, false),
            &image_header(),
            &rows.rows(&[img]),
        )
        .unwrap();
        let want = [
            "REPOSITORY              TAG       IMAGE ID       CREATED      SIZE",
            "busybox                 latest    ffffffffffff   3 days ago   4.26MB",
            "localhost:5000/me/app   v1        ffffffffffff   3 days ago   4.26MB",
            "",
        ];
        assert_eq!(out, want.join("\n"));
    }
}
