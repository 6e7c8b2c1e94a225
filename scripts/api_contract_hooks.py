"""schemathesis hooks for the contract check (scripts/api-contract.sh).

The server counts failed sign-ins (wrong passwords, unknown tokens) per client address and makes an
address that failed too often wait (429 with Retry-After), whatever credential it then sends. The check
sends many such requests on purpose, all from loopback: each request comes from an address of its own
here, through the X-Forwarded-For the server believes of loopback (`--trusted-proxy 127.0.0.1`), so the
check reaches every operation's logic instead of a throttled address's 429. The throttling itself is
tested by the server's own tests (crates/plughub-server/tests/sign_in.rs).
"""

import random

import schemathesis


@schemathesis.hook
def before_call(context, case, kwargs):
    address = "10.{}.{}.{}".format(
        random.randrange(256), random.randrange(256), random.randrange(1, 255)
    )
    case.headers = dict(case.headers or {})
    case.headers["X-Forwarded-For"] = address
