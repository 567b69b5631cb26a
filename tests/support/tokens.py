"""The secrets the test apps and the fakes agree on (loopback only)."""

SIGNING_SECRET = "test-signing-secret"
BOT_TOKEN = "xoxb-test-token"
HUBSPOT_TOKEN = "hs-test-token"
