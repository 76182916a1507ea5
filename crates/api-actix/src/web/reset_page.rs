//! The password-reset page this service serves itself, for when no
//! frontend has one (`PASSWORD_RESET_URL` unset in development): a plain
//! HTML form that posts to `reset_password_confirm`.

use crate::http::field_messages::FieldMessages;
use actix_web::http::StatusCode;
use actix_web::{web, HttpResponse};
use authusers_domain::notification::Language;
use authusers_domain::password_reset::{ConfirmResetError, ConfirmResetRequest};

use crate::http::problem::Problem;
use crate::http::state::AppState;
use crate::web::html;
use maud::html;

/// The page's path, as `PASSWORD_RESET_URL` templates have it.
pub const RESET_PAGE_TEMPLATE: &str = "/password/reset/confirm/{uid}/{token}/";

/// Where the form posts, relative to the page, so that it works under any
/// path prefix a proxy adds.
const FORM_ACTION: &str = "../../../../../auth/users/reset_password_confirm/";

struct Texts {
    choose_title: &'static str,
    choose_intro: &'static str,
    new_password: &'static str,
    rules: &'static str,
    repeat: &'static str,
    submit: &'static str,
    done_title: &'static str,
    done: &'static str,
    dead_title: &'static str,
    dead: &'static str,
    unreadable: &'static str,
}

fn texts(language: Language) -> Texts {
    match language {
        Language::English => Texts {
            choose_title: "Choose a new password",
            choose_intro: "Choose a new password for your account.",
            new_password: "New password",
            rules: "At least 8 characters and at most 72 bytes; not a common password, \
                    not only digits, not like your name or e-mail address.",
            repeat: "Repeat the new password",
            submit: "Set the new password",
            done_title: "Password changed",
            done: "Your password has been changed. You can now log in with the new one.",
            dead_title: "This link does not work",
            dead: "The link is invalid, has expired or has been used already. \
                   Ask for a new one.",
            unreadable: "The form could not be read. Open the link from the e-mail again.",
        },
        Language::Russian => Texts {
            choose_title: "Выберите новый пароль",
            choose_intro: "Выберите новый пароль для вашей учётной записи.",
            new_password: "Новый пароль",
            rules: "Не короче 8 символов и не длиннее 72 байт; не распространённый пароль, \
                    не только цифры, не похожий на ваше имя или адрес почты.",
            repeat: "Повторите новый пароль",
            submit: "Сохранить новый пароль",
            done_title: "Пароль изменён",
            done: "Ваш пароль изменён. Теперь вы можете войти с новым паролем.",
            dead_title: "Эта ссылка не работает",
            dead: "Ссылка неверна, устарела или уже использована. Запросите новую.",
            unreadable: "Не удалось прочитать форму. Откройте ссылку из письма ещё раз.",
        },
    }
}

fn form_page(language: Language, uid: &str, token: &str, errors: Option<&FieldMessages>) -> String {
    let t = texts(language);
    let messages: Vec<&String> = errors
        .map(|errors| errors.fields().values().flatten().collect())
        .unwrap_or_default();
    let described_by = if messages.is_empty() {
        "rules"
    } else {
        "errors rules"
    };
    let body = html! {
        p { (t.choose_intro) }
        @if !messages.is_empty() {
            ul.errors id="errors" role="alert" {
                @for message in &messages { li { (message) } }
            }
        }
        form method="post" action=(FORM_ACTION) {
            input type="hidden" name="uid" value=(uid);
            input type="hidden" name="token" value=(token);
            label for="new_password" { (t.new_password) }
            input id="new_password" name="new_password" type="password"
                autocomplete="new-password" required minlength="8" autofocus
                aria-describedby=(described_by);
            p.hint id="rules" { (t.rules) }
            label for="re_new_password" { (t.repeat) }
            input id="re_new_password" name="re_new_password" type="password"
                autocomplete="new-password" required minlength="8";
            button type="submit" { (t.submit) }
        }
    };
    html::document(language.code(), t.choose_title, body)
}

fn message_page(language: Language, title: &str, message: &str) -> String {
    html::document(language.code(), title, html! { p { (message) } })
}

/// `GET`: the form, if the link still works; nothing is used up.
#[utoipa::path(get, path = "/password/reset/confirm/{uid}/{token}/", operation_id = "password_reset_page", tag = "pages",
    params(
        ("uid" = String, Path, description = "From the reset mail", pattern = "^[A-Za-z0-9_-]{1,28}$"),
        ("token" = String, Path, description = "From the reset mail", pattern = "^[A-Za-z0-9_-]{43}$"),
    ),
    responses(
        (status = 200, description = "A form for the new password", content_type = "text/html"),
        (status = 400, description = "A page saying the link does not work", content_type = "text/html"),
    ))]
pub async fn show(
    state: web::Data<AppState>,
    path: web::Path<(String, String)>,
) -> Result<HttpResponse, Problem> {
    let (uid, token) = path.into_inner();
    let language = state.language;
    match state.resets.check_link(&uid, &token).await {
        Ok(_) => Ok(html::page(
            StatusCode::OK,
            form_page(language, &uid, &token, None),
        )),
        Err(error) if error.is_bad_link() => Ok(dead_link(language)),
        Err(error) => Err(error.into()),
    }
}

fn dead_link(language: Language) -> HttpResponse {
    let t = texts(language);
    html::page(
        StatusCode::BAD_REQUEST,
        message_page(language, t.dead_title, t.dead),
    )
}

/// The answer to the page's form: a page saying the password changed, the
/// form again with what was wrong, or that the link does not work.
pub async fn answer_form(
    state: &AppState,
    request: Option<ConfirmResetRequest>,
) -> Result<HttpResponse, Problem> {
    let language = state.language;
    let t = texts(language);
    let Some(request) = request else {
        return Ok(html::page(
            StatusCode::BAD_REQUEST,
            message_page(language, t.dead_title, t.unreadable),
        ));
    };
    let (uid, token) = (request.uid.clone(), request.token.clone());
    match state.resets.confirm(request).await {
        Ok(()) => Ok(html::page(
            StatusCode::OK,
            message_page(language, t.done_title, t.done),
        )),
        Err(error) if error.is_bad_link() => Ok(dead_link(language)),
        Err(ConfirmResetError::Invalid(errors)) => Ok(html::page(
            StatusCode::BAD_REQUEST,
            form_page(language, &uid, &token, Some(&errors.into())),
        )),
        Err(error) => Err(error.into()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_form_escapes_what_it_echoes_and_needs_no_script() {
        let errors = FieldMessages::single("new_password", "<b>too short</b>");
        let page = form_page(Language::English, "M\"Q", "<t>", Some(&errors));
        assert!(page.contains("value=\"M&quot;Q\""));
        assert!(page.contains("value=\"&lt;t&gt;\""));
        assert!(page.contains("<li>&lt;b&gt;too short&lt;/b&gt;</li>"));
        assert!(!page.contains("<script"));
        assert!(page.contains("<label for=\"new_password\">"));
    }

    #[test]
    fn the_form_posts_to_the_confirm_route_from_the_page() {
        // From /password/reset/confirm/{uid}/{token}/, five steps up is /.
        let depth = RESET_PAGE_TEMPLATE.trim_matches('/').split('/').count();
        assert_eq!(FORM_ACTION.matches("../").count(), depth);
        assert!(FORM_ACTION.ends_with("auth/users/reset_password_confirm/"));
    }
}
