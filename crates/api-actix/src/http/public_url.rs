use std::fmt;
use std::str::FromStr;

/// Where clients reach the service, as `https://api.example.com` or with a
/// path prefix a proxy adds, `https://example.com/api`: the base of the
/// absolute links the service writes (pagination). Never taken from a
/// request's headers.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PublicUrl(String);

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error(
    "expected an http:// or https:// URL with a host and no query, such as https://api.example.com"
)]
pub struct PublicUrlError;

impl FromStr for PublicUrl {
    type Err = PublicUrlError;

    fn from_str(raw: &str) -> Result<Self, Self::Err> {
        let raw = raw.trim().trim_end_matches('/');
        let rest = raw
            .strip_prefix("https://")
            .or_else(|| raw.strip_prefix("http://"))
            .ok_or(PublicUrlError)?;
        let host = rest.split('/').next().unwrap_or_default();
        let plain = |c: char| c.is_ascii_alphanumeric() || "-._~:[]".contains(c);
        let path_ok = rest
            .chars()
            .all(|c| plain(c) || "/%!$&'()*+,;=@".contains(c));
        if host.is_empty() || !host.chars().all(plain) || !path_ok {
            return Err(PublicUrlError);
        }
        Ok(Self(raw.to_owned()))
    }
}

impl PublicUrl {
    /// Whether clients reach the service over HTTPS (cookies are then
    /// `Secure`).
    pub fn is_https(&self) -> bool {
        self.0.starts_with("https://")
    }

    /// The absolute link to `path_and_query` (which starts with `/`).
    pub fn join(&self, path_and_query: &str) -> String {
        format!("{}{path_and_query}", self.0)
    }
}

impl fmt::Display for PublicUrl {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn takes_a_base_with_or_without_a_prefix() {
        let url: PublicUrl = "https://api.example.com/".parse().unwrap();
        assert_eq!(url.join("/x/?a=1"), "https://api.example.com/x/?a=1");
        let prefixed: PublicUrl = "http://example.com:8080/api".parse().unwrap();
        assert_eq!(prefixed.join("/x/"), "http://example.com:8080/api/x/");
    }

    #[test]
    fn refuses_what_is_not_a_base() {
        for raw in [
            "",
            "api.example.com",
            "javascript://evil/",
            "https://",
            "https:///x",
            "https://a b",
            "https://example.com/?q=1",
            "https://example.com/#top",
            "https://exa\"mple.com",
        ] {
            assert_eq!(raw.parse::<PublicUrl>(), Err(PublicUrlError), "{raw}");
        }
    }
}
