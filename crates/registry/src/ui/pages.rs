//! The page handlers.

use std::fmt::Write as _;

use axum::extract::{Query, State};
use axum::response::{IntoResponse, Redirect, Response};
use http::{header, HeaderMap, StatusCode};
use serde::Deserialize;

use super::facts::{image_details, tag_facts, ImageDetails};
use super::{esc, html, hub_size, page, url_q, when};
use crate::api::search::run_search;
use crate::api::{App, AppState};
use crate::auth::{AuthError, Identity};
use crate::config::AuthMode;
use crate::index::RepoSummary;
use crate::name::{valid_tag, RepoName};

/// `?q=&page=` of the search page, `?platform=` of the tag page.
#[derive(Debug, Default, Deserialize)]
pub struct PageQuery {
    #[serde(default)]
    q: String,
    page: Option<usize>,
    platform: Option<String>,
}

const PAGE_SIZE: usize = 20;

async fn visitor(app: &App, headers: &HeaderMap) -> Result<Identity, Response> {
    app.auth.listing_identity(headers).await.map_err(|e| {
        let mut r = html(
            StatusCode::UNAUTHORIZED,
            page(
                "Unauthorized",
                &app.ui.title,
                "",
                "<div class=\"card\"><h1>Wrong credentials</h1></div>",
            ),
        );
        if let AuthError::BadCredentials { challenge, .. } = e {
            if let Ok(v) = challenge.parse() {
                r.headers_mut().insert(header::WWW_AUTHENTICATE, v);
            }
        }
        r
    })
}

fn not_found(app: &App, what: &str) -> Response {
    let body = format!(
        "<div class=\"card\"><h1>Not found</h1><p>{}</p></div>",
        esc(what)
    );
    html(
        StatusCode::NOT_FOUND,
        page("Not found", &app.ui.title, "", &body),
    )
}

/// The host part of `docker pull` lines.
fn registry_host(app: &App, headers: &HeaderMap) -> String {
    let base = app.base_url(headers);
    base.split_once("://")
        .map(|(_, h)| h.to_owned())
        .unwrap_or(base)
}

fn repo_item(out: &mut String, name: &RepoName, s: &RepoSummary) {
    let _ = write!(
        out,
        "<li><a href=\"/r/{n}\"><strong>{n}</strong></a>{desc}<div class=\"meta\">{pulls} · {tags} · pushed {pushed}</div></li>",
        n = esc(name.as_str()),
        desc = if s.description.is_empty() {
            String::new()
        } else {
            format!("<div class=\"desc\">{}</div>", esc(&s.description))
        },
        pulls = count(s.pulls, "pull"),
        tags = count(s.tags as u64, "tag"),
        pushed = esc(&when(s.last_push)),
    );
}

/// `1 tag`, `2 tags`.
fn count(n: u64, what: &str) -> String {
    if n == 1 {
        format!("1 {what}")
    } else {
        format!("{n} {what}s")
    }
}

fn repo_list(items: &[(RepoName, RepoSummary)], empty_text: &str) -> String {
    if items.is_empty() {
        return format!("<p class=\"empty\">{}</p>", esc(empty_text));
    }
    let mut out = String::from("<ul class=\"repos\">");
    for (n, s) in items {
        repo_item(&mut out, n, s);
    }
    out.push_str("</ul>");
    out
}

/// `GET /login`: a Basic challenge until the browser sends valid credentials, then home.
pub async fn login(State(app): State<AppState>, headers: HeaderMap) -> Response {
    if app.auth.mode() == AuthMode::None {
        return Redirect::to("/").into_response();
    }
    match app.auth.basic_identity(&headers).await {
        Ok(Some(_)) => Redirect::to("/").into_response(),
        _ => {
            let body = "<div class=\"card\"><h1>Sign in</h1><p>This registry needs a user name and password.</p></div>";
            let mut r = html(
                StatusCode::UNAUTHORIZED,
                page("Sign in", &app.ui.title, "", body),
            );
            r.headers_mut().insert(
                header::WWW_AUTHENTICATE,
                http::HeaderValue::from_static("Basic realm=\"berth-registry\""),
            );
            r
        }
    }
}

