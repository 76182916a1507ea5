use async_trait::async_trait;
use authusers_domain::activation::{ActivationLink, ActivationRepository, NewActivationLink};
use authusers_domain::password_reset::TokenDigest;
use authusers_domain::storage::RepositoryError;
use authusers_domain::UserId;
use chrono::{DateTime, NaiveDateTime, Utc};
use diesel::prelude::*;

use crate::database::{on_connection, with_connection, Database};
use crate::live_users::live_users;
use crate::outbox_row::NewOutboxRow;
use crate::schema::{activation_links, outbox_messages, users};
use crate::write_transaction::WriteTransaction;

/// Activation links on Diesel.
#[derive(Clone)]
pub struct DieselActivationRepository {
    db: Database,
}

impl DieselActivationRepository {
    pub fn new(db: Database) -> Self {
        Self { db }
    }
}

#[derive(Insertable)]
#[diesel(table_name = activation_links)]
struct NewLinkRow<'a> {
    user_id: i64,
    token_digest: &'a str,
    created_at: NaiveDateTime,
    expires_at: NaiveDateTime,
}

#[async_trait]
impl ActivationRepository for DieselActivationRepository {
    async fn issue(&self, link: NewActivationLink) -> Result<(), RepositoryError> {
        let created_at = link.created_at.naive_utc();
        let message = NewOutboxRow::new(&link.mail, link.user, created_at);
        self.db
            .write(move |conn| {
                on_connection!(conn, |conn| {
                    conn.write_transaction(|conn| {
                        diesel::insert_into(activation_links::table)
                            .values(&NewLinkRow {
                                user_id: link.user.0,
                                token_digest: link.digest.as_str(),
                                created_at,
                                expires_at: link.expires_at.naive_utc(),
                            })
                            .execute(conn)?;
                        diesel::insert_into(outbox_messages::table)
                            .values(&message)
                            .execute(conn)?;
                        Ok::<_, diesel::result::Error>(())
                    })?
                });
                Ok(())
            })
            .await?;
        Ok(())
    }

    async fn links(
        &self,
        user: UserId,
        now: DateTime<Utc>,
    ) -> Result<Vec<ActivationLink>, RepositoryError> {
        let now = now.naive_utc();
        let links = self
            .db
            .run(move |pools| {
                type Row = (i64, String, NaiveDateTime, Option<NaiveDateTime>);
                let rows: Vec<Row> = with_connection!(pools, |conn| {
                    activation_links::table
                        .filter(activation_links::user_id.eq(user.0))
                        .filter(activation_links::expires_at.gt(now))
                        .select((
                            activation_links::id,
                            activation_links::token_digest,
                            activation_links::expires_at,
                            activation_links::used_at,
                        ))
                        .load(conn)?
                });
                Ok(rows
                    .into_iter()
                    .map(|(id, digest, expires_at, used_at)| ActivationLink {
                        id,
                        digest: TokenDigest::from_stored(digest),
                        expires_at: expires_at.and_utc(),
                        used_at: used_at.map(|at| at.and_utc()),
                    })
                    .collect())
            })
            .await?;
        Ok(links)
    }

    async fn activate(
        &self,
        link: i64,
        user: UserId,
        at: DateTime<Utc>,
    ) -> Result<bool, RepositoryError> {
        let at = at.naive_utc();
        let activated = self
            .db
            .write(move |conn| {
                let activated = on_connection!(conn, |conn| {
                    conn.write_transaction(|conn| {
                        // Guarded: of two requests with one link, the second
                        // finds it used and changes nothing.
                        let used = diesel::update(
                            activation_links::table
                                .find(link)
                                .filter(activation_links::user_id.eq(user.0))
                                .filter(activation_links::used_at.is_null())
                                .filter(activation_links::expires_at.gt(at)),
                        )
                        .set(activation_links::used_at.eq(Some(at)))
                        .execute(conn)?;
                        if used == 0 {
                            return Ok(false);
                        }
                        let activated = diesel::update(
                            live_users()
                                .filter(users::id.eq(user.0))
                                .filter(users::awaiting_activation.eq(true)),
                        )
                        .set((
                            users::awaiting_activation.eq(false),
                            users::email_verified_at.eq(Some(at)),
                        ))
                        .execute(conn)?;
                        if activated == 0 {
                            // Not this link's to use after all: undo it.
                            return Err(diesel::result::Error::RollbackTransaction);
                        }
                        Ok::<_, diesel::result::Error>(true)
                    })
                });
                match activated {
                    Ok(activated) => Ok(activated),
                    Err(diesel::result::Error::RollbackTransaction) => Ok(false),
                    Err(error) => Err(error.into()),
                }
            })
            .await?;
        Ok(activated)
    }
}
