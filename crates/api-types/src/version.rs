//! API version constants and comparison. The docker CLI negotiates `min(client, server)` from
//! the `Api-Version` header of `/_ping` and then prefixes every path with `/v<version>`.

/// The version berthd announces.
pub const API_VERSION: &str = "1.47";
/// The oldest version berthd serves.
pub const MIN_API_VERSION: &str = "1.24";

/// A parsed `major.minor` API version.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub struct ApiVersion {
    pub major: u32,
    pub minor: u32,
}

impl ApiVersion {
    /// Parses `1.47`; `None` for anything else.
    pub fn parse(s: &str) -> Option<ApiVersion> {
        let (a, b) = s.split_once('.')?;
        Some(ApiVersion {
            major: a.parse().ok()?,
            minor: b.parse().ok()?,
        })
    }

    /// The version berthd announces.
    pub fn current() -> ApiVersion {
        ApiVersion::parse(API_VERSION).expect("constant")
    }

    /// The oldest version berthd serves.
    pub fn min() -> ApiVersion {
        ApiVersion::parse(MIN_API_VERSION).expect("constant")
    }
}

impl std::fmt::Display for ApiVersion {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}.{}", self.major, self.minor)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_and_orders() {
        assert!(ApiVersion::parse("1.9").unwrap() < ApiVersion::parse("1.24").unwrap());
        assert_eq!(ApiVersion::parse("1.47").unwrap(), ApiVersion::current());
        assert!(ApiVersion::parse("v1.47").is_none());
        assert!(ApiVersion::parse("1").is_none());
    }
}
