//! Windows onto a list, in two styles: DRF's `LimitOffsetPagination`
//! (`limit` items from `offset`) and keyset pages (`limit` items after or
//! before a row's position, as DRF's `CursorPagination` has them). A keyset
//! page costs the same anywhere in the list and stays put when rows are
//! added while a client pages; an offset page walks every row it skips.

use chrono::{DateTime, Utc};

pub const DEFAULT_PAGE_LIMIT: u32 = 50;
pub const MAX_PAGE_LIMIT: u32 = 500;
/// No list is anywhere near this long; a larger offset is a mistake.
pub const MAX_PAGE_OFFSET: u64 = 1_000_000_000;

/// Where a row stands in its list: the sort key, which a keyset page
/// starts after or ends before. Each list has one shape of key.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Position {
    /// Lists in id order: the users, a ledger (newest first).
    Id(i64),
    /// Lists in time order, then id: the approval queue.
    TimeAndId(DateTime<Utc>, i64),
    /// Lists in time order, then a textual key: sessions.
    TimeAndKey(DateTime<Utc>, String),
}

/// Seals a page's cursor so that a client can carry it but not make one:
/// what the seal opens was written by this service (or a replica sharing
/// its keys). A cursor's contents are the HTTP adapter's affair; the seal
/// only vouches for them.
#[cfg_attr(any(test, feature = "mocks"), mockall::automock)]
pub trait CursorSeal: Send + Sync {
    /// `payload`, sealed, as URL-safe text.
    fn seal(&self, payload: &[u8]) -> String;
    /// The payload of a sealed text, or `None` for anything this service
    /// did not seal (or sealed with a key it no longer holds).
    fn open(&self, sealed: &str) -> Option<Vec<u8>>;
}

/// Which rows of the list a page holds.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Window {
    /// Skip this many rows.
    Offset(u64),
    /// The rows after this position, in list order; from the start for
    /// `None`.
    After(Option<Position>),
    /// The rows just before this position, in list order.
    Before(Position),
}

/// A page to read: up to `limit` rows of a window.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PageRequest {
    limit: u32,
    window: Window,
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PageRequestError {
    #[error("the limit is below 1")]
    LimitTooSmall,
    #[error("the limit is above {MAX_PAGE_LIMIT}")]
    LimitTooLarge,
    #[error("the offset is above {MAX_PAGE_OFFSET}")]
    OffsetTooLarge,
}

impl PageRequestError {
    /// The parameter at fault.
    pub fn field(&self) -> &'static str {
        match self {
            Self::LimitTooSmall | Self::LimitTooLarge => "limit",
            Self::OffsetTooLarge => "offset",
        }
    }
}

fn checked_limit(limit: Option<u32>) -> Result<u32, PageRequestError> {
    match limit.unwrap_or(DEFAULT_PAGE_LIMIT) {
        0 => Err(PageRequestError::LimitTooSmall),
        limit if limit > MAX_PAGE_LIMIT => Err(PageRequestError::LimitTooLarge),
        limit => Ok(limit),
    }
}

impl PageRequest {
    /// `limit` from 1 to 500 (default 50), `offset` from 0 to
    /// [`MAX_PAGE_OFFSET`] (default 0); anything else is refused, as the
    /// API document says, rather than quietly changed.
    pub fn new(limit: Option<u32>, offset: Option<u64>) -> Result<Self, PageRequestError> {
        let limit = checked_limit(limit)?;
        let offset = offset.unwrap_or(0);
        if offset > MAX_PAGE_OFFSET {
            return Err(PageRequestError::OffsetTooLarge);
        }
        Ok(Self {
            limit,
            window: Window::Offset(offset),
        })
    }

    /// A keyset page: `limit` as for [`PageRequest::new`].
    pub fn keyset(limit: Option<u32>, window: Window) -> Result<Self, PageRequestError> {
        if let Window::Offset(offset) = window {
            return Self::new(limit, Some(offset));
        }
        Ok(Self {
            limit: checked_limit(limit)?,
            window,
        })
    }

    pub fn limit(&self) -> u32 {
        self.limit
    }

    /// The rows skipped: zero for a keyset page.
    pub fn offset(&self) -> u64 {
        match self.window {
            Window::Offset(offset) => offset,
            Window::After(_) | Window::Before(_) => 0,
        }
    }

    pub fn window(&self) -> &Window {
        &self.window
    }

    /// Whether the page is one of keyset style.
    pub fn is_keyset(&self) -> bool {
        !matches!(self.window, Window::Offset(_))
    }
}

impl Default for PageRequest {
    fn default() -> Self {
        Self {
            limit: DEFAULT_PAGE_LIMIT,
            window: Window::Offset(0),
        }
    }
}

/// One page of a list and the size of the whole list.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Page<T> {
    pub items: Vec<T>,
    pub total: u64,
    pub request: PageRequest,
    /// For a keyset page: where the next and the previous pages start.
    pub next: Option<Position>,
    pub previous: Option<Position>,
}

impl<T> Page<T> {
    /// An offset page: its neighbours follow from the count.
    pub fn at_offset(items: Vec<T>, total: u64, request: PageRequest) -> Self {
        Self {
            items,
            total,
            request,
            next: None,
            previous: None,
        }
    }

