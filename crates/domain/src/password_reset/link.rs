use std::fmt;

use super::token::{encode_uid, ResetToken};
use crate::UserId;

/// Where a reset mail sends the user: djoser's `PASSWORD_RESET_CONFIRM_URL`
/// as an absolute URL with `{uid}` and `{token}` in it, such as
/// `https://app.example.com/password/reset/confirm/{uid}/{token}`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ResetLinkTemplate(String);

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ResetLinkTemplateError {
    #[error("it must start with https:// or http://")]
    NotHttp,
    #[error("it must hold {{uid}} and {{token}}")]
    MissingPlaceholder,
    #[error("it may not hold white space or control characters")]
    WhiteSpace,
}

impl ResetLinkTemplate {
    pub fn parse(raw: &str) -> Result<Self, ResetLinkTemplateError> {
        let raw = raw.trim();
        let rest = raw
            .strip_prefix("https://")
            .or_else(|| raw.strip_prefix("http://"))
            .ok_or(ResetLinkTemplateError::NotHttp)?;
        if rest.is_empty() || rest.starts_with('/') {
            return Err(ResetLinkTemplateError::NotHttp);
        }
        if raw.chars().any(|c| c.is_whitespace() || c.is_control()) {
            return Err(ResetLinkTemplateError::WhiteSpace);
        }
        if !raw.contains("{uid}") || !raw.contains("{token}") {
            return Err(ResetLinkTemplateError::MissingPlaceholder);
        }
        Ok(Self(raw.to_owned()))
    }

    /// The link for one user and token. Both values are URL-safe base64,
    /// so nothing needs escaping.
    pub fn render(&self, user: UserId, token: &ResetToken) -> String {
        self.0
            .replace("{uid}", &encode_uid(user))
            .replace("{token}", &token.encode())
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for ResetLinkTemplate {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::password_reset::token::TOKEN_BYTES;

    #[test]
    fn renders_both_placeholders() {
        let template =
            ResetLinkTemplate::parse("https://app.example.com/#/reset/{uid}/{token}?lang=en")
                .unwrap();
        let token = ResetToken::from_bytes([0; TOKEN_BYTES]);
        assert_eq!(
            template.render(UserId(1), &token),
            format!(
                "https://app.example.com/#/reset/MQ/{}?lang=en",
                token.encode()
            )
        );
    }

    #[test]
    fn refuses_what_cannot_become_a_link() {
        use ResetLinkTemplateError::*;
        for (raw, error) in [
            ("/reset/{uid}/{token}", NotHttp),
            ("javascript:alert(1)//{uid}{token}", NotHttp),
            ("https:///{uid}/{token}", NotHttp),
            ("https://app.example.com/reset/{uid}", MissingPlaceholder),
            ("https://app.example.com/reset/{token}", MissingPlaceholder),
            ("https://app.example.com/a b/{uid}/{token}", WhiteSpace),
        ] {
            assert_eq!(ResetLinkTemplate::parse(raw), Err(error), "{raw}");
        }
    }
}
