"""Verify an AuthUsers access token in another service, from its published
keys alone (no shared secret).

    pip install "PyJWT[crypto]"
    python verify_token.py https://auth.example.com "$ACCESS_TOKEN" [AUDIENCE]

Prints the token's claims as JSON, or exits 1 with the reason it is refused.
"""

import json
import sys
import urllib.request

import jwt  # PyJWT

ALGORITHMS = ["EdDSA", "ES256", "RS256"]


def discover(base_url: str) -> tuple[str, jwt.PyJWKClient]:
    """The issuer and a client for its keys, from the discovery document.
    Create this once: the client caches the keys, and fetches them again
    when a token names a key it does not know (after a key rotation)."""
    url = f"{base_url.rstrip('/')}/.well-known/openid-configuration"
    with urllib.request.urlopen(url, timeout=5) as response:
        configuration = json.load(response)
    return configuration["issuer"], jwt.PyJWKClient(configuration["jwks_uri"])


def verify(token: str, issuer: str, keys: jwt.PyJWKClient, audience: str | None) -> dict:
    """The claims of a valid access token; raises jwt.InvalidTokenError."""
    key = keys.get_signing_key_from_jwt(token)  # the key its `kid` names
    claims = jwt.decode(
        token,
        key,
        algorithms=ALGORITHMS,
        issuer=issuer,  # the service's JWT_ISSUER
        audience=audience,  # its JWT_AUDIENCE, if it sets one
        options={"require": ["exp", "iat", "sub"]},
    )
    # Refresh tokens are signed by the same key: accept access tokens only.
    if claims.get("token_type") != "access":
        raise jwt.InvalidTokenError("not an access token")
    return claims


def main() -> int:
    base_url, token = sys.argv[1], sys.argv[2]
    audience = sys.argv[3] if len(sys.argv) > 3 else None
    issuer, keys = discover(base_url)
    try:
        claims = verify(token, issuer, keys, audience)
    except jwt.InvalidTokenError as refused:
        print(f"refused: {refused}", file=sys.stderr)
        return 1
    print(json.dumps(claims, sort_keys=True))
    return 0


if __name__ == "__main__":
    sys.exit(main())
