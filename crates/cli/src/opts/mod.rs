//! Turning flag values into API bodies: container flags to a create request, port specs,
//! env and label files, and docker's value parsers.

pub mod container;
pub mod kvfile;
pub mod mount;
pub mod ports;
pub mod values;

use api_types::filters::Filters;

/// `--filter name=value` flags to the API's filters (docker's `FilterOpt`).
pub fn filters(values: &[String]) -> Result<Filters, String> {
    let mut f = Filters::default();
    for v in values {
        if v.is_empty() {
            continue;
        }
        let Some((name, val)) = v.split_once('=') else {
            return Err("bad format of filter (expected name=value)".into());
        };
        f.add(&name.trim().to_lowercase(), val.trim());
    }
    Ok(f)
}

#[cfg(test)]
mod tests {
    #[test]
    fn filters_like_docker() {
        let f = super::filters(&["Status=exited".into(), "label = a=b ".into()]).unwrap();
        assert_eq!(f.get("status").collect::<Vec<_>>(), vec!["exited"]);
        assert_eq!(f.get("label").collect::<Vec<_>>(), vec!["a=b"]);
        assert_eq!(
            super::filters(&["bogus".into()]).unwrap_err(),
            "bad format of filter (expected name=value)"
        );
    }
}
