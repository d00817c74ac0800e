//! The `progress` text of a progress message, as dockerd renders it server-side (moby's
//! `JSONProgress.String` with no terminal: a 50-character bar, then current/total in go-units'
//! decimal `HumanSize`), and the messages that carry it.

use crate::progress::{JsonMessage, ProgressDetail};

/// go-units' `HumanSize`: decimal units, 4 significant digits (`2.097MB`, `512B`).
pub fn human_size(bytes: f64) -> String {
    const UNITS: [&str; 9] = ["B", "kB", "MB", "GB", "TB", "PB", "EB", "ZB", "YB"];
    let mut size = bytes;
    let mut i = 0;
    while size >= 1000.0 && i < UNITS.len() - 1 {
        size /= 1000.0;
        i += 1;
    }
    format!("{}{}", go_g4(size), UNITS[i])
}

/// Go's `%.4g` for the small positive values `human_size` produces.
fn go_g4(v: f64) -> String {
    if v == 0.0 {
        return "0".into();
    }
    let digits = v.abs().log10().floor() as i32 + 1;
    let decimals = (4 - digits).max(0) as usize;
    let s = format!("{v:.decimals$}");
    if s.contains('.') {
        s.trim_end_matches('0').trim_end_matches('.').to_string()
    } else {
        s
    }
}

/// The bar and counts: `[=====>          ] 1.2MB/3.4MB`.
pub fn bar(current: i64, total: i64) -> String {
    if current <= 0 && total <= 0 {
        return String::new();
    }
    if total <= 0 {
        return format!("{:>8}", human_size(current as f64));
    }
    let pct = ((current as f64 / total as f64 * 100.0) as i64 / 2).clamp(0, 50) as usize;
    let bar = format!("[{}>{}] ", "=".repeat(pct), " ".repeat(50 - pct));
    let numbers = if current > total {
        format!("{:>8}", human_size(current as f64))
    } else {
        format!(
            "{:>8}/{}",
            human_size(current as f64),
            human_size(total as f64)
        )
    };
    bar + &numbers
}

impl JsonMessage {
    /// A progress line for object `id`: `{"status":…,"progressDetail":{…},"progress":…,"id":…}`.
    pub fn progress_of(
        status: impl Into<String>,
        id: impl Into<String>,
        current: i64,
        total: i64,
    ) -> JsonMessage {
        JsonMessage {
            status: Some(status.into()),
            progress_detail: Some(ProgressDetail {
                current: Some(current),
                total: Some(total),
            }),
            progress: Some(bar(current, total)),
            id: Some(id.into()),
            ..Default::default()
        }
    }

    /// A `{"stream":…}` line, as dockerd's stdout writer wraps plain text.
    pub fn stream_line(text: impl Into<String>) -> JsonMessage {
        JsonMessage {
            stream: Some(text.into()),
            ..Default::default()
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sizes_read_like_go_units() {
        assert_eq!(human_size(0.0), "0B");
        assert_eq!(human_size(512.0), "512B");
        assert_eq!(human_size(2_097_152.0), "2.097MB");
        assert_eq!(human_size(1_000.0), "1kB");
        assert_eq!(human_size(199_000_000.0), "199MB");
        assert_eq!(human_size(1_234_567.0), "1.235MB");
    }

    #[test]
    fn bars_are_fifty_wide() {
        assert_eq!(
            bar(1_000_000, 2_000_000),
            format!("[{}>{}]      1MB/2MB", "=".repeat(25), " ".repeat(25))
        );
        assert_eq!(bar(0, 0), "");
        assert!(bar(2_000_000, 2_000_000).starts_with(&format!("[{}>]", "=".repeat(50))));
    }
}
