//! Page cursors: opaque to clients (as DRF's `CursorPagination` has them),
//! sealed by the `CursorSeal` port so that none can be forged or edited,
//! and bound to the list they came from: its name and its scope (whose
//! list, which filters). A cursor of another list, or one that does not
//! open, is refused rather than read as a position anywhere.

use authusers_domain::pagination::{CursorSeal, Position, Window};
use authusers_domain::Page;
use chrono::DateTime;
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use crate::http::field_messages::Wording;

/// The cursor's format; a cursor of another version is refused.
const VERSION: u8 = 1;

/// A list that pages by cursor: its name and a digest of its scope.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Listing {
    name: &'static str,
    scope: String,
}

impl Listing {
    /// `scope` names what makes two lists of the same name different: the
    /// caller whose list it is, the filters.
    pub fn new(name: &'static str, scope: impl AsRef<[u8]>) -> Self {
        let digest = Sha256::digest(scope.as_ref());
        Self {
            name,
            scope: hex_prefix(&digest[..8]),
        }
    }
}

fn hex_prefix(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

impl Wording for CursorError {
    fn wording(&self) -> String {
        self.to_string()
    }
}

/// Why a cursor was refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum CursorError {
    #[error("Invalid cursor.")]
    Invalid,
    #[error("This cursor belongs to another list or to other filters.")]
    AnotherList,
}

#[derive(Serialize, Deserialize)]
struct Sealed {
    v: u8,
    /// The list's name and scope.
    l: String,
    s: String,
    /// `a`fter or `b`efore the position.
    d: char,
    /// The position: a time in nanoseconds, an id, a textual key.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    t: Option<i64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    i: Option<i64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    k: Option<String>,
}

/// The cursor of the page after (`forward`) or before a position.
pub fn seal(
    seal: &dyn CursorSeal,
    listing: &Listing,
    position: &Position,
    forward: bool,
) -> String {
    let (t, i, k) = match position {
        Position::Id(id) => (None, Some(*id), None),
        Position::TimeAndId(at, id) => (at.timestamp_nanos_opt(), Some(*id), None),
        Position::TimeAndKey(at, key) => (at.timestamp_nanos_opt(), None, Some(key.clone())),
    };
    let sealed = Sealed {
        v: VERSION,
        l: listing.name.to_owned(),
        s: listing.scope.clone(),
        d: if forward { 'a' } else { 'b' },
        t,
        i,
        k,
    };
    // A struct of strings and numbers always serializes.
    let payload = serde_json::to_vec(&sealed).unwrap_or_default();
    seal.seal(&payload)
}

/// The sealed cursors of a keyset page's neighbours: `(next, previous)`.
pub fn neighbours<T>(
    cursors: &dyn CursorSeal,
    listing: &Listing,
    page: &Page<T>,
) -> (Option<String>, Option<String>) {
    let sealed = |position: &Option<Position>, forward| {
        position
            .as_ref()
            .map(|position| seal(cursors, listing, position, forward))
    };
    (sealed(&page.next, true), sealed(&page.previous, false))
}

/// The window a cursor asks for in `listing`; an empty cursor is the first
/// page.
pub fn open(seal: &dyn CursorSeal, listing: &Listing, cursor: &str) -> Result<Window, CursorError> {
    let cursor = cursor.trim();
    if cursor.is_empty() {
        return Ok(Window::After(None));
    }
    let payload = seal.open(cursor).ok_or(CursorError::Invalid)?;
    let sealed: Sealed = serde_json::from_slice(&payload).map_err(|_| CursorError::Invalid)?;
    if sealed.v != VERSION {
        return Err(CursorError::Invalid);
    }
    if sealed.l != listing.name || sealed.s != listing.scope {
        return Err(CursorError::AnotherList);
    }
    let at = |nanos: i64| DateTime::from_timestamp_nanos(nanos);
    let position = match (sealed.t, sealed.i, sealed.k) {
        (None, Some(id), None) => Position::Id(id),
        (Some(t), Some(id), None) => Position::TimeAndId(at(t), id),
        (Some(t), None, Some(key)) => Position::TimeAndKey(at(t), key),
        _ => return Err(CursorError::Invalid),
    };
    match sealed.d {
        'a' => Ok(Window::After(Some(position))),
        'b' => Ok(Window::Before(position)),
        _ => Err(CursorError::Invalid),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A seal that vouches for anything (or, closed, for nothing): what is
    /// tested here is the cursor's contents; the seal has its own tests.
    struct SeeThrough {
        closed: bool,
    }

    impl CursorSeal for SeeThrough {
        fn seal(&self, payload: &[u8]) -> String {
            String::from_utf8(payload.to_vec()).unwrap()
        }

        fn open(&self, sealed: &str) -> Option<Vec<u8>> {
            (!self.closed).then(|| sealed.as_bytes().to_vec())
        }
    }

    fn see_through() -> SeeThrough {
        SeeThrough { closed: false }
    }

    #[test]
    fn a_cursor_opens_to_the_window_it_was_sealed_for() {
        let seal = see_through();
        let users = Listing::new("users", "status=&search=ann");
        let at = DateTime::from_timestamp_nanos(1_764_800_000_123_456_789);
        for position in [
            Position::Id(7),
            Position::TimeAndId(at, 7),
            Position::TimeAndKey(at, "ab".repeat(16)),
        ] {
            let next = seal_it(&seal, &users, &position, true);
            assert_eq!(
                open(&seal, &users, &next),
                Ok(Window::After(Some(position.clone())))
            );
            let previous = seal_it(&seal, &users, &position, false);
            assert_eq!(open(&seal, &users, &previous), Ok(Window::Before(position)));
        }
        assert_eq!(open(&seal, &users, " "), Ok(Window::After(None)));
    }

    fn seal_it(seal: &SeeThrough, listing: &Listing, position: &Position, forward: bool) -> String {
        super::seal(seal, listing, position, forward)
    }

    #[test]
    fn a_cursor_of_another_list_or_other_filters_is_refused() {
        let seal = see_through();
        let cursor = seal_it(
            &seal,
            &Listing::new("users", "search=ann"),
            &Position::Id(7),
            true,
        );
        assert_eq!(
            open(&seal, &Listing::new("users", "search=bob"), &cursor),
            Err(CursorError::AnotherList)
        );
        assert_eq!(
            open(&seal, &Listing::new("ledger", "search=ann"), &cursor),
            Err(CursorError::AnotherList)
        );
    }

    #[test]
    fn contents_that_are_not_a_cursor_are_refused() {
        let seal = see_through();
        let listing = Listing::new("users", "");
        for payload in [
            "not json",
            r#"{"v":2,"l":"users","s":"e3b0c44298fc1c14","d":"a","i":1}"#,
            r#"{"v":1,"l":"users","s":"e3b0c44298fc1c14","d":"x","i":1}"#,
            r#"{"v":1,"l":"users","s":"e3b0c44298fc1c14","d":"a"}"#,
            r#"{"v":1,"l":"users","s":"e3b0c44298fc1c14","d":"a","i":1,"k":"x"}"#,
        ] {
            assert_eq!(
                open(&seal, &listing, payload),
                Err(CursorError::Invalid),
                "{payload}"
            );
        }
        let closed = SeeThrough { closed: true };
        assert_eq!(
            open(&closed, &listing, "anything"),
            Err(CursorError::Invalid)
        );
    }
}
