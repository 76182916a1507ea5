use authusers_domain::{Page, PageRequest};

use crate::error::StorageError;

/// `LIMIT` and `OFFSET` for a page request.
pub(crate) fn limit_offset(page: PageRequest) -> (i64, i64) {
    (
        i64::from(page.limit()),
        i64::try_from(page.offset()).unwrap_or(i64::MAX),
    )
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
        total: u64::try_from(total).unwrap_or_default(),
        request,
    })
}
