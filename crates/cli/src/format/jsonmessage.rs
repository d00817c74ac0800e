//! Showing a JSON progress stream (import, pull) the way docker's `jsonmessage` does: one
//! line per status; on a terminal, per-layer progress lines are rewritten in place.

use std::collections::HashMap;
use std::io::Write;

use api_types::JsonMessage;

use super::units::human_size;

/// Renders progress messages onto a writer, keeping per-id line positions on a terminal.
pub struct Display<W: Write> {
    out: W,
    terminal: bool,
    width: usize,
    lines: HashMap<String, usize>,
}

impl<W: Write> Display<W> {
    /// A display for `out`; `width` is the terminal width (progress bars need > 110).
    pub fn new(out: W, terminal: bool, width: usize) -> Self {
        Display {
            out,
            terminal,
            width,
            lines: HashMap::new(),
        }
    }

    /// Shows one message; returns the stream's error message if it carries one.
    pub fn show(&mut self, m: &JsonMessage) -> std::io::Result<Result<(), String>> {
        if let Some(d) = &m.error_detail {
            return Ok(Err(d.message.clone()));
        }
        if let Some(e) = &m.error {
            return Ok(Err(e.clone()));
        }
        if m.aux.is_some() {
            return Ok(Ok(()));
        }
        let has_progress = m.progress_detail.is_some() || m.progress.is_some();
        let mut diff = 0;
        match &m.id {
            Some(id) if has_progress => {
                let n = self.lines.len();
                let line = *self.lines.entry(id.clone()).or_insert_with(|| n);
                if line == n && self.terminal {
                    self.out.write_all(b"\n")?;
                }
                diff = self.lines.len() - line;
                if self.terminal {
                    write!(self.out, "\x1b[{diff}A")?;
                }
            }
            _ => self.lines.clear(),
        }
        self.display(m)?;
        if m.id.is_some() && self.terminal && diff > 0 {
            write!(self.out, "\x1b[{diff}B")?;
        }
        self.out.flush()?;
        Ok(Ok(()))
    }

    fn display(&mut self, m: &JsonMessage) -> std::io::Result<()> {
        let bar = m
            .progress_detail
            .as_ref()
            .map(|p| progress_string(p.current.unwrap_or(0), p.total.unwrap_or(0), self.width));
        let mut endl = "";
        if self.terminal && m.stream.is_none() && m.progress_detail.is_some() {
            // Erase the line and return to its start.
            self.out.write_all(b"\x1b[2K\r")?;
            endl = "\r";
        } else if bar.as_deref().is_some_and(|b| !b.is_empty()) {
            // Progress bars are not shown off a terminal.
            return Ok(());
        }
        if let Some(id) = &m.id {
            write!(self.out, "{id}: ")?;
        }
        let status = m.status.as_deref().unwrap_or("");
        if let (Some(bar), true) = (&bar, self.terminal) {
            write!(self.out, "{status} {bar}{endl}")
        } else if let Some(p) = &m.progress {
            write!(self.out, "{status} {p}{endl}")
        } else if let Some(s) = &m.stream {
            write!(self.out, "{s}{endl}")
        } else {
            writeln!(self.out, "{status}{endl}")
        }
    }
}

/// `JSONProgress.String`: `[====>   ]  1.2MB/4.5MB`.
fn progress_string(current: i64, total: i64, width: usize) -> String {
    if current <= 0 && total <= 0 {
        return String::new();
    }
    if total <= 0 {
        return format!("{:>8}", human_size(current as f64));
    }
    let pct = (((current as f64 / total as f64) * 100.0) as i64 / 2).clamp(0, 50) as usize;
    let bar = if width > 110 {
        format!("[{}>{}] ", "=".repeat(pct), " ".repeat(50 - pct))
    } else {
        String::new()
    };
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn plain_statuses_off_terminal() {
        let mut buf = Vec::new();
        let mut d = Display::new(&mut buf, false, 80);
        d.show(&JsonMessage::status("sha256:abc")).unwrap().unwrap();
        d.show(&JsonMessage::status_id("Pulling fs layer", "a1"))
            .unwrap()
            .unwrap();
        let mut p = JsonMessage::status_id("Downloading", "a1");
        p.progress_detail = Some(api_types::ProgressDetail {
            current: Some(10),
            total: Some(100),
        });
        d.show(&p).unwrap().unwrap();
        let err = d.show(&JsonMessage::error("boom")).unwrap();
        assert_eq!(err, Err("boom".to_string()));
        assert_eq!(
            String::from_utf8(buf).unwrap(),
            "sha256:abc\na1: Pulling fs layer\n"
        );
    }

    #[test]
    fn progress_strings() {
        assert_eq!(progress_string(0, 0, 200), "");
        assert_eq!(progress_string(1000, 0, 200), "     1kB");
        assert_eq!(progress_string(500, 1000, 80), "    500B/1kB");
        assert!(progress_string(500, 1000, 200).starts_with("[=========================>"));
    }
}
