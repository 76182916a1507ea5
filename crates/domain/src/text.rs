//! Rules about characters shared by the values people type.

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
