/// A window onto a list: `limit` items from `offset`, as DRF's
/// `LimitOffsetPagination` has it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PageRequest {
    limit: u32,
    offset: u64,
}

pub const DEFAULT_PAGE_LIMIT: u32 = 50;
pub const MAX_PAGE_LIMIT: u32 = 500;
/// No list is anywhere near this long; a larger offset is a mistake.
pub const MAX_PAGE_OFFSET: u64 = 1_000_000_000;

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

impl PageRequest {
    /// `limit` from 1 to 500 (default 50), `offset` from 0 to
    /// [`MAX_PAGE_OFFSET`] (default 0); anything else is refused, as the
    /// API document says, rather than quietly changed.
    pub fn new(limit: Option<u32>, offset: Option<u64>) -> Result<Self, PageRequestError> {
        let limit = limit.unwrap_or(DEFAULT_PAGE_LIMIT);
        if limit == 0 {
            return Err(PageRequestError::LimitTooSmall);
        }
        if limit > MAX_PAGE_LIMIT {
            return Err(PageRequestError::LimitTooLarge);
        }
        let offset = offset.unwrap_or(0);
        if offset > MAX_PAGE_OFFSET {
            return Err(PageRequestError::OffsetTooLarge);
        }
        Ok(Self { limit, offset })
    }

    pub fn limit(&self) -> u32 {
        self.limit
    }

    pub fn offset(&self) -> u64 {
        self.offset
    }
}

impl Default for PageRequest {
    fn default() -> Self {
        Self {
            limit: DEFAULT_PAGE_LIMIT,
            offset: 0,
        }
    }
}

/// One page of a list and the size of the whole list.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Page<T> {
    pub items: Vec<T>,
    pub total: u64,
    pub request: PageRequest,
}

impl<T> Page<T> {
    pub fn has_next(&self) -> bool {
        self.request.offset() + u64::from(self.request.limit()) < self.total
    }

    pub fn has_previous(&self) -> bool {
        self.request.offset() > 0
    }

    pub fn map<U>(self, f: impl FnMut(T) -> U) -> Page<U> {
        Page {
            items: self.items.into_iter().map(f).collect(),
            total: self.total,
            request: self.request,
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
    }

    #[test]
    fn refuses_a_zero_limit() {
        assert_eq!(
            PageRequest::new(Some(0), None),
            Err(PageRequestError::LimitTooSmall)
        );
    }

    #[test]
    fn knows_its_neighbours() {
        let request = PageRequest::new(Some(10), Some(10)).unwrap();
        let page = Page {
            items: vec![1],
            total: 21,
            request,
        };
        assert!(page.has_next() && page.has_previous());
        let last = Page {
            items: vec![1],
            total: 20,
            request,
        };
        assert!(!last.has_next());
    }
}