/// `GET /`.
pub async fn home(State(app): State<AppState>, headers: HeaderMap) -> Response {
    let who = match visitor(&app, &headers).await {
        Ok(w) => w,
        Err(r) => return r,
    };
    let mut repos: Vec<(RepoName, RepoSummary)> = app
        .index
        .all()
        .into_iter()
        .filter(|(n, s)| s.tags > 0 && app.can_pull(&who, n))
        .collect();
    let total = repos.len();
    repos.sort_by(|a, b| b.1.last_push.cmp(&a.1.last_push).then(a.0.cmp(&b.0)));
    let recent = repo_list(&repos[..repos.len().min(10)], "Nothing pushed yet.");
    repos.sort_by(|a, b| b.1.pulls.cmp(&a.1.pulls).then(a.0.cmp(&b.0)));
    let popular = repo_list(&repos[..repos.len().min(10)], "Nothing pulled yet.");
    let who_line = match (&who, app.auth.mode()) {
        (_, AuthMode::None) => String::new(),
        (Identity::User(u), _) => format!(" · signed in as {}", esc(u)),
        (Identity::Anonymous, _) => " · <a href=\"/login\" id=\"login\">Sign in</a>".to_owned(),
    };
    let body = format!(
        "<h1>{title}</h1><p class=\"meta\">{total} repositories{who_line}</p>\
         <div class=\"grid\"><section class=\"card\" id=\"recent\"><h2>Recently pushed</h2>{recent}</section>\
         <section class=\"card\" id=\"popular\"><h2>Most pulled</h2>{popular}</section></div>",
        title = esc(&app.ui.title),
    );
    html(StatusCode::OK, page("Home", &app.ui.title, "", &body))
}

/// `GET /search?q=`.
pub async fn search(
    State(app): State<AppState>,
    headers: HeaderMap,
    Query(q): Query<PageQuery>,
) -> Response {
    let who = match visitor(&app, &headers).await {
        Ok(w) => w,
        Err(r) => return r,
    };
    let pageno = q.page.unwrap_or(1).max(1);
    let res = run_search(&app, &who, &q.q, PAGE_SIZE, pageno);
    let mut body = format!(
        "<h1>Search</h1><p class=\"meta\" id=\"count\">{} result{} for “{}”</p><section class=\"card\">",
        res.num_results,
        if res.num_results == 1 { "" } else { "s" },
        esc(&q.q)
    );
    if res.results.is_empty() {
        body.push_str("<p class=\"empty\">No repositories match.</p>");
    } else {
        body.push_str("<ul class=\"repos\" id=\"results\">");
        for r in &res.results {
            let _ = write!(
                body,
                "<li><a href=\"/r/{n}\"><strong>{n}</strong></a>{d}<div class=\"meta\">{p}</div></li>",
                n = esc(&r.name),
                d = if r.description.is_empty() {
                    String::new()
                } else {
                    format!("<div class=\"desc\">{}</div>", esc(&r.description))
                },
                p = count(r.pull_count, "pull")
            );
        }
        body.push_str("</ul>");
    }
    body.push_str("</section>");
    if res.num_pages > 1 {
        let _ = write!(body, "<p>Page {pageno} of {}", res.num_pages);
        if pageno < res.num_pages {
            let _ = write!(
                body,
                " · <a href=\"/search?q={}&amp;page={}\">next</a>",
                url_q(&q.q),
                pageno + 1
            );
        }
        body.push_str("</p>");
    }
    html(StatusCode::OK, page("Search", &app.ui.title, &q.q, &body))
}

/// `GET /r/<name>` and `GET /r/<name>/-/tag/<tag>`.
pub async fn repo_or_tag(
    State(app): State<AppState>,
    headers: HeaderMap,
    axum::extract::Path(rest): axum::extract::Path<String>,
    Query(q): Query<PageQuery>,
) -> Response {
    let who = match visitor(&app, &headers).await {
        Ok(w) => w,
        Err(r) => return r,
    };
    let (name, tag) = match rest.split_once("/-/tag/") {
        Some((n, t)) => (n, Some(t)),
        None => (rest.trim_end_matches('/'), None),
    };
    let Ok(repo) = RepoName::parse(name) else {
        return not_found(&app, &format!("{name} is not a repository name"));
    };
    let Some(summary) = app
        .index
        .summary(&repo)
        .filter(|_| app.can_pull(&who, &repo))
    else {
        return not_found(&app, &format!("no repository {name}"));
    };
    match tag {
        None => repo_page(&app, &headers, &repo, &summary).await,
        Some(t) if valid_tag(t) => tag_page(&app, &headers, &repo, t, q.platform.as_deref()).await,
        Some(t) => not_found(&app, &format!("{t} is not a tag")),
    }
}

