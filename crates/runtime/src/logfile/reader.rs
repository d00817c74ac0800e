//! The engine's side: reads logs back for `docker logs`, json-file or local, the rotated
//! files plain or gzip-compressed.

use std::collections::VecDeque;
use std::fs::File;
use std::io::{Read, Seek, SeekFrom};
use std::os::unix::fs::MetadataExt;
use std::time::SystemTime;

use super::{local, LogConfig, LogEntry, LogError, LogFormat, Record};
use api_types::time::parse_system_time;

/// Which entries `docker logs` wants.
#[derive(Debug, Clone, Default)]
pub struct ReadOptions {
    /// Only entries at or after this time.
    pub since: Option<SystemTime>,
    /// Only entries before this time (also ends following).
    pub until: Option<SystemTime>,
    /// Only the last `n` entries of the history (`--tail n`); `None` is all.
    pub tail: Option<usize>,
}

impl ReadOptions {
    fn wants(&self, e: &LogEntry) -> bool {
        self.since.is_none_or(|s| e.time >= s) && self.until.is_none_or(|u| e.time < u)
    }
}

fn parse_line(line: &[u8]) -> Option<LogEntry> {
    let rec: Record<'_> = serde_json::from_slice(line).ok()?;
    Some(LogEntry {
        stream: rec.stream,
        time: parse_system_time(&rec.time)?,
        line: rec.log.into_owned().into_bytes(),
        attrs: rec
            .attrs
            .map(|a| a.into_owned().into_iter().collect())
            .unwrap_or_default(),
    })
}

/// The complete entries at the start of `data` in `format`, and how many bytes they used.
fn parse(format: LogFormat, data: &[u8]) -> (Vec<LogEntry>, usize) {
    match format {
        LogFormat::Local => local::decode_frames(data),
        LogFormat::JsonFile => {
            let complete = data.iter().rposition(|&b| b == b'\n').map_or(0, |i| i + 1);
            let entries = data[..complete]
                .split(|&b| b == b'\n')
                .filter_map(parse_line)
                .collect();
            (entries, complete)
        }
    }
}

/// The content of rotated file `n`, compressed or not; `None` when it does not exist.
fn read_rotated(cfg: &LogConfig, n: u32) -> Result<Option<Vec<u8>>, LogError> {
    let gz = cfg.compressed_file(n);
    let mut data = Vec::new();
    match File::open(&gz) {
        Ok(f) => {
            flate2::read::GzDecoder::new(f)
                .read_to_end(&mut data)
                .map_err(|source| LogError::Io { path: gz, source })?;
            return Ok(Some(data));
        }
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
        Err(source) => return Err(LogError::Io { path: gz, source }),
    }
    let path = cfg.file(n);
    match File::open(&path) {
        Ok(mut f) => {
            f.read_to_end(&mut data)
                .map_err(|source| LogError::Io { path, source })?;
            Ok(Some(data))
        }
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
        Err(source) => Err(LogError::Io { path, source }),
    }
}

/// Reads the history of a log (oldest rotated file first) filtered by `opts`, and returns a
/// follower positioned right after it: `follower.poll()` yields what is written later, so
/// `logs -f` loses and repeats nothing. Lines that are not valid entries are skipped.
pub fn read(cfg: &LogConfig, opts: &ReadOptions) -> Result<(Vec<LogEntry>, LogFollower), LogError> {
    let mut out: VecDeque<LogEntry> = VecDeque::new();
    let keep = opts.tail.unwrap_or(usize::MAX);
    let push = |out: &mut VecDeque<LogEntry>, e: LogEntry| {
        if keep == 0 {
            return;
        }
        if out.len() == keep {
            out.pop_front();
        }
        out.push_back(e);
    };
    for n in (1..cfg.max_files.max(1)).rev() {
        let Some(data) = read_rotated(cfg, n)? else {
            continue;
        };
        for e in parse(cfg.format, &data)
            .0
            .into_iter()
            .filter(|e| opts.wants(e))
        {
            push(&mut out, e);
        }
    }
    let mut follower = LogFollower::open(cfg.clone(), opts.clone())?;
    let mut follower_opts = opts.clone();
    follower_opts.tail = None;
    for e in follower.poll()? {
        push(&mut out, e);
    }
    follower.opts = follower_opts;
    Ok((out.into(), follower))
}

/// Continues reading a log as it grows, across rotations. Call [`poll`](Self::poll) when you
/// want new entries (e.g. every 100 ms while the container runs, and once more after it exits).
pub struct LogFollower {
    cfg: LogConfig,
    opts: ReadOptions,
    file: Option<File>,
    ino: u64,
    partial: Vec<u8>,
}

impl LogFollower {
    fn open(cfg: LogConfig, opts: ReadOptions) -> Result<Self, LogError> {
        let mut f = LogFollower {
            cfg,
            opts,
            file: None,
            ino: 0,
            partial: Vec::new(),
        };
        f.reopen()?;
        Ok(f)
    }

    fn reopen(&mut self) -> Result<bool, LogError> {
        match File::open(&self.cfg.path) {
            Ok(file) => {
                self.ino = file.metadata().map_err(|source| self.io(source))?.ino();
                self.file = Some(file);
                self.partial.clear();
                Ok(true)
            }
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(false),
            Err(source) => Err(self.io(source)),
        }
    }

    fn io(&self, source: std::io::Error) -> LogError {
        LogError::Io {
            path: self.cfg.path.clone(),
            source,
        }
    }

    /// Whether `until` has passed, so following can stop.
    pub fn past_until(&self) -> bool {
        self.opts.until.is_some_and(|u| SystemTime::now() >= u)
    }

    /// Returns the entries written since the last call (possibly none).
    pub fn poll(&mut self) -> Result<Vec<LogEntry>, LogError> {
        let mut out = Vec::new();
        // At most a few rounds: drain the current file, and if it was rotated away, the new one.
        for _ in 0..4 {
            if self.file.is_none() && !self.reopen()? {
                return Ok(out);
            }
            self.drain(&mut out)?;
            let current = std::fs::metadata(&self.cfg.path).map(|m| m.ino()).ok();
            if current == Some(self.ino) {
                // Same file; handle an outside truncation by starting over.
                if let Some(f) = self.file.as_mut() {
                    let pos = f.stream_position().map_err(|source| LogError::Io {
                        path: self.cfg.path.clone(),
                        source,
                    })?;
                    let len = f.metadata().map(|m| m.len()).unwrap_or(pos);
                    if len < pos {
                        f.seek(SeekFrom::Start(0)).map_err(|source| LogError::Io {
                            path: self.cfg.path.clone(),
                            source,
                        })?;
                        self.partial.clear();
                        continue;
                    }
                }
                return Ok(out);
            }
            self.file = None;
        }
        Ok(out)
    }

    fn drain(&mut self, out: &mut Vec<LogEntry>) -> Result<(), LogError> {
        let Some(file) = self.file.as_mut() else {
            return Ok(());
        };
        let mut data = std::mem::take(&mut self.partial);
        file.read_to_end(&mut data).map_err(|source| LogError::Io {
            path: self.cfg.path.clone(),
            source,
        })?;
        let (entries, used) = parse(self.cfg.format, &data);
        out.extend(entries.into_iter().filter(|e| self.opts.wants(e)));
        self.partial = data[used..].to_vec();
        Ok(())
    }
}
