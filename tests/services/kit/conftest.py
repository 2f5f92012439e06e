# Shared fixtures live in tests/fixtures; re-exported here until a root conftest collects them.
from tests.fixtures.s3 import s3_raw_client, s3_server, s3_settings

__all__ = ["s3_raw_client", "s3_server", "s3_settings"]