async fn repo_page(app: &App, headers: &HeaderMap, repo: &RepoName, s: &RepoSummary) -> Response {
    let host = registry_host(app, headers);
    let mut tags = Vec::new();
    for t in app.store.tags(repo).await.unwrap_or_default() {
        if let Ok(rec) = app.store.tag_record(repo, &t).await {
            tags.push((t, rec));
        }
    }
    tags.sort_by(|a, b| b.1.pushed.cmp(&a.1.pushed).then(a.0.cmp(&b.0)));
    let mut rows = String::new();
    for (t, rec) in &tags {
        let facts = tag_facts(&app.store, repo, &rec.digest).await;
        let (size, platforms) = match &facts {
            Some(f) => (
                hub_size(f.size),
                f.platforms
                    .iter()
                    .map(|p| format!("<span class=\"pill\">{}</span>", esc(p)))
                    .collect::<String>(),
            ),
            None => ("-".into(), String::new()),
        };
        let _ = write!(
            rows,
            "<tr><td><a href=\"/r/{n}/-/tag/{t}\">{t}</a></td><td class=\"wrap\"><code>{d}</code></td><td class=\"num\">{size}</td><td>{platforms}</td><td class=\"opt\">{pushed}</td></tr>",
            n = esc(repo.as_str()),
            t = esc(t),
            d = esc(&short(rec.digest.as_str())),
            pushed = esc(&when(rec.pushed)),
        );
    }
    let table = if tags.is_empty() {
        "<p class=\"empty\">No tags.</p>".to_owned()
    } else {
        format!("<div class=\"scroll\"><table id=\"tags\"><thead><tr><th>Tag</th><th>Digest</th><th>Size</th><th>Platforms</th><th class=\"opt\">Pushed</th></tr></thead><tbody>{rows}</tbody></table></div>")
    };
    let body = format!(
        "<section class=\"card\"><h1>{n}</h1>{desc}<p class=\"meta\">{pulls} · {ntags}</p>\
         <pre>docker pull {host}/{n}</pre></section><section class=\"card\"><h2>Tags</h2>{table}</section>",
        n = esc(repo.as_str()),
        desc = if s.description.is_empty() { String::new() } else { format!("<p class=\"desc\">{}</p>", esc(&s.description)) },
        pulls = count(s.pulls, "pull"),
        ntags = count(tags.len() as u64, "tag"),
        host = esc(&host),
    );
    html(
        StatusCode::OK,
        page(repo.as_str(), &app.ui.title, "", &body),
    )
}

/// `sha256:0123456789ab…`.
fn short(d: &str) -> String {
    match d.split_once(':') {
        Some((a, h)) if h.len() > 12 => format!("{a}:{}…", &h[..12]),
        _ => d.to_owned(),
    }
}

async fn tag_page(
    app: &App,
    headers: &HeaderMap,
    repo: &RepoName,
    tag: &str,
    want: Option<&str>,
) -> Response {
    let Ok(rec) = app.store.tag_record(repo, tag).await else {
        return not_found(app, &format!("no tag {tag} in {repo}"));
    };
    let Some((platforms, img)) = image_details(&app.store, repo, &rec.digest, want).await else {
        return not_found(
            app,
            &format!("tag {tag} of {repo} has no readable manifest"),
        );
    };
    let host = registry_host(app, headers);
    let n = esc(repo.as_str());
    let mut body = format!(
        "<section class=\"card\"><p class=\"meta\"><a href=\"/r/{n}\">{n}</a></p><h1>{n}:{t}</h1>\
         <pre>docker pull {h}/{n}:{t}</pre><dl><dt>Digest</dt><dd><code>{d}</code></dd><dt>Pushed</dt><dd>{p}</dd>",
        t = esc(tag),
        h = esc(&host),
        d = esc(rec.digest.as_str()),
        p = esc(&when(rec.pushed)),
    );
    if !platforms.is_empty() {
        body.push_str("<dt>Platforms</dt><dd>");
        for (p, d) in &platforms {
            if *d == img.digest {
                let _ = write!(
                    body,
                    "<span class=\"pill\"><strong>{}</strong></span>",
                    esc(p)
                );
            } else {
                let _ = write!(
                    body,
                    "<a class=\"pill\" href=\"/r/{n}/-/tag/{}?platform={}\">{}</a>",
                    esc(tag),
                    esc(&url_q(p)),
                    esc(p)
                );
            }
        }
        body.push_str("</dd>");
    }
    body.push_str("</dl></section>");
    run_config_card(&mut body, &img);
    layers_card(&mut body, &img);
    history_card(&mut body, &img);
    html(
        StatusCode::OK,
        page(
            &format!("{}:{tag}", repo.as_str()),
            &app.ui.title,
            "",
            &body,
        ),
    )
}