    /// A keyset page from the rows a repository read for `request`: up to
    /// `limit + 1` of them, in the order it walked (list order after a
    /// position, the reverse before one). The extra row only says that
    /// there is more that way.
    pub fn from_keyset(
        mut rows: Vec<T>,
        total: u64,
        request: PageRequest,
        position: impl Fn(&T) -> Position,
    ) -> Self {
        let limit = usize::try_from(request.limit()).unwrap_or(usize::MAX);
        let more = rows.len() > limit;
        rows.truncate(limit);
        let (next, previous) = match request.window() {
            Window::Before(_) => {
                rows.reverse();
                (
                    rows.last().map(&position),
                    rows.first().filter(|_| more).map(&position),
                )
            }
            Window::After(from) => (
                rows.last().filter(|_| more).map(&position),
                rows.first().filter(|_| from.is_some()).map(&position),
            ),
            Window::Offset(_) => (None, None),
        };
        Self {
            items: rows,
            total,
            request,
            next,
            previous,
        }
    }

    pub fn has_next(&self) -> bool {
        match self.request.window() {
            Window::Offset(offset) => offset + u64::from(self.request.limit()) < self.total,
            Window::After(_) | Window::Before(_) => self.next.is_some(),
        }
    }

    pub fn has_previous(&self) -> bool {
        match self.request.window() {
            Window::Offset(offset) => *offset > 0,
            Window::After(_) | Window::Before(_) => self.previous.is_some(),
        }
    }

    pub fn map<U>(self, f: impl FnMut(T) -> U) -> Page<U> {
        Page {
            items: self.items.into_iter().map(f).collect(),
            total: self.total,
            request: self.request,
            next: self.next,
            previous: self.previous,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_to_fifty_from_the_start() {
        let request = PageRequest::new(None, None).unwrap();
        assert_eq!((request.limit(), request.offset()), (50, 0));
        assert!(!request.is_keyset());
    }

    #[test]
    fn refuses_a_limit_over_five_hundred_and_a_huge_offset() {
        assert_eq!(PageRequest::new(Some(500), None).unwrap().limit(), 500);
        assert_eq!(
            PageRequest::new(Some(501), None),
            Err(PageRequestError::LimitTooLarge)
        );
        assert!(PageRequest::new(None, Some(MAX_PAGE_OFFSET)).is_ok());
        assert_eq!(
            PageRequest::new(None, Some(MAX_PAGE_OFFSET + 1)),
            Err(PageRequestError::OffsetTooLarge)
        );
        assert_eq!(
            PageRequest::keyset(Some(501), Window::After(None)),
            Err(PageRequestError::LimitTooLarge)
        );
    }

    #[test]
    fn refuses_a_zero_limit() {
        assert_eq!(
            PageRequest::new(Some(0), None),
            Err(PageRequestError::LimitTooSmall)
        );
        assert_eq!(
            PageRequest::keyset(Some(0), Window::After(None)),
            Err(PageRequestError::LimitTooSmall)
        );
    }

    #[test]
    fn knows_its_neighbours() {
        let request = PageRequest::new(Some(10), Some(10)).unwrap();
        let page = Page::at_offset(vec![1], 21, request.clone());
        assert!(page.has_next() && page.has_previous());
        let last = Page::at_offset(vec![1], 20, request);
        assert!(!last.has_next());
    }

    fn id(row: &i64) -> Position {
        Position::Id(*row)
    }

    #[test]
    fn a_first_keyset_page_has_a_next_page_only_when_a_row_is_left_over() {
        let request = PageRequest::keyset(Some(2), Window::After(None)).unwrap();
        let page = Page::from_keyset(vec![1, 2, 3], 3, request.clone(), id);
        assert_eq!(page.items, vec![1, 2]);
        assert_eq!(page.next, Some(Position::Id(2)));
        assert_eq!(page.previous, None, "nothing before the start");
        let whole = Page::from_keyset(vec![1, 2], 2, request, id);
        assert!(!whole.has_next() && !whole.has_previous());
    }

    #[test]
    fn a_page_after_a_position_links_back_to_its_first_row() {
        let request = PageRequest::keyset(Some(2), Window::After(Some(Position::Id(2)))).unwrap();
        let page = Page::from_keyset(vec![3, 4], 4, request, id);
        assert_eq!(page.previous, Some(Position::Id(3)));
        assert_eq!(page.next, None);
    }

    #[test]
    fn a_page_before_a_position_is_read_backwards_and_shown_forwards() {
        let request = PageRequest::keyset(Some(2), Window::Before(Position::Id(5))).unwrap();
        let page = Page::from_keyset(vec![4, 3, 2], 5, request.clone(), id);
        assert_eq!(page.items, vec![3, 4]);
        assert_eq!(page.previous, Some(Position::Id(3)));
        assert_eq!(page.next, Some(Position::Id(4)));
        let first = Page::from_keyset(vec![2, 1], 5, request, id);
        assert_eq!(first.items, vec![1, 2]);
        assert_eq!(first.previous, None, "the start of the list");
    }

    #[test]
    fn an_offset_given_as_a_window_is_checked_as_an_offset() {
        assert_eq!(
            PageRequest::keyset(None, Window::Offset(MAX_PAGE_OFFSET + 1)),
            Err(PageRequestError::OffsetTooLarge)
        );
    }
}
