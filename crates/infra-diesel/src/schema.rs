// The same schema on both backends; see `migrations/`.
diesel::table! {
    users (id) {
        id -> BigInt,
        email -> Text,
        first_name -> Text,
        last_name -> Text,
        password_hash -> Text,
        status -> Text,
        is_admin -> Bool,
        date_joined -> Timestamp,
        decided_by -> Nullable<BigInt>,
        decided_at -> Nullable<Timestamp>,
        real_balance_cents -> BigInt,
        virtual_balance_cents -> BigInt,
        erased_at -> Nullable<Timestamp>,
        email_canonical -> Nullable<Text>,
        email_verified_at -> Nullable<Timestamp>,
        awaiting_activation -> Bool,
        is_active -> Bool,
        last_login -> Nullable<Timestamp>,
        imported_at -> Nullable<Timestamp>,
        credentials_changed_at -> Nullable<Timestamp>,
    }
}

diesel::table! {
    /// Each user's ledger length, kept by triggers.
    ledger_counts (user_id) {
        user_id -> BigInt,
        entries -> BigInt,
    }
}

diesel::table! {
    /// Live users per status and activation state, kept by triggers.
    user_counts (status, awaiting_activation) {
        status -> Text,
        awaiting_activation -> Bool,
        users -> BigInt,
    }
}

diesel::table! {
    legacy_refresh_tokens (jti) {
        jti -> Text,
        user_id -> BigInt,
        exchanged_at -> Timestamp,
    }
}

diesel::table! {
    activation_links (id) {
        id -> BigInt,
        user_id -> BigInt,
        token_digest -> Text,
        created_at -> Timestamp,
        expires_at -> Timestamp,
        used_at -> Nullable<Timestamp>,
    }
}

diesel::define_sql_function! {
    /// Lower-cases text, as the unique index on e-mails does.
    fn lower(x: diesel::sql_types::Text) -> diesel::sql_types::Text;
}

diesel::table! {
    balance_transactions (id) {
        id -> BigInt,
        user_id -> BigInt,
        action -> Text,
        value_type -> Text,
        amount_cents -> BigInt,
        bonus_cents -> BigInt,
        real_balance_after_cents -> BigInt,
        virtual_balance_after_cents -> BigInt,
        created_at -> Timestamp,
        idempotency_key -> Nullable<Text>,
    }
}

diesel::table! {
    idempotency_keys (user_id, idempotency_key) {
        user_id -> BigInt,
        idempotency_key -> Text,
        fingerprint -> Text,
        outcome -> Nullable<Text>,
        real_balance_cents -> Nullable<BigInt>,
        virtual_balance_cents -> Nullable<BigInt>,
        created_at -> Timestamp,
    }
}

diesel::table! {
    password_reset_requests (id) {
        id -> BigInt,
        address_digest -> Text,
        user_id -> Nullable<BigInt>,
        token_digest -> Nullable<Text>,
        created_at -> Timestamp,
        expires_at -> Nullable<Timestamp>,
        ended_at -> Nullable<Timestamp>,
    }
}

diesel::table! {
    sessions (id) {
        id -> Text,
        user_id -> BigInt,
        generation -> BigInt,
        created_at -> Timestamp,
        last_used_at -> Timestamp,
        expires_at -> Timestamp,
        user_agent -> Nullable<Text>,
        client_address -> Nullable<Text>,
        ended_at -> Nullable<Timestamp>,
        end_reason -> Nullable<Text>,
        second_factor_at -> Nullable<Timestamp>,
    }
}

diesel::joinable!(balance_transactions -> users (user_id));
diesel::joinable!(sessions -> users (user_id));
diesel::joinable!(password_reset_requests -> users (user_id));
diesel::table! {
    throttle_attempts (id) {
        id -> BigInt,
        counter -> Text,
        key_digest -> Text,
        attempted_at -> Timestamp,
    }
}

diesel::table! {
    /// A user's TOTP second factor: waiting for its first code, or in force.
    mfa_totp (user_id) {
        user_id -> BigInt,
        sealed_secret -> Text,
        created_at -> Timestamp,
        confirmed_at -> Nullable<Timestamp>,
        last_step -> Nullable<BigInt>,
    }
}

diesel::table! {
    /// Recovery codes as digests, each used once.
    mfa_recovery_codes (user_id, digest) {
        user_id -> BigInt,
        digest -> Text,
        used_at -> Nullable<Timestamp>,
    }
}

diesel::table! {
    /// Sign-ins waiting for their second step, by their token's digest.
    mfa_challenges (token_digest) {
        token_digest -> Text,
        user_id -> BigInt,
        expires_at -> Timestamp,
        attempts -> Integer,
        used_at -> Nullable<Timestamp>,
    }
}

diesel::allow_tables_to_appear_in_same_query!(
    users,
    balance_transactions,
    idempotency_keys,
    outbox_messages,
    outbox_attempts,
    password_reset_requests,
    sessions,
    throttle_attempts
);

diesel::table! {
    outbox_messages (id) {
        id -> BigInt,
        message_id -> Text,
        recipient -> Text,
        subject -> Text,
        text_body -> Text,
        html_body -> Text,
        status -> Text,
        attempts -> Integer,
        next_attempt_at -> Timestamp,
        locked_until -> Nullable<Timestamp>,
        last_error -> Nullable<Text>,
        created_at -> Timestamp,
        sent_at -> Nullable<Timestamp>,
        user_id -> Nullable<BigInt>,
        lease_token -> Nullable<Text>,
    }
}

diesel::table! {
    outbox_attempts (id) {
        id -> BigInt,
        outbox_id -> BigInt,
        attempt -> Integer,
        attempted_at -> Timestamp,
        outcome -> Text,
        error -> Nullable<Text>,
    }
}

diesel::joinable!(outbox_attempts -> outbox_messages (outbox_id));
