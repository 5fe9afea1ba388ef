"""Schemathesis hooks for the reference service's contract test.

Signs Shopify webhook deliveries with the secret the test configured
(`SHOPIFY_WEBHOOK_SECRET`), as Shopify does: base64 HMAC-SHA256 of the raw body. The
body is serialized here and passed as the request's raw data, so the bytes signed are
the bytes sent, while the case itself (what schemathesis checks the answer against)
is left as generated. Deliveries whose generated body is not a JSON object go unsigned
and exercise the 401 path.
"""

import base64
import hashlib
import hmac
import json
import os

import schemathesis


@schemathesis.hook
def before_call(context, case, kwargs):
    secret = os.environ.get("SHOPIFY_WEBHOOK_SECRET")
    if not secret or case.path != "/v1/webhooks/shopify" or not isinstance(case.body, dict):
        return
    raw = json.dumps(case.body).encode("utf-8")
    kwargs["data"] = raw
    signature = hmac.new(secret.encode("utf-8"), raw, hashlib.sha256).digest()
    case.headers = dict(case.headers or {})
    case.headers["X-Shopify-Hmac-Sha256"] = base64.b64encode(signature).decode("ascii")
