DELETE FROM throttle_attempts WHERE counter = 'second_factor';
ALTER TABLE throttle_attempts DROP CONSTRAINT throttle_attempts_counter_check;
ALTER TABLE throttle_attempts ADD CONSTRAINT throttle_attempts_counter_check
    CHECK (counter IN ('login_account', 'login_address', 'registration', 'reset_mail',
        'reset_address', 'activation_mail'));
ALTER TABLE sessions DROP COLUMN second_factor_at;
DROP TABLE mfa_challenges;
DROP TABLE mfa_recovery_codes;
DROP TABLE mfa_totp;
