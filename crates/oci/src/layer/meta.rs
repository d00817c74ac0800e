//! The metadata of a tar entry — mode, owner, times, xattrs — with PAX records applied.

use std::io::Read;

use rustix::fs::{Timespec, Timestamps};

use super::apply::{entry_name, ApplyError};

/// Metadata of one entry, PAX records applied.
pub(super) struct Meta {
    pub(super) mode: u32,
    pub(super) uid: u32,
    pub(super) gid: u32,
    pub(super) times: Timestamps,
    pub(super) xattrs: Vec<(Vec<u8>, Vec<u8>)>,
}

fn parse_time(v: &str) -> Option<Timespec> {
    let (s, frac) = v.split_once('.').unwrap_or((v, ""));
    let secs: i64 = s.parse().ok()?;
    let digits: String = frac.chars().take(9).collect();
    let nanos: i64 = if digits.is_empty() {
        0
    } else {
        format!("{digits:0<9}").parse().ok()?
    };
    // "-1.5" means -1 s - 0.5 s.
    let (secs, nanos) = if secs < 0 && nanos > 0 {
        (secs - 1, 1_000_000_000 - nanos)
    } else {
        (secs, nanos)
    };
    Some(Timespec {
        tv_sec: secs,
        tv_nsec: nanos as _,
    })
}

/// A numeric header field: blank (all NUL or spaces) reads as 0, as Go's archive/tar reads
/// it — plenty of real layers leave uid/gid empty; anything else must parse.
pub(super) fn numeric(field: &[u8], parsed: std::io::Result<u64>) -> std::io::Result<u64> {
    match parsed {
        Err(_) if field.iter().all(|&b| b == 0 || b == b' ') => Ok(0),
        r => r,
    }
}

pub(super) fn read_meta<R: Read>(
    e: &mut tar::Entry<'_, R>,
    raw: &[u8],
) -> Result<Meta, ApplyError> {
    let h = e.header();
    let field = |what| {
        move |source| ApplyError::Entry {
            entry: entry_name(raw),
            what,
            source,
        }
    };
    let old = h.as_old();
    let mode = numeric(&old.mode, h.mode().map(u64::from)).map_err(field("mode"))? as u32 & 0o7777;
    let mut uid = numeric(&old.uid, h.uid()).map_err(field("uid"))?;
    let mut gid = numeric(&old.gid, h.gid()).map_err(field("gid"))?;
    let mtime = Timespec {
        tv_sec: numeric(&old.mtime, h.mtime()).map_err(field("mtime"))? as i64,
        tv_nsec: 0,
    };
    let mut times = Timestamps {
        last_access: mtime,
        last_modification: mtime,
    };
    let mut atime_set = false;
    let mut xattrs = Vec::new();
    if let Some(pax) = e.pax_extensions().map_err(field("PAX header"))? {
        for ext in pax {
            let ext = ext.map_err(field("PAX record"))?;
            let Ok(key) = ext.key() else { continue };
            let val = ext.value_bytes();
            let num = || {
                std::str::from_utf8(val)
                    .ok()
                    .and_then(|s| s.parse::<u64>().ok())
            };
            let time = || std::str::from_utf8(val).ok().and_then(parse_time);
            match key {
                "uid" => uid = num().unwrap_or(uid),
                "gid" => gid = num().unwrap_or(gid),
                "mtime" => times.last_modification = time().unwrap_or(times.last_modification),
                "atime" => {
                    if let Some(t) = time() {
                        times.last_access = t;
                        atime_set = true;
                    }
                }
                _ => {
                    if let Some(name) = key.strip_prefix("SCHILY.xattr.") {
                        xattrs.push((name.as_bytes().to_vec(), val.to_vec()));
                    }
                }
            }
        }
    }
    if !atime_set {
        times.last_access = times.last_modification;
    }
    let id = |v: u64, what| {
        u32::try_from(v).map_err(|_| ApplyError::Invalid {
            entry: entry_name(raw),
            problem: what,
        })
    };
    Ok(Meta {
        mode,
        uid: id(uid, "uid out of range")?,
        gid: id(gid, "gid out of range")?,
        times,
        xattrs,
    })
}
