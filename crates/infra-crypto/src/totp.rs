//! RFC 6238 codes by `totp-rs` (HMAC-SHA-1, six digits, 30-second steps),
//! the `otpauth://` URI an authenticator app reads, and its QR code as SVG.

use authusers_domain::mfa::{OneTimeCodes, TimeStep, TotpCode, TotpSecret, STEP_SECONDS};
use totp_rs::{Algorithm, TOTP};

/// The codes every authenticator app computes.
#[derive(Debug, Clone, Copy, Default)]
pub struct Rfc6238Codes;

/// `totp-rs`'s TOTP of a secret: SHA-1, 6 digits, one step either side, 30 s.
fn totp(secret: &TotpSecret, issuer: Option<String>, account: String) -> TOTP {
    TOTP::new_unchecked(
        Algorithm::SHA1,
        6,
        1,
        STEP_SECONDS as u64,
        secret.as_bytes().to_vec(),
        issuer,
        account,
    )
}

impl OneTimeCodes for Rfc6238Codes {
    fn code_at(&self, secret: &TotpSecret, step: TimeStep) -> TotpCode {
        let seconds = u64::try_from(step.unix_seconds()).unwrap_or(0);
        let code = totp(secret, None, String::new()).generate(seconds);
        // totp-rs pads its codes to the six digits asked for.
        TotpCode::parse(&code).unwrap_or_else(|_| unreachable!("totp-rs wrote {code:?}"))
    }
}

/// What an authenticator app is shown to enrol: the secret in base 32, the
/// `otpauth://totp/...` URI, and that URI as a QR code (SVG).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Enrolment {
    pub secret_base32: String,
    pub otpauth_uri: String,
    pub qr_svg: String,
}

/// The enrolment of `secret` for `account` (an e-mail address) at `issuer`.
pub fn enrolment(secret: &TotpSecret, issuer: &str, account: &str) -> Enrolment {
    let totp = totp(secret, Some(issuer.to_owned()), account.to_owned());
    let otpauth_uri = totp.get_url();
    let qr_svg = qrcode::QrCode::new(otpauth_uri.as_bytes())
        .map(|qr| {
            qr.render::<qrcode::render::svg::Color<'_>>()
                .min_dimensions(200, 200)
                .build()
        })
        .unwrap_or_default();
    Enrolment {
        secret_base32: totp.get_secret_base32(),
        otpauth_uri,
        qr_svg,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use authusers_domain::mfa::TOTP_SECRET_BYTES;

    /// RFC 6238's SHA-1 secret: the ASCII of "12345678901234567890".
    fn rfc_secret() -> TotpSecret {
        TotpSecret::from_bytes(*b"12345678901234567890")
    }

    #[test]
    fn codes_are_rfc_6238s_test_vectors_cut_to_six_digits() {
        // RFC 6238 appendix B, SHA-1: 94287082, 07081804, 14050471,
        // 89005924, 69279037, 65353130 (eight digits; the last six here).
        for (seconds, code) in [
            (59, "287082"),
            (1_111_111_109, "081804"),
            (1_111_111_111, "050471"),
            (1_234_567_890, "005924"),
            (2_000_000_000, "279037"),
            (20_000_000_000, "353130"),
        ] {
            let step = TimeStep(seconds / STEP_SECONDS);
            assert_eq!(
                Rfc6238Codes.code_at(&rfc_secret(), step),
                TotpCode::parse(code).unwrap(),
                "at {seconds} s"
            );
        }
    }

    /// Debian's oathtool, an independent implementation, agrees.
    #[test]
    fn codes_agree_with_oathtool_when_it_is_installed() {
        let secret = TotpSecret::from_bytes([0x5a; TOTP_SECRET_BYTES]);
        let hex: String = secret
            .as_bytes()
            .iter()
            .map(|b| format!("{b:02x}"))
            .collect();
        let step = TimeStep(58_000_000);
        let at = format!("@{}", step.unix_seconds());
        let Ok(out) = std::process::Command::new("oathtool")
            .args(["--totp", "--now", &at, &hex])
            .output()
        else {
            eprintln!("skipping: oathtool is not installed (Debian's oathtool)");
            return;
        };
        let theirs = String::from_utf8(out.stdout).unwrap();
        assert_eq!(
            Rfc6238Codes.code_at(&secret, step),
            TotpCode::parse(theirs.trim()).unwrap()
        );
    }

    #[test]
    fn the_enrolment_names_the_issuer_and_account_and_draws_the_uri() {
        let enrolment = enrolment(&rfc_secret(), "AuthUsers", "ann@example.com");
        assert_eq!(enrolment.secret_base32, "GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ");
        assert!(enrolment
            .otpauth_uri
            .starts_with("otpauth://totp/AuthUsers:ann%40example.com?"));
        assert!(enrolment
            .otpauth_uri
            .contains("secret=GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ"));
        assert!(enrolment.otpauth_uri.contains("issuer=AuthUsers"));
        assert!(enrolment.qr_svg.starts_with("<?xml") && enrolment.qr_svg.contains("<svg"));
    }
}