fn json_list(v: &Option<Vec<String>>) -> String {
    match v {
        Some(v) => esc(&serde_json::to_string(v).unwrap_or_default()),
        None => "<span class=\"empty\">none</span>".into(),
    }
}

fn run_config_card(body: &mut String, img: &ImageDetails) {
    let Some(cfg) = img.config.as_ref() else {
        return;
    };
    let rc = cfg.config.clone().unwrap_or_default();
    let _ = write!(
        body,
        "<section class=\"card\" id=\"config\"><h2>Configuration</h2><dl><dt>Entrypoint</dt><dd><code>{}</code></dd><dt>Cmd</dt><dd><code>{}</code></dd>",
        json_list(&rc.entrypoint),
        json_list(&rc.cmd)
    );
    let ports: Vec<String> = rc.exposed_ports.unwrap_or_default().into_keys().collect();
    let _ = write!(
        body,
        "<dt>Exposed ports</dt><dd>{}</dd>",
        if ports.is_empty() {
            "<span class=\"empty\">none</span>".into()
        } else {
            ports
                .iter()
                .map(|p| format!("<span class=\"pill\">{}</span>", esc(p)))
                .collect::<String>()
        }
    );
    for (k, v) in [
        ("Working dir", &rc.working_dir),
        ("User", &rc.user),
        ("Created", &cfg.created),
    ] {
        if let Some(v) = v.as_ref().filter(|v| !v.is_empty()) {
            let _ = write!(body, "<dt>{k}</dt><dd><code>{}</code></dd>", esc(v));
        }
    }
    for e in rc.env.unwrap_or_default() {
        let _ = write!(body, "<dt>Env</dt><dd><code>{}</code></dd>", esc(&e));
    }
    body.push_str("</dl>");
    let labels = rc.labels.unwrap_or_default();
    body.push_str("<h2>Labels</h2>");
    if labels.is_empty() {
        body.push_str("<p class=\"empty\">No labels.</p>");
    } else {
        body.push_str("<dl id=\"labels\">");
        for (k, v) in &labels {
            let _ = write!(body, "<dt><code>{}</code></dt><dd>{}</dd>", esc(k), esc(v));
        }
        body.push_str("</dl>");
    }
    body.push_str("</section>");
}

fn layers_card(body: &mut String, img: &ImageDetails) {
    let total: u64 = img.layers.iter().map(|l| l.size).sum();
    let _ = write!(
        body,
        "<section class=\"card\"><h2>Layers ({} · {})</h2><div class=\"scroll\"><table id=\"layers\"><thead><tr><th>#</th><th>Digest</th><th>Size</th><th class=\"opt\">Media type</th></tr></thead><tbody>",
        img.layers.len(),
        hub_size(total)
    );
    for (i, l) in img.layers.iter().enumerate() {
        let _ = write!(
            body,
            "<tr><td>{}</td><td class=\"wrap\"><code>{}</code></td><td class=\"num\">{}</td><td class=\"opt wrap\">{}</td></tr>",
            i + 1,
            esc(&short(l.digest.as_str())),
            hub_size(l.size),
            esc(&l.media_type)
        );
    }
    body.push_str("</tbody></table></div></section>");
}

fn history_card(body: &mut String, img: &ImageDetails) {
    let Some(cfg) = img.config.as_ref() else {
        return;
    };
    body.push_str("<section class=\"card\"><h2>History</h2>");
    if cfg.history.is_empty() {
        body.push_str("<p class=\"empty\">The image records no history.</p></section>");
        return;
    }
    body.push_str("<div class=\"scroll\"><table id=\"history\"><thead><tr><th>Command</th><th>Layer</th></tr></thead><tbody>");
    let mut layers = img.layers.iter();
    for h in &cfg.history {
        let layer = if h.empty_layer {
            "<span class=\"empty\">no layer</span>".to_owned()
        } else {
            layers
                .next()
                .map(|l| hub_size(l.size))
                .unwrap_or_else(|| "-".into())
        };
        let cmd = h.created_by.as_deref().unwrap_or("");
        let cmd = cmd.strip_prefix("/bin/sh -c #(nop) ").unwrap_or(cmd).trim();
        let _ = write!(
            body,
            "<tr><td class=\"wrap\"><code>{}</code></td><td>{}</td></tr>",
            esc(cmd),
            layer
        );
    }
    body.push_str("</tbody></table></div></section>");
}
