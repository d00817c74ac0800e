//! Time zones as Go's `time` package reads them: a TZif file (RFC 8536) of transitions, each
//! with the UTC offset and abbreviation in force after it. Pure: the caller reads the file
//! (`TZ`, `/etc/localtime`).

/// A time zone: transitions and the offset/abbreviation in force after each.
#[derive(Debug, Clone)]
pub struct Zone {
    transitions: Vec<(i64, usize)>,
    types: Vec<(i32, String)>,
}

impl Zone {
    /// UTC.
    pub fn utc() -> Zone {
        Zone {
            transitions: vec![],
            types: vec![(0, "UTC".into())],
        }
    }

    /// UTC, for callers that need a `'static` zone (tests, `--utc` style output).
    pub fn utc_static() -> &'static Zone {
        static UTC: std::sync::OnceLock<Zone> = std::sync::OnceLock::new();
        UTC.get_or_init(Zone::utc)
    }

    /// Parses a TZif file, preferring the 64-bit data of version 2+.
    pub fn from_tzif(b: &[u8]) -> Option<Zone> {
        if b.len() < 44 || &b[..4] != b"TZif" {
            return None;
        }
        let counts = |h: &[u8]| -> Option<[usize; 6]> {
            let mut c = [0usize; 6];
            for (i, slot) in c.iter_mut().enumerate() {
                let o = 20 + i * 4;
                *slot = u32::from_be_bytes(h.get(o..o + 4)?.try_into().ok()?) as usize;
            }
            Some(c)
        };
        let [isut, isstd, leap, timecnt, typecnt, charcnt] = counts(b)?;
        let v1_len = timecnt * 5 + typecnt * 6 + charcnt + leap * 8 + isstd + isut;
        if b[4] >= b'2' && b.len() >= 44 + v1_len + 44 {
            let h2 = &b[44 + v1_len..];
            let c2 = counts(h2)?;
            return Zone::data(&h2[44..], c2, 8);
        }
        Zone::data(&b[44..], [isut, isstd, leap, timecnt, typecnt, charcnt], 4)
    }

    fn data(d: &[u8], c: [usize; 6], tsize: usize) -> Option<Zone> {
        let [_, _, _, timecnt, typecnt, charcnt] = c;
        let times = d.get(..timecnt * tsize)?;
        let idx = d.get(timecnt * tsize..timecnt * (tsize + 1))?;
        let tt_off = timecnt * (tsize + 1);
        let ttinfo = d.get(tt_off..tt_off + typecnt * 6)?;
        let chars = d.get(tt_off + typecnt * 6..tt_off + typecnt * 6 + charcnt)?;
        let mut types = Vec::with_capacity(typecnt);
        for t in ttinfo.chunks(6) {
            let off = i32::from_be_bytes(t[..4].try_into().ok()?);
            let ai = t[5] as usize;
            let end = chars
                .get(ai..)?
                .iter()
                .position(|&c| c == 0)
                .map(|p| ai + p)
                .unwrap_or(chars.len());
            types.push((off, String::from_utf8_lossy(&chars[ai..end]).into_owned()));
        }
        let mut transitions = Vec::with_capacity(timecnt);
        for (i, t) in times.chunks(tsize).enumerate() {
            let at = if tsize == 8 {
                i64::from_be_bytes(t.try_into().ok()?)
            } else {
                i32::from_be_bytes(t.try_into().ok()?) as i64
            };
            let ty = idx[i] as usize;
            if ty >= types.len() {
                return None;
            }
            transitions.push((at, ty));
        }
        if types.is_empty() {
            return None;
        }
        Some(Zone { transitions, types })
    }

    /// The UTC offset in seconds and the abbreviation in force at `unix`.
    pub fn lookup(&self, unix: i64) -> (i32, &str) {
        let i = self.transitions.partition_point(|(at, _)| *at <= unix);
        let ty = if i == 0 { 0 } else { self.transitions[i - 1].1 };
        let (off, abbr) = &self.types[ty];
        (*off, abbr)
    }
}
