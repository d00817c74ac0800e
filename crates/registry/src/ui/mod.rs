//! The web UI: server-rendered HTML and one inline stylesheet, no JavaScript. Pages: home
//! (`/`: search box, recently pushed and most pulled), search (`/search?q=`), repository
//! (`/r/<name>`) and tag (`/r/<name>/-/tag/<tag>`; `-` cannot be a name component, so the split
//! is unambiguous). `/login` asks the browser for Basic credentials (htpasswd users), which it
//! then sends with every page, so signed-in visitors see the repositories they may pull.
//!
//! Everything shown is escaped with [`esc`] (text and attributes alike), including what comes
//! from the request (the `Host` in pull commands, the query) and from pushed content (labels,
//! history, annotations). Pages only show repositories the visitor may pull.

mod facts;
mod pages;

use axum::response::{Html, IntoResponse, Response};
use axum::routing::get;
use axum::Router;
use http::{header, HeaderValue, StatusCode};

use crate::api::AppState;

/// The UI's routes.
pub fn router() -> Router<AppState> {
    Router::new()
        .route("/", get(pages::home))
        .route("/search", get(pages::search))
        .route("/login", get(pages::login))
        .route("/r/{*rest}", get(pages::repo_or_tag))
}

/// Escapes text for HTML element content and quoted attribute values.
pub fn esc(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

/// Percent-encodes a query value.
pub fn url_q(s: &str) -> String {
    percent_encoding::utf8_percent_encode(s, percent_encoding::NON_ALPHANUMERIC).to_string()
}

const STYLE: &str = r#"
*{box-sizing:border-box}
body{margin:0;font:16px/1.5 system-ui,-apple-system,"Segoe UI",Roboto,sans-serif;color:#1d2733;background:#f4f6f9}
a{color:#0b63ce;text-decoration:none}a:hover{text-decoration:underline}
header{background:#0d2a4a;color:#fff;padding:.75rem 1rem}
header .bar{max-width:980px;margin:0 auto;display:flex;flex-wrap:wrap;gap:.5rem 1rem;align-items:center}
header a.brand{color:#fff;font-weight:700;font-size:1.15rem}
main{max-width:980px;margin:0 auto;padding:1rem}
form.search{display:flex;gap:.5rem;flex:1 1 16rem;min-width:0}
form.search input{flex:1;min-width:0;padding:.5rem .75rem;border:1px solid #b8c4d3;border-radius:6px;font-size:1rem}
form.search button{padding:.5rem 1rem;border:0;border-radius:6px;background:#1f7ae0;color:#fff;font-size:1rem}
.card{background:#fff;border:1px solid #dde3ea;border-radius:8px;padding:1rem;margin:0 0 1rem}
.grid{display:grid;grid-template-columns:repeat(auto-fit,minmax(18rem,1fr));gap:1rem}
h1{font-size:1.5rem;margin:.25rem 0 .5rem;overflow-wrap:anywhere}
h2{font-size:1.15rem;margin:1rem 0 .5rem}
.card>h2:first-child{margin-top:0}
ul.repos{list-style:none;margin:0;padding:0}
ul.repos li{padding:.5rem 0;border-top:1px solid #eef1f5;overflow-wrap:anywhere}
ul.repos li:first-child{border-top:0}
.meta{color:#5b6b7d;font-size:.875rem}
.desc{margin:.15rem 0}
pre,code{font-family:ui-monospace,SFMono-Regular,Menlo,monospace;font-size:.875rem}
pre{background:#0f1b2a;color:#e6edf5;padding:.6rem .8rem;border-radius:6px;white-space:pre-wrap;overflow-wrap:anywhere;margin:.25rem 0}
.scroll{overflow-x:auto}
table{border-collapse:collapse;width:100%}
th,td{text-align:left;padding:.4rem .5rem;border-top:1px solid #eef1f5;vertical-align:top}
td.wrap,td code{overflow-wrap:anywhere;word-break:break-all}
td.num{white-space:nowrap}
th{font-size:.8rem;text-transform:uppercase;color:#5b6b7d}
.pill{display:inline-block;background:#e8f1fc;color:#0b4f9e;border-radius:999px;padding:0 .5rem;margin:0 .25rem .25rem 0;font-size:.8rem}
dl{display:grid;grid-template-columns:minmax(6rem,max-content) 1fr;gap:.25rem .75rem;margin:0}
dt{color:#5b6b7d;overflow-wrap:anywhere}dd{margin:0;overflow-wrap:anywhere}
.empty{color:#5b6b7d;font-style:italic}
@media (max-width:600px){main{padding:.6rem}.card{padding:.75rem}th.opt,td.opt{display:none}
dl{grid-template-columns:1fr;gap:0}dd{margin:0 0 .5rem}}
"#;

/// A whole page around `body`.
pub fn page(title: &str, site: &str, query: &str, body: &str) -> String {
    format!(
        r#"<!doctype html>
<html lang="en"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>{title} · {site}</title><style>{STYLE}</style></head>
<body><header><div class="bar"><a class="brand" href="/">{site}</a>
<form class="search" action="/search" method="get" role="search">
<input type="search" id="q" name="q" value="{query}" placeholder="Search repositories" aria-label="Search repositories">
<button type="submit">Search</button></form></div></header>
<main>{body}</main></body></html>"#,
        title = esc(title),
        site = esc(site),
        query = esc(query),
    )
}

/// An HTML response.
pub fn html(status: StatusCode, body: String) -> Response {
    let mut resp = (status, Html(body)).into_response();
    resp.headers_mut().insert(
        header::CONTENT_SECURITY_POLICY,
        HeaderValue::from_static(
            "default-src 'none'; style-src 'unsafe-inline'; img-src 'self'; form-action 'self'",
        ),
    );
    resp.headers_mut().insert(
        "x-content-type-options",
        HeaderValue::from_static("nosniff"),
    );
    resp
}

/// A decimal size as Docker Hub's pages show it (`2.1 MB`: one decimal and a space — not
/// go-units' `HumanSize`, which the CLI prints).
pub fn hub_size(n: u64) -> String {
    const UNITS: [&str; 5] = ["B", "kB", "MB", "GB", "TB"];
    let mut v = n as f64;
    let mut u = 0;
    while v >= 1000.0 && u < UNITS.len() - 1 {
        v /= 1000.0;
        u += 1;
    }
    if u == 0 {
        format!("{n} B")
    } else {
        format!("{v:.1} {}", UNITS[u])
    }
}

/// `YYYY-MM-DD HH:MM UTC`.
pub fn when(unix: u64) -> String {
    let fmt = time::macros::format_description!("[year]-[month]-[day] [hour]:[minute] UTC");
    time::OffsetDateTime::from_unix_timestamp(unix as i64)
        .ok()
        .and_then(|t| t.format(fmt).ok())
        .unwrap_or_else(|| "-".into())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn escapes_everything_markup_needs() {
        assert_eq!(
            esc(r#"<a href="x">'&'</a>"#),
            "&lt;a href=&quot;x&quot;&gt;&#39;&amp;&#39;&lt;/a&gt;"
        );
        let p = page("<t>", "s\"", "\"><script>", "");
        assert!(!p.contains("<script>") && !p.contains("<t>"));
    }

    #[test]
    fn sizes_and_times() {
        assert_eq!(hub_size(999), "999 B");
        assert_eq!(hub_size(2_100_000), "2.1 MB");
        assert_eq!(when(0), "1970-01-01 00:00 UTC");
    }
}
