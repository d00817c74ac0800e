//! `ADD <url>`: the file is downloaded into the build's scratch directory (the classic
//! builder's `downloadSource`): named after the URL's last path segment or the
//! `Content-Disposition` filename, with `Last-Modified` as its time.

use std::path::Path;

use build::{Download, Output};
use futures_util::StreamExt;
use tokio::io::AsyncWriteExt;

use crate::error::{Error, Result};

/// The file name a download gets, if any can be told (moby's `getFilenameForDownload`).
fn file_name(url: &reqwest::Url, disposition: Option<&str>) -> Option<String> {
    let path = url.path();
    if !path.is_empty() && !path.ends_with('/') {
        if let Some(n) = path.rsplit('/').next().filter(|n| !n.is_empty()) {
            return Some(n.to_string());
        }
    }
    let d = disposition?;
    d.split(';')
        .map(str::trim)
        .find_map(|p| p.strip_prefix("filename="))
        .map(|f| f.trim_matches('"'))
        .filter(|f| !f.is_empty() && !f.ends_with('/'))
        .map(|f| f.rsplit('/').next().unwrap_or(f).to_string())
}

/// `Last-Modified` (RFC 1123) as seconds since the epoch.
fn http_date(s: &str) -> Option<u64> {
    let fmt = time::macros::format_description!(
        "[weekday repr:short], [day] [month repr:short] [year] [hour]:[minute]:[second] GMT"
    );
    let dt = time::PrimitiveDateTime::parse(s.trim(), fmt).ok()?;
    u64::try_from(dt.assume_utc().unix_timestamp()).ok()
}

/// Downloads `url` into `dir`.
pub(crate) async fn fetch(url: &str, dir: &Path, out: &Output) -> Result<Download> {
    let parsed =
        reqwest::Url::parse(url).map_err(|e| Error::invalid(format!("invalid URL {url}: {e}")))?;
    let resp = reqwest::Client::new()
        .get(parsed.clone())
        .send()
        .await
        .map_err(|e| Error::invalid(format!("downloading {url}: {e}")))?;
    if !resp.status().is_success() {
        return Err(Error::invalid(format!(
            "failed to GET {url} with status {}",
            resp.status()
        )));
    }
    let header = |n: &str| {
        resp.headers()
            .get(n)
            .and_then(|v| v.to_str().ok())
            .map(str::to_string)
    };
    let filename = file_name(&parsed, header("content-disposition").as_deref());
    let mtime = header("last-modified").as_deref().and_then(http_date);
    tokio::fs::create_dir_all(dir)
        .await
        .map_err(|e| Error::file(dir, e))?;
    let path = dir.join(filename.as_deref().unwrap_or("__unnamed__"));
    let mut f = tokio::fs::File::create(&path)
        .await
        .map_err(|e| Error::file(&path, e))?;
    let mut body = resp.bytes_stream();
    let mut total = 0u64;
    while let Some(chunk) = body.next().await {
        let chunk = chunk.map_err(|e| Error::invalid(format!("downloading {url}: {e}")))?;
        total += chunk.len() as u64;
        f.write_all(&chunk)
            .await
            .map_err(|e| Error::file(&path, e))?;
    }
    f.flush().await.map_err(|e| Error::file(&path, e))?;
    out.line(format!("Downloading {url} ({total} bytes)"));
    Ok(Download {
        path,
        filename,
        mtime,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_and_dates() {
        let u = reqwest::Url::parse("http://127.0.0.1:1/a/b.tar.gz?x=1").unwrap();
        assert_eq!(file_name(&u, None).as_deref(), Some("b.tar.gz"));
        let u = reqwest::Url::parse("http://127.0.0.1:1/").unwrap();
        assert_eq!(
            file_name(&u, Some("attachment; filename=\"f.txt\"")).as_deref(),
            Some("f.txt")
        );
        assert_eq!(file_name(&u, None), None);
        assert_eq!(http_date("Wed, 21 Oct 2015 07:28:00 GMT"), Some(1445412480));
    }
}
