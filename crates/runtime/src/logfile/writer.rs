//! The shim's side: turns output chunks into log entries (json-file lines or local frames),
//! with rotation and, when asked, gzip-compressed rotated files.

use std::fs::{File, OpenOptions};
use std::io::Write;
use std::time::SystemTime;

use super::local::{self, Partial};
use super::{LogConfig, LogError, LogFormat, Record, Stream, MAX_LINE};
use api_types::time::format_rfc3339_nano;

/// Writes a container's output as log entries. Not synchronised per line: a crash may lose
/// the last lines in the page cache, as with dockerd.
pub struct LogWriter {
    cfg: LogConfig,
    file: File,
    size: u64,
    /// Bytes of an unfinished line, per stream (stdout, stderr).
    pending: [Vec<u8>; 2],
    /// The id and last ordinal of a line being split into partial entries (local format).
    split: [Option<(String, i32)>; 2],
    /// Lines split so far, to make the partial ids unique.
    splits: u64,
    buf: Vec<u8>,
}

/// The time of one write, in both encodings' forms.
struct Stamp {
    text: String,
    nanos: i64,
}

impl LogWriter {
    /// Opens (appending to) the live log file.
    pub fn open(cfg: LogConfig) -> Result<Self, LogError> {
        let err = |source| LogError::Io {
            path: cfg.path.clone(),
            source,
        };
        if let Some(dir) = cfg.path.parent() {
            std::fs::create_dir_all(dir).map_err(err)?;
        }
        let file = OpenOptions::new()
            .create(true)
            .append(true)
            .open(&cfg.path)
            .map_err(err)?;
        let size = file.metadata().map_err(err)?.len();
        Ok(LogWriter {
            cfg,
            file,
            size,
            pending: [Vec::new(), Vec::new()],
            split: [None, None],
            splits: 0,
            buf: Vec::with_capacity(512),
        })
    }

    fn slot(stream: Stream) -> usize {
        match stream {
            Stream::Stdout => 0,
            Stream::Stderr => 1,
        }
    }

    fn stamp() -> Stamp {
        let now = SystemTime::now();
        Stamp {
            text: format_rfc3339_nano(now),
            nanos: local::nanos(now),
        }
    }

    /// Adds output read from `stream`: complete lines are written at once, a line reaching
    /// [`MAX_LINE`] bytes is written as a partial entry, the rest waits for more.
    pub fn write(&mut self, stream: Stream, mut data: &[u8]) -> Result<(), LogError> {
        let now = Self::stamp();
        let slot = Self::slot(stream);
        while !data.is_empty() {
            let room = MAX_LINE - self.pending[slot].len();
            let window = &data[..data.len().min(room)];
            let take = match window.iter().position(|&b| b == b'\n') {
                Some(nl) => nl + 1,
                None if window.len() == room => room,
                None => {
                    self.pending[slot].extend_from_slice(window);
                    break;
                }
            };
            if self.pending[slot].is_empty() {
                self.emit(stream, &data[..take], &now, false)?;
            } else {
                let mut line = std::mem::take(&mut self.pending[slot]);
                line.extend_from_slice(&data[..take]);
                self.emit(stream, &line, &now, false)?;
                line.clear();
                self.pending[slot] = line;
            }
            data = &data[take..];
        }
        self.flush_buf()
    }

    /// Writes out unfinished lines (at EOF of the streams) as partial entries.
    pub fn flush_partial(&mut self) -> Result<(), LogError> {
        let now = Self::stamp();
        for stream in [Stream::Stdout, Stream::Stderr] {
            let line = std::mem::take(&mut self.pending[Self::slot(stream)]);
            if !line.is_empty() {
                self.emit(stream, &line, &now, true)?;
            }
        }
        self.flush_buf()
    }

    /// The partial metadata of the next local entry of `stream`: `None` for a whole line.
    fn partial(&mut self, stream: Stream, complete: bool, eof: bool) -> Option<Partial> {
        let slot = Self::slot(stream);
        let last = complete || eof;
        if last && self.split[slot].is_none() && !eof {
            return None;
        }
        let (id, ordinal) = match self.split[slot].take() {
            Some((id, n)) => (id, n + 1),
            None => {
                self.splits += 1;
                (format!("{:x}{:x}", std::process::id(), self.splits), 1)
            }
        };
        if !last {
            self.split[slot] = Some((id.clone(), ordinal));
        }
        Some(Partial { id, ordinal, last })
    }

