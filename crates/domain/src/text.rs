//! Rules about characters shared by the values people type.

/// `scheme://user:***@host...`: a URL with the password of its
/// credentials masked, for logs and `authusers config`; a URL without a
/// password is returned as it is.
pub fn mask_url_password(url: &str) -> String {
    let Some((scheme, rest)) = url.split_once("://") else {
        return url.to_owned();
    };
    let Some((credentials, host)) = rest.rsplit_once('@') else {
        return url.to_owned();
    };
    match credentials.split_once(':') {
        Some((user, _)) => format!("{scheme}://{user}:***@{host}"),
        None => url.to_owned(),
    }
}

/// Characters that change the direction of the text around them, take no
/// width, or break lines: in a name or an address they let one pass for
/// another where it is shown (a list, a mail, a log line).
pub fn is_invisible(c: char) -> bool {
    matches!(c,
        '\u{00AD}'                      // soft hyphen
        | '\u{034F}'                    // combining grapheme joiner
        | '\u{061C}'                    // Arabic letter mark
        | '\u{115F}' | '\u{1160}' | '\u{3164}' | '\u{FFA0}' // Hangul fillers
        | '\u{180E}'                    // Mongolian vowel separator
        | '\u{200B}'..='\u{200F}'      // zero-width space, non-joiner, joiner; LRM, RLM
        | '\u{2028}'..='\u{202E}'      // line and paragraph separators; embeddings, overrides
        | '\u{2060}'..='\u{2064}'      // word joiner and invisible operators
        | '\u{2066}'..='\u{2069}'      // isolates
        | '\u{FE00}'..='\u{FE0F}'      // variation selectors
        | '\u{FEFF}'                    // zero-width no-break space
        | '\u{E0000}'..='\u{E007F}'    // tags
    )
}

#[cfg(test)]
mod url_tests {
    use super::*;

    #[test]
    fn a_url_password_is_masked_and_nothing_else() {
        assert_eq!(
            mask_url_password("postgres://app:s3cret@db:5432/users"),
            "postgres://app:***@db:5432/users"
        );
        assert_eq!(
            mask_url_password("smtps://a%40b.c:p@ss@mail.example.com:465"),
            "smtps://a%40b.c:***@mail.example.com:465"
        );
        assert_eq!(
            mask_url_password("smtp://mailer@host"),
            "smtp://mailer@host"
        );
        assert_eq!(mask_url_password("smtp://host:25"), "smtp://host:25");
        assert_eq!(mask_url_password("not a url"), "not a url");
    }
}
