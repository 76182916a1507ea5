use authusers_domain::{Page, PageRequest};

use crate::error::StorageError;

/// `LIMIT` and `OFFSET` for a page request.
pub(crate) fn limit_offset(page: PageRequest) -> (i64, i64) {
    (
        i64::from(page.limit()),
        i64::try_from(page.offset()).unwrap_or(i64::MAX),
    )
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

/// A page of domain values from the rows of one window and the count of
/// the whole list.
pub(crate) fn page_of<R, T>(
    rows: Vec<R>,
    total: i64,
    request: PageRequest,
) -> Result<Page<T>, StorageError>
where
    T: TryFrom<R, Error = StorageError>,
{
    Ok(Page {
        items: rows
            .into_iter()
            .map(T::try_from)
            .collect::<Result<Vec<_>, _>>()?,
        total: stored_count(total, "a list's count")?,
        request,
    })
}
