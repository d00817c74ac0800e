//! Output formatting: docker's table writer and formatter contexts (`ps`, `images`) over the
//! `gotemplate` engine, JSON indentation and the progress stream.

pub mod container;
pub mod ids;
pub mod image;
pub mod json_indent;
pub mod jsonmessage;
pub mod table;
pub mod units;

use api_types::time::Zone;

/// The local time zone as Go's `time.Local` finds it: the zone named by `TZ` (empty: UTC;
/// a leading `:` ignored; a relative name under `/usr/share/zoneinfo`), else
/// `/etc/localtime`, else UTC. Read once.
pub fn local_zone() -> &'static Zone {
    static LOCAL: std::sync::OnceLock<Zone> = std::sync::OnceLock::new();
    LOCAL.get_or_init(|| {
        let path = match std::env::var("TZ") {
            Ok(tz) if tz.is_empty() => return Zone::utc(),
            Ok(tz) => {
                let tz = tz.trim_start_matches(':').to_string();
                if tz.starts_with('/') {
                    tz
                } else {
                    format!("/usr/share/zoneinfo/{tz}")
                }
            }
            Err(_) => "/etc/localtime".into(),
        };
        std::fs::read(path)
            .ok()
            .and_then(|b| Zone::from_tzif(&b))
            .unwrap_or_else(Zone::utc)
    })
}
