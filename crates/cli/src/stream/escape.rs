//! Detach keys: parsing `ctrl-p,ctrl-q` into bytes (moby's `term.ToBytes`) and spotting the
//! sequence in typed input (moby's `EscapeProxy`): the sequence may arrive in one read or
//! spread over several; bytes typed before it are still sent, and a partial match that
//! breaks is passed on unchanged.

/// docker's default: ctrl-p, ctrl-q.
pub const DEFAULT_KEYS: [u8; 2] = [16, 17];

/// Parses a detach-key spec: comma-separated single characters or `ctrl-<c>`.
pub fn parse_keys(spec: &str) -> Result<Vec<u8>, String> {
    let mut out = Vec::new();
    for key in spec.split(',') {
        if key.len() == 1 {
            out.push(key.as_bytes()[0]);
            continue;
        }
        let lower = key.to_lowercase();
        let Some(c) = lower.strip_prefix("ctrl-") else {
            return Err(format!("Unknown character: '{key}'"));
        };
        let b = match c.as_bytes() {
            [c @ b'a'..=b'z'] => c - b'a' + 1,
            [b'@'] => 0,
            [b'['] => 27,
            [b'\\'] => 28,
            [b']'] => 29,
            [b'^'] => 30,
            [b'_'] => 31,
            _ => return Err(format!("Unknown sequence: '{key}'")),
        };
        out.push(b);
    }
    Ok(out)
}

/// What a chunk of input turned into.
#[derive(Debug, PartialEq, Eq)]
pub enum Escaped {
    /// Bytes to send on.
    Forward(Vec<u8>),
    /// The full detach sequence was typed; `before` are the bytes that preceded it in this
    /// read, still to be sent.
    Detach { before: Vec<u8> },
}

/// Tracks a partially typed detach sequence across reads.
#[derive(Debug)]
pub struct EscapeProxy {
    keys: Vec<u8>,
    pos: usize,
}

impl EscapeProxy {
    /// A proxy watching for `keys` (no keys: everything passes).
    pub fn new(keys: Vec<u8>) -> EscapeProxy {
        EscapeProxy { keys, pos: 0 }
    }

    /// Feeds one read's worth of input.
    pub fn feed(&mut self, chunk: &[u8]) -> Escaped {
        if self.keys.is_empty() {
            return Escaped::Forward(chunk.to_vec());
        }
        let mut buf = chunk.to_vec();
        let mut i = 0;
        while i < buf.len() {
            if buf[i] == self.keys[self.pos] {
                self.pos += 1;
                if self.pos == self.keys.len() {
                    let n = (i + 1).saturating_sub(self.pos);
                    buf.truncate(n);
                    return Escaped::Detach { before: buf };
                }
                i += 1;
                continue;
            }
            if i < self.pos {
                // The partial match began in an earlier read and was held back: give it
                // back in front of this input.
                let mut held = self.keys[..self.pos].to_vec();
                held.extend_from_slice(&buf);
                buf = held;
                i += self.pos;
            }
            self.pos = 0;
            i += 1;
        }
        // Hold back a partial match at the end until we know what follows.
        buf.truncate(buf.len() - self.pos.min(buf.len()));
        Escaped::Forward(buf)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_key_specs() {
        assert_eq!(parse_keys("ctrl-p,ctrl-q").unwrap(), DEFAULT_KEYS.to_vec());
        assert_eq!(
            parse_keys("ctrl-a,a,ctrl-@,ctrl-_").unwrap(),
            vec![1, b'a', 0, 31]
        );
        assert_eq!(parse_keys("ctrl-P").unwrap(), vec![16]);
        assert!(parse_keys("ctrl-").is_err());
        assert!(parse_keys("ctrl-ab").is_err());
        assert!(parse_keys("xy").is_err());
    }

    #[test]
    fn detects_the_sequence_typed_key_by_key() {
        let mut p = EscapeProxy::new(DEFAULT_KEYS.to_vec());
        assert_eq!(p.feed(b"l"), Escaped::Forward(b"l".to_vec()));
        assert_eq!(p.feed(&[16]), Escaped::Forward(vec![]));
        assert_eq!(p.feed(&[17]), Escaped::Detach { before: vec![] });
    }

    #[test]
    fn detects_the_sequence_in_one_read_and_keeps_what_came_before() {
        let mut p = EscapeProxy::new(DEFAULT_KEYS.to_vec());
        assert_eq!(p.feed(&[16, 17]), Escaped::Detach { before: vec![] });
        let mut p = EscapeProxy::new(DEFAULT_KEYS.to_vec());
        assert_eq!(
            p.feed(b"ls\r\x10\x11"),
            Escaped::Detach {
                before: b"ls\r".to_vec()
            }
        );
    }

    #[test]
    fn a_broken_sequence_is_passed_on() {
        let mut p = EscapeProxy::new(DEFAULT_KEYS.to_vec());
        assert_eq!(p.feed(&[16]), Escaped::Forward(vec![]));
        assert_eq!(p.feed(b"x"), Escaped::Forward(vec![16, b'x']));
        assert_eq!(
            p.feed(&[b'a', 16, b'b']),
            Escaped::Forward(vec![b'a', 16, b'b'])
        );
        assert_eq!(p.feed(&[b'a', 16]), Escaped::Forward(vec![b'a']));
        assert_eq!(p.feed(b"c"), Escaped::Forward(vec![16, b'c']));
    }
}
