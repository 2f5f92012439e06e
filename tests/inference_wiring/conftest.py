"""Reuse the registry tests' fixtures: a clean registry per test and a consortium."""

from tests.model_registry.conftest import clean_registry, consortium  # noqa: F401
