"""Schemathesis logs in as AUTHUSERS_EMAIL / AUTHUSERS_PASSWORD for its
bearer token, and logs in again whenever an answer is 401: the run itself
ends sessions (DELETE /auth/sessions/, an administrator's
DELETE /auth/users/{id}/sessions/), and a token of an ended session is
refused from then on, as it should be."""

import os

import requests
import schemathesis


@schemathesis.auth()
class LoginAuth:
    def get(self, case, context):
        response = requests.post(
            os.environ["AUTHUSERS_BASE_URL"] + "/auth/jwt/create/",
            json={
                "email": os.environ["AUTHUSERS_EMAIL"],
                "password": os.environ["AUTHUSERS_PASSWORD"],
            },
            timeout=10,
        )
        if response.status_code != 200:
            raise RuntimeError(
                f"login as {os.environ['AUTHUSERS_EMAIL']} answered "
                f"{response.status_code}: {response.text}"
            )
        return response.json()["access"]

    def set(self, case, data, context):
        case.headers = case.headers or {}
        case.headers["Authorization"] = f"Bearer {data}"
