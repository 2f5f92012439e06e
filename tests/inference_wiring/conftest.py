"""Reuse the registry tests' fixtures (a clean registry per test, a consortium) and the SCP's."""

from tests.gateway.ingest_identity.conftest import scp  # noqa: F401
from tests.model_registry.conftest import clean_registry, consortium  # noqa: F401
