DELETE FROM throttle_attempts WHERE counter IN ('reset_address', 'activation_mail');
ALTER TABLE throttle_attempts DROP CONSTRAINT throttle_attempts_counter_check;
ALTER TABLE throttle_attempts ADD CONSTRAINT throttle_attempts_counter_check
    CHECK (counter IN ('login_account', 'login_address', 'registration', 'reset_mail'));

DROP TABLE activation_links;

DROP INDEX users_pending_queue;
CREATE INDEX users_pending_queue ON users (date_joined, id) WHERE status = 'pending';

ALTER TABLE users DROP COLUMN awaiting_activation;
ALTER TABLE users DROP COLUMN email_verified_at;