    /// Encodes one entry into the write buffer; the buffer goes to the file in one write at the
    /// end of [`write`](Self::write) (or before a rotation). `eof` marks the end of a stream.
    fn emit(
        &mut self,
        stream: Stream,
        line: &[u8],
        time: &Stamp,
        eof: bool,
    ) -> Result<(), LogError> {
        let start = self.buf.len();
        match self.cfg.format {
            LogFormat::JsonFile => {
                let rec = Record {
                    log: String::from_utf8_lossy(line),
                    stream,
                    attrs: (!self.cfg.attrs.is_empty())
                        .then_some(std::borrow::Cow::Borrowed(&self.cfg.attrs)),
                    time: time.text.as_str().into(),
                };
                serde_json::to_writer(&mut self.buf, &rec).map_err(|e| LogError::Io {
                    path: self.cfg.path.clone(),
                    source: std::io::Error::other(e),
                })?;
                self.buf.push(b'\n');
            }
            LogFormat::Local => {
                let complete = line.last() == Some(&b'\n');
                let text = if complete {
                    &line[..line.len() - 1]
                } else {
                    line
                };
                let partial = self.partial(stream, complete, eof);
                local::encode(&mut self.buf, stream, time.nanos, text, partial.as_ref());
            }
        }
        let len = (self.buf.len() - start) as u64;
        let buffered = start as u64;
        if self.cfg.max_size > 0
            && self.size + buffered > 0
            && self.size + buffered + len > self.cfg.max_size
        {
            // This entry starts the next file: write what precedes it, then rotate.
            let entry = self.buf.split_off(start);
            self.flush_buf()?;
            self.rotate()?;
            self.buf = entry;
        }
        Ok(())
    }

    fn flush_buf(&mut self) -> Result<(), LogError> {
        if self.buf.is_empty() {
            return Ok(());
        }
        self.file
            .write_all(&self.buf)
            .map_err(|source| LogError::Io {
                path: self.cfg.path.clone(),
                source,
            })?;
        self.size += self.buf.len() as u64;
        self.buf.clear();
        Ok(())
    }

    /// `<path>.(n-2)` → `<path>.(n-1)` … `<path>` → `<path>.1` (each with `.gz` when
    /// compressing, the newest compressed right after its rename), then a fresh `<path>`.
    /// With one file the old one is simply replaced. Renames keep readers' open files valid.
    fn rotate(&mut self) -> Result<(), LogError> {
        let max = self.cfg.max_files.max(1);
        let err = |path: &std::path::Path| {
            let path = path.to_owned();
            move |source| LogError::Io { path, source }
        };
        let rotated = |n: u32| {
            if self.cfg.compress {
                self.cfg.compressed_file(n)
            } else {
                self.cfg.file(n)
            }
        };
        if max == 1 {
            std::fs::remove_file(&self.cfg.path).map_err(err(&self.cfg.path))?;
        } else {
            for n in (2..max).rev() {
                let from = rotated(n - 1);
                match std::fs::rename(&from, rotated(n)) {
                    Err(e) if e.kind() != std::io::ErrorKind::NotFound => {
                        return Err(err(&from)(e))
                    }
                    _ => {}
                }
            }
            let first = self.cfg.file(1);
            std::fs::rename(&self.cfg.path, &first).map_err(err(&self.cfg.path))?;
            if self.cfg.compress {
                compress(&first, &self.cfg.compressed_file(1)).map_err(err(&first))?;
            }
        }
        self.file = OpenOptions::new()
            .create(true)
            .append(true)
            .open(&self.cfg.path)
            .map_err(err(&self.cfg.path))?;
        self.size = 0;
        Ok(())
    }
}

/// Gzips `from` into `to` (through a temporary name, so a reader never sees half a file)
/// and removes `from`. The fastest level: the shim does this inline, between reads.
fn compress(from: &std::path::Path, to: &std::path::Path) -> std::io::Result<()> {
    let mut tmp = to.to_path_buf().into_os_string();
    tmp.push(".tmp");
    let tmp = std::path::PathBuf::from(tmp);
    {
        let mut input = File::open(from)?;
        let out = File::create(&tmp)?;
        let mut gz = flate2::write::GzEncoder::new(out, flate2::Compression::fast());
        std::io::copy(&mut input, &mut gz)?;
        gz.finish()?;
    }
    std::fs::rename(&tmp, to)?;
    std::fs::remove_file(from)
}
