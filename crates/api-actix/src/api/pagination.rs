//! DRF's `LimitOffsetPagination` (`?limit=&offset=`) and, beside it, its
//! `CursorPagination` (`?cursor=`, opaque, sealed): `{count, next,
//! previous, results}` out either way. An offset page walks the rows it
//! skips; a cursor page costs the same anywhere and stays put while rows
//! are added.

use std::collections::HashMap;

use actix_web::{web, HttpRequest};
use authusers_domain::{Page, PageRequest};

use crate::http::field_messages::FieldMessages;
use serde::Serialize;
use utoipa::ToSchema;

use crate::http::cursor::{self, Listing};
use crate::http::problem::Problem;
use crate::http::state::AppState;

/// One page of a list, as DRF's `LimitOffsetPagination` shows it.
#[derive(Debug, Serialize, ToSchema)]
pub struct PageBody<T> {
    /// The size of the whole list.
    count: u64,
    /// The next page's URL, if any: absolute under `PUBLIC_URL`, else
    /// relative to the service.
    next: Option<String>,
    /// The previous page's URL, if any.
    previous: Option<String>,
    results: Vec<T>,
}

/// `?limit=` (default 50, 1 to 500) `&offset=` (default 0), or `&cursor=`.
#[derive(Debug, serde::Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
#[allow(dead_code)]
pub struct PageQuery {
    /// How many items, 1 to 500 (default 50).
    #[param(minimum = 1, maximum = 500)]
    limit: Option<u32>,
    /// How many items to skip, 0 to 1000000000 (default 0).
    #[param(minimum = 0, maximum = 1_000_000_000)]
    offset: Option<u64>,
    /// A page by cursor: empty for the first page, then the cursor a
    /// `next` or `previous` link carries. Opaque; not with `offset`.
    cursor: Option<String>,
}

/// The query string's parameters; a malformed query string is a 400.
pub fn query(req: &HttpRequest) -> Result<HashMap<String, String>, Problem> {
    web::Query::<HashMap<String, String>>::from_query(req.query_string())
        .map(web::Query::into_inner)
        .map_err(|_| Problem::validation(FieldMessages::single("query", "Malformed query string.")))
}

pub fn page_request(req: &HttpRequest, listing: &Listing) -> Result<PageRequest, Problem> {
    let query = query(req)?;
    let mut errors = FieldMessages::new();
    let mut number = |name: &str| -> Option<u64> {
        let raw = query.get(name)?;
        errors.collect(
            name,
            raw.trim()
                .parse::<u64>()
                .map_err(|_| "A valid non-negative integer is required."),
        )
    };
    let limit = number("limit").map(|l| u32::try_from(l).unwrap_or(u32::MAX));
    let offset = number("offset");
    let window = match query.get("cursor") {
        None => None,
        Some(_) if query.contains_key("offset") => {
            errors.add(
                "offset",
                "Not allowed with cursor: a page is either one or the other.",
            );
            None
        }
        Some(cursor) => {
            let seal = req
                .app_data::<web::Data<AppState>>()
                .map(|state| state.cursors.clone())
                .ok_or_else(|| Problem::internal(&"the application state is missing"))?;
            errors.collect("cursor", cursor::open(seal.as_ref(), listing, cursor))
        }
    };
    errors.into_result().map_err(Problem::validation)?;
    match window {
        Some(window) => PageRequest::keyset(limit, window),
        None => PageRequest::new(limit, offset),
    }
    .map_err(|e| Problem::validation(FieldMessages::single(e.field(), e)))
}

/// The page with `next` and `previous` links, as DRF builds them: the
/// request's own query (its filters) with `limit` and `offset` set, or
/// `limit` and `cursor` for a page by cursor; absolute under `PUBLIC_URL`
/// when it is set, else relative. Never from the `Host` or
/// `X-Forwarded-*` headers, which any client can set.
pub fn page_body<T>(req: &HttpRequest, listing: &Listing, page: Page<T>) -> PageBody<T> {
    let filters: Vec<(String, String)> =
        web::Query::<Vec<(String, String)>>::from_query(req.query_string())
            .map(web::Query::into_inner)
            .unwrap_or_default()
            .into_iter()
            .filter(|(name, _)| !matches!(name.as_str(), "limit" | "offset" | "cursor"))
            .collect();
    let filters = serde_urlencoded::to_string(&filters)
        .ok()
        .filter(|encoded| !encoded.is_empty())
        .map_or_else(String::new, |encoded| format!("{encoded}&"));
    let path = format!("{}?{filters}", req.path());
    let state = req.app_data::<web::Data<AppState>>();
    let base = match state.and_then(|state| state.public_url.as_ref()) {
        Some(public) => public.join(&path),
        None => path,
    };
    let limit = page.request.limit();
    let (next, previous) = match state {
        Some(state) if page.request.is_keyset() => {
            let (next, previous) = cursor::neighbours(state.cursors.as_ref(), listing, &page);
            let link = |sealed: String| format!("{base}limit={limit}&cursor={sealed}");
            (next.map(link), previous.map(link))
        }
        _ => {
            let offset = page.request.offset();
            let next = page
                .has_next()
                .then(|| format!("{base}limit={limit}&offset={}", offset + u64::from(limit)));
            let previous =
                page.has_previous()
                    .then(|| match offset.saturating_sub(u64::from(limit)) {
                        0 => format!("{base}limit={limit}"),
                        previous => format!("{base}limit={limit}&offset={previous}"),
                    });
            (next, previous)
        }
    };
    PageBody {
        count: page.total,
        next,
        previous,
        results: page.items,
    }
}
