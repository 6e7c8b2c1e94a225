"""schemathesis hooks for the contract check (scripts/api-contract.sh).

The server counts failed sign-ins (wrong passwords, unknown tokens) per client address and makes an
address that failed too often wait (429 with Retry-After), whatever credential it then sends. The check
sends many such requests on purpose, all from loopback: each request comes from an address of its own
here, through the X-Forwarded-For the server believes of loopback (`--trusted-proxy 127.0.0.1`), so the
check reaches every operation's logic instead of a throttled address's 429. The throttling itself is
tested by the server's own tests (crates/plughub-server/tests/sign_in.rs).

The platform's operations (/api/admin/…) are a platform owner's: where a request carries the set-up
person's token, it carries the set-up platform owner's instead. A request with no token, or another one
(the checks of authentication), is sent as it is.
"""

import os
import random

# Not the `random` module's functions: Hypothesis seeds the module's generator the same way for each
# example it runs, so every example's first request would come from the same address, whose failures
# (an unknown token, a wrong current password) would then throttle the requests of the examples after it.
ADDRESSES = random.SystemRandom()

import schemathesis


@schemathesis.hook
def before_call(context, case, kwargs):
    address = "10.{}.{}.{}".format(
        ADDRESSES.randrange(256), ADDRESSES.randrange(256), ADDRESSES.randrange(1, 255)
    )
    case.headers = dict(case.headers or {})
    case.headers["X-Forwarded-For"] = address
    if case.operation.path.startswith("/api/admin/"):
        person = "Bearer " + os.environ["PLUGHUB_CONTRACT_TOKEN"]
        for name in list(case.headers):
            if name.lower() == "authorization" and case.headers[name] == person:
                case.headers[name] = "Bearer " + os.environ["PLUGHUB_CONTRACT_ADMIN_TOKEN"]
