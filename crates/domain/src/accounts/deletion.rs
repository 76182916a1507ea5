use super::ports::{EraseOutcome, HashingError};
use crate::storage::RepositoryError;
use crate::throttling::{ClientAddress, Throttled};
use crate::{FieldErrors, User};

use super::Accounts;

/// djoser's `DELETE /users/me/`, as received.
#[derive(Debug, Clone)]
pub struct DeleteAccountRequest {
    pub current_password: String,
    /// Where the request comes from: the check of the current password
    /// counts against the account's login limits from there.
    pub client: ClientAddress,
}

#[derive(Debug, thiserror::Error)]
pub enum DeleteAccountError {
    #[error(transparent)]
    Invalid(FieldErrors),
    /// Money is never destroyed silently: the user spends or withdraws it
    /// first.
    #[error("a balance is not zero")]
    BalanceNotEmpty,
    #[error("the user does not exist")]
    NotFound,
    /// Too many wrong passwords for this account: nothing was checked.
    #[error(transparent)]
    Throttled(Throttled),
    #[error(transparent)]
    Hashing(#[from] HashingError),
    #[error(transparent)]
    Repository(#[from] RepositoryError),
}

super::current_password::password_check_error_into!(DeleteAccountError);

impl Accounts {
    /// Erases the caller after checking their password: the person goes
    /// (e-mail, names, password), the ledger stays under the numeric id,
    /// and the address may register again.
    #[tracing::instrument(name = "delete_account", skip_all, fields(user = %user.id))]
    pub async fn delete_account(
        &self,
        user: &User,
        request: DeleteAccountRequest,
    ) -> Result<(), DeleteAccountError> {
        let mut errors = FieldErrors::new();
        self.check_current_password(user, &request.current_password, request.client, &mut errors)
            .await?;
        errors.into_result().map_err(DeleteAccountError::Invalid)?;
        if user.holds_money() {
            return Err(DeleteAccountError::BalanceNotEmpty);
        }
        // The repository checks the balances again, in the erasing
        // statement itself: money may have arrived since they were read.
        match self.users.erase(user.id, self.clock.now()).await? {
            EraseOutcome::Erased => {
                tracing::info!("account erased");
                Ok(())
            }
            EraseOutcome::BalanceNotEmpty => Err(DeleteAccountError::BalanceNotEmpty),
            EraseOutcome::NotFound => Err(DeleteAccountError::NotFound),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testing::{at, user, Ports};
    use crate::FieldError;
    use crate::{Money, UserId, UserStatus};

    fn request(password: &str) -> DeleteAccountRequest {
        DeleteAccountRequest {
            current_password: password.into(),
            client: crate::throttling::ClientAddress::new([203, 0, 113, 9].into()),
        }
    }

    #[tokio::test]
    async fn an_account_without_money_is_erased() {
        let mut ports = Ports::where_password_of_user_4_is("old-secret-words");
        ports
            .users
            .expect_erase()
            .withf(|id, when| *id == UserId(4) && *when == at(3600))
            .times(1)
            .returning(|_, _| Ok(EraseOutcome::Erased));
        ports
            .into_accounts()
            .delete_account(&user(4, UserStatus::Approved), request("old-secret-words"))
            .await
            .unwrap();
    }

    #[tokio::test]
    async fn a_wrong_password_erases_nothing() {
        let ports = Ports::where_password_of_user_4_is("old-secret-words");
        let Err(DeleteAccountError::Invalid(errors)) = ports
            .into_accounts()
            .delete_account(&user(4, UserStatus::Approved), request("guess"))
            .await
        else {
            panic!("expected field errors");
        };
        assert_eq!(
            errors.fields()["current_password"],
            [FieldError::WrongPassword]
        );
    }

    #[tokio::test]
    async fn money_on_either_balance_refuses_before_any_write() {
        for (real, virtual_) in [(1, 0), (0, 1)] {
            let ports = Ports::where_password_of_user_4_is("old-secret-words");
            let mut rich = user(4, UserStatus::Approved);
            rich.real_balance = Money::from_minor_units(real).unwrap();
            rich.virtual_balance = Money::from_minor_units(virtual_).unwrap();
            let result = ports
                .into_accounts()
                .delete_account(&rich, request("old-secret-words"))
                .await;
            assert!(matches!(result, Err(DeleteAccountError::BalanceNotEmpty)));
        }
    }

    #[tokio::test]
    async fn money_that_arrived_after_the_read_refuses_too() {
        let mut ports = Ports::where_password_of_user_4_is("old-secret-words");
        ports
            .users
            .expect_erase()
            .returning(|_, _| Ok(EraseOutcome::BalanceNotEmpty));
        let result = ports
            .into_accounts()
            .delete_account(&user(4, UserStatus::Approved), request("old-secret-words"))
            .await;
        assert!(matches!(result, Err(DeleteAccountError::BalanceNotEmpty)));
    }
}
