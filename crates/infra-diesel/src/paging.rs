use authusers_domain::pagination::{Position, Window};
use authusers_domain::{Page, PageRequest};

use crate::error::StorageError;

/// How a repository walks its list for a page, with the list's own shape
/// of sort key `K`.
pub(crate) enum Walk<K> {
    /// `OFFSET` this many rows, in list order.
    Offset(i64),
    /// The rows after this key (from the start for `None`), in list order.
    After(Option<K>),
    /// The rows before this key, read in the reverse of list order.
    Before(K),
}

impl<K> Walk<K> {
    /// The walk a page request asks for, with `key` reading the list's sort
    /// key out of a position. A position of another list's shape can only
    /// come from a fault here, never from a client (cursors are sealed), so
    /// it fails loudly.
    pub(crate) fn of(
        request: &PageRequest,
        key: impl Fn(&Position) -> Option<K>,
    ) -> Result<Self, StorageError> {
        let key = |position: &Position| {
            key(position).ok_or_else(|| {
                StorageError::CorruptRow(format!("a page position of another list: {position:?}"))
            })
        };
        Ok(match request.window() {
            Window::Offset(offset) => Self::Offset(i64::try_from(*offset).unwrap_or(i64::MAX)),
            Window::After(None) => Self::After(None),
            Window::After(Some(position)) => Self::After(Some(key(position)?)),
            Window::Before(position) => Self::Before(key(position)?),
        })
    }

    /// `LIMIT`: one row more than the page on a keyset walk, which says
    /// whether there is more that way.
    pub(crate) fn rows_to_read(&self, request: &PageRequest) -> i64 {
        let limit = i64::from(request.limit());
        match self {
            Self::Offset(_) => limit,
            Self::After(_) | Self::Before(_) => limit + 1,
        }
    }
}

/// The position of a list ordered by id alone.
pub(crate) fn id_key(position: &Position) -> Option<i64> {
    match position {
        Position::Id(id) => Some(*id),
        Position::TimeAndId(..) | Position::TimeAndKey(..) => None,
    }
}

/// A count the database gave: never negative, or something is corrupt.
pub(crate) fn stored_count<N>(count: N, what: &str) -> Result<u64, StorageError>
where
    N: Copy + std::fmt::Display + TryInto<u64>,
{
    count
        .try_into()
        .map_err(|_| StorageError::CorruptRow(format!("{what} is {count}")))
}

/// A page of domain values from the rows read for `request` and the count
/// of the whole list; `position` gives a value's place in its list.
pub(crate) fn page_of<R, T>(
    rows: Vec<R>,
    total: i64,
    request: PageRequest,
    position: impl Fn(&T) -> Position,
) -> Result<Page<T>, StorageError>
where
    T: TryFrom<R, Error = StorageError>,
{
    let items = rows
        .into_iter()
        .map(T::try_from)
        .collect::<Result<Vec<_>, _>>()?;
    let total = stored_count(total, "a list's count")?;
    Ok(if request.is_keyset() {
        Page::from_keyset(items, total, request, position)
    } else {
        Page::at_offset(items, total, request)
    })
}
