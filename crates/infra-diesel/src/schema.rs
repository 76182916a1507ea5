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
    }
}

diesel::define_sql_function! {
    /// Lower-cases text, as the unique index on e-mails does.
    fn lower(x: diesel::sql_types::Text) -> diesel::sql_types::Text;
}
