//! Detach keys: parsing `ctrl-p,ctrl-q` into bytes (moby's `term.ToBytes`) and spotting the
//! sequence in typed input (moby's `EscapeProxy`). Like docker, only single-byte reads —
//! keys typed one at a time — can start or continue a match; a partial match that breaks
//! is passed on unchanged.

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
    /// The full detach sequence was typed.
    Detach,
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
        let held = |this: &mut Self, rest: &[u8]| {
            let mut v = this.keys[..this.pos].to_vec();
            v.extend_from_slice(rest);
            this.pos = 0;
            Escaped::Forward(v)
        };
        if chunk.len() != 1 {
            return held(self, chunk);
        }
        if chunk[0] != self.keys[self.pos] {
            return held(self, chunk);
        }
        if self.pos == self.keys.len() - 1 {
            return Escaped::Detach;
        }
        self.pos += 1;
        Escaped::Forward(Vec::new())
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
        assert_eq!(p.feed(&[17]), Escaped::Detach);
    }

    #[test]
    fn a_broken_sequence_is_passed_on() {
        let mut p = EscapeProxy::new(DEFAULT_KEYS.to_vec());
        assert_eq!(p.feed(&[16]), Escaped::Forward(vec![]));
        assert_eq!(p.feed(b"x"), Escaped::Forward(vec![16, b'x']));
        // Pasted input (several bytes at once) never detaches.
        assert_eq!(p.feed(&[16, 17]), Escaped::Forward(vec![16, 17]));
    }
}
