"""Critical-value fixtures: the delivery fixtures (API, consortium, loopback peers allowed)."""

from tests.services.delivery.conftest import api, consortium, delivery_env

__all__ = ["api", "consortium", "delivery_env"]
