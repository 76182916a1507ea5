DROP TABLE mfa_recovery_codes;
DROP TABLE mfa_totp;
