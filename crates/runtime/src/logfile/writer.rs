//! The shim's side: turns output chunks into json-file lines, with rotation.

use std::fs::{File, OpenOptions};
use std::io::Write;
use std::time::SystemTime;

use super::{LogConfig, LogError, Record, Stream, MAX_LINE};
use api_types::time::format_rfc3339_nano;

/// Writes a container's output as json-file entries. Not synchronised per line: a crash may lose
/// the last lines in the page cache, as with dockerd.
pub struct JsonLogWriter {
    cfg: LogConfig,
    file: File,
    size: u64,
    /// Bytes of an unfinished line, per stream (stdout, stderr).
    pending: [Vec<u8>; 2],
    buf: Vec<u8>,
}

impl JsonLogWriter {
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
        Ok(JsonLogWriter {
            cfg,
            file,
            size,
            pending: [Vec::new(), Vec::new()],
            buf: Vec::with_capacity(512),
        })
    }

    fn slot(stream: Stream) -> usize {
        match stream {
            Stream::Stdout => 0,
            Stream::Stderr => 1,
        }
    }

    /// Adds output read from `stream`: complete lines are written at once, a line reaching
    /// [`MAX_LINE`] bytes is written as a partial entry, the rest waits for more.
    pub fn write(&mut self, stream: Stream, mut data: &[u8]) -> Result<(), LogError> {
        let now = format_rfc3339_nano(SystemTime::now());
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
                self.emit(stream, &data[..take], &now)?;
            } else {
                let mut line = std::mem::take(&mut self.pending[slot]);
                line.extend_from_slice(&data[..take]);
                self.emit(stream, &line, &now)?;
                line.clear();
                self.pending[slot] = line;
            }
            data = &data[take..];
        }
        self.flush_buf()
    }

    /// Writes out unfinished lines (at EOF of the streams) as partial entries.
    pub fn flush_partial(&mut self) -> Result<(), LogError> {
        let now = format_rfc3339_nano(SystemTime::now());
        for stream in [Stream::Stdout, Stream::Stderr] {
            let line = std::mem::take(&mut self.pending[Self::slot(stream)]);
            if !line.is_empty() {
                self.emit(stream, &line, &now)?;
            }
        }
        self.flush_buf()
    }

    /// Encodes one entry into the write buffer; the buffer goes to the file in one write at the
    /// end of [`write`](Self::write) (or before a rotation).
    fn emit(&mut self, stream: Stream, line: &[u8], time: &str) -> Result<(), LogError> {
        let start = self.buf.len();
        let rec = Record {
            log: String::from_utf8_lossy(line),
            stream,
            time: time.into(),
        };
        serde_json::to_writer(&mut self.buf, &rec).map_err(|e| LogError::Io {
            path: self.cfg.path.clone(),
            source: std::io::Error::other(e),
        })?;
        self.buf.push(b'\n');
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

    /// `<path>.(n-2)` → `<path>.(n-1)` … `<path>` → `<path>.1`, then a fresh `<path>`. With one
    /// file the old one is simply replaced. Renames keep readers' open files valid.
    fn rotate(&mut self) -> Result<(), LogError> {
        let max = self.cfg.max_files.max(1);
        let err = |path: &std::path::Path| {
            let path = path.to_owned();
            move |source| LogError::Io { path, source }
        };
        if max == 1 {
            std::fs::remove_file(&self.cfg.path).map_err(err(&self.cfg.path))?;
        } else {
            for n in (1..max).rev() {
                let from = self.cfg.file(n - 1);
                match std::fs::rename(&from, self.cfg.file(n)) {
                    Err(e) if e.kind() != std::io::ErrorKind::NotFound => {
                        return Err(err(&from)(e))
                    }
                    _ => {}
                }
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
