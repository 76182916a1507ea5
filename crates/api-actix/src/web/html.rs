//! Pages the service serves to people: one small stylesheet, no scripts,
//! nothing from elsewhere, and headers that keep them from being framed,
//! cached or leaking their address.
//!
//! Every page is written with maud, whose templates escape every value
//! themselves. The administrator's console (`console/`) answers its pages
//! through [`styled_page`] with its own stylesheet: the same headers and
//! the same policy.

use actix_web::http::{header, StatusCode};
use actix_web::HttpResponse;
use base64::engine::general_purpose::STANDARD;
use base64::Engine;
use maud::{html, Markup, PreEscaped, DOCTYPE};
use sha2::{Digest, Sha256};

/// The stylesheet of every page: readable on a phone and a desktop, with a
/// visible focus ring and contrast above WCAG AA.
const STYLE: &str = "\
body{font-family:system-ui,-apple-system,'Segoe UI',sans-serif;max-width:30rem;\
margin:2.5rem auto;padding:0 1rem;line-height:1.5;color:#1a1a1a;background:#fff}\
h1{font-size:1.5rem;margin-bottom:.5rem}\
label{display:block;margin-top:1rem;font-weight:600}\
input,button{font:inherit}\
input{display:block;width:100%;box-sizing:border-box;margin-top:.3rem;padding:.6rem;\
border:1px solid #6b6b6b;border-radius:4px}\
button{margin-top:1.5rem;padding:.7rem 1.2rem;color:#fff;\
background:#1a5fb4;border:0;border-radius:4px;cursor:pointer}\
input:focus,button:focus{outline:3px solid #0b3d91;outline-offset:2px}\
.hint{margin:.2rem 0 0;font-size:.9rem;color:#444}\
.errors{margin:1rem 0;padding:.5rem 1rem .5rem 2rem;color:#8b0000;background:#fdecec;\
border-left:4px solid #8b0000}";

/// `Content-Security-Policy` that allows a page's own stylesheet `style`
/// and form posts to this origin, and nothing else: no scripts, no frames,
/// no requests anywhere.
fn content_security_policy(style: &str) -> String {
    let hash = STANDARD.encode(Sha256::digest(style.as_bytes()));
    format!(
        "default-src 'none'; style-src 'sha256-{hash}'; form-action 'self'; \
         frame-ancestors 'none'; base-uri 'none'"
    )
}

/// A whole document: `title` as its heading and `body` below it.
pub fn document(language: &str, title: &str, body: Markup) -> String {
    html! {
        (DOCTYPE)
        html lang=(language) {
            head {
                meta charset="utf-8";
                meta name="viewport" content="width=device-width, initial-scale=1";
                meta name="referrer" content="no-referrer";
                title { (title) }
                // As written: the policy allows it by the hash of this text.
                style { (PreEscaped(STYLE)) }
            }
            body { main { h1 { (title) } (body) } }
        }
    }
    .into_string()
}

/// A page answer. The address of a page may hold a secret (a reset token):
/// it is neither cached nor sent on as a referrer.
pub fn page(status: StatusCode, document: String) -> HttpResponse {
    styled_page(status, STYLE, document)
}

/// As [`page`], for a document whose one stylesheet is `style` rather than
/// the one [`document`] puts in.
pub fn styled_page(status: StatusCode, style: &str, document: String) -> HttpResponse {
    HttpResponse::build(status)
        .content_type("text/html; charset=utf-8")
        .insert_header((header::CACHE_CONTROL, "no-store"))
        .insert_header((header::REFERRER_POLICY, "no-referrer"))
        .insert_header((header::X_FRAME_OPTIONS, "DENY"))
        .insert_header((header::X_CONTENT_TYPE_OPTIONS, "nosniff"))
        .insert_header((
            header::CONTENT_SECURITY_POLICY,
            content_security_policy(style),
        ))
        .body(document)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_policy_allows_exactly_the_stylesheet() {
        let policy = content_security_policy(STYLE);
        assert!(policy.starts_with("default-src 'none'; style-src 'sha256-"));
        // The sha256 source of the style element's exact text.
        let expected = STANDARD.encode(Sha256::digest(STYLE.as_bytes()));
        assert!(policy.contains(&expected));
        assert!(!policy.contains("unsafe"));
    }

    #[test]
    fn titles_are_escaped() {
        let html = document("en", "<script>", html! { p { "x" } });
        assert!(html.contains("<title>&lt;script&gt;</title>"));
        assert!(html.contains("<p>x</p>"));
        assert!(html.contains(&format!("<style>{STYLE}</style>")));
    }
}
