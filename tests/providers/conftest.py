"""Provider test fixtures: the tests-only fake provider."""
from tests.providers.fake_setup import fake_account, fake_registered, fake_remote  # noqa: F401
