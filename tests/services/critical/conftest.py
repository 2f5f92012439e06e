"""Critical-value fixtures: the delivery fixtures (API, loopback peers allowed).

``consortium`` comes from ``tests/services/conftest.py``.
"""

from tests.services.delivery.conftest import api, delivery_env

__all__ = ["api", "delivery_env"]
