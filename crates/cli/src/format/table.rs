//! docker's formatter `Context.Write`: a `--format` value (`table …`, `json`, or a custom
//! template) applied to each row, and for tables a header rendered from the same template
//! with docker's header functions, all aligned by an elastic tabwriter with padding 3.

use std::io::Write;

use tabwriter::TabWriter;

use gotemplate::{Funcs, Template, Value};

/// A rendering failure, worded as docker's (`template parsing error: …`).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("template parsing error: {0}")]
pub struct FormatError(pub String);

/// A prepared `--format`: whether it is a table, and the template text.
#[derive(Debug, Clone)]
pub struct Format {
    pub table: bool,
    pub text: String,
}

impl Format {
    /// docker's `preFormat`: strips `table`, maps `json` to `{{json .}}`, trims spaces and
    /// turns the two-character sequences `\t` and `\n` into tab and newline.
    pub fn new(format: &str) -> Format {
        let table = format.starts_with("table");
        let mut text = if table {
            format["table".len()..].to_string()
        } else if format == "json" {
            "{{json .}}".to_string()
        } else {
            format.to_string()
        };
        text = text
            .trim_matches(' ')
            .replace("\\t", "\t")
            .replace("\\n", "\n");
        Format { table, text }
    }
}

/// Go's `tabwriter.NewWriter(out, minwidth, 1, padding, ' ', 0)`: Go counts padding inside
/// the minimum width, this crate outside it.
pub fn go_tabwriter(minwidth: usize, padding: usize) -> TabWriter<Vec<u8>> {
    TabWriter::new(Vec::new())
        .minwidth(minwidth.saturating_sub(padding))
        .padding(padding)
}

/// Renders `rows` with `format`; `header` is the object docker renders table headers from.
pub fn render(format: &str, header: &Value, rows: &[Value]) -> Result<String, FormatError> {
    let f = Format::new(format);
    let tmpl = Template::docker(&f.text).map_err(|e| FormatError(e.to_string()))?;
    let mut body = String::new();
    for row in rows {
        let out = tmpl.execute(row).map_err(|e| FormatError(e.to_string()))?;
        body.push_str(&out);
        body.push('\n');
    }
    if !f.table {
        return Ok(body);
    }
    // Header errors are ignored, as docker ignores them: whatever rendered is kept.
    let (head, _) = tmpl.execute_partial(header, &Funcs::docker_header());
    let mut tw = go_tabwriter(10, 3);
    let _ = tw.write_all(head.as_bytes());
    let _ = tw.write_all(b"\n");
    let _ = tw.write_all(body.as_bytes());
    let _ = tw.flush();
    Ok(String::from_utf8_lossy(&tw.into_inner().unwrap_or_default()).into_owned())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pre_format_like_docker() {
        let f = Format::new("table {{.ID}}\\t{{.Image}}");
        assert!(f.table);
        assert_eq!(f.text, "{{.ID}}\t{{.Image}}");
        assert_eq!(Format::new("json").text, "{{json .}}");
        assert!(!Format::new("{{.ID}}").table);
    }

    #[test]
    fn go_tabwriter_widths() {
        let mut tw = go_tabwriter(10, 3);
        tw.write_all(b"IMAGE\tCOMMAND\tNAMES\nubuntu\t\"\"\tfoobar_baz\n")
            .unwrap();
        tw.flush().unwrap();
        let out = String::from_utf8(tw.into_inner().unwrap()).unwrap();
        assert_eq!(
            out,
            "IMAGE     COMMAND   NAMES\nubuntu    \"\"        foobar_baz\n"
        );
    }
}
