"""Fixtures most service tests share: a consortium, a second one, and a study of the first."""

from __future__ import annotations

import pytest

from services.kit.db import session_scope
from services.models import Study
from tests.factories import study as study_factory
from tests.factories import tenant as tenant_factory
from tests.factories.tenant import Consortium
from tests.fixtures.databases import Database


@pytest.fixture
def consortium(use_database: Database) -> Consortium:
    """A county hospital, its clinics and one account per role."""
    return tenant_factory.build_consortium(use_database.factory)


@pytest.fixture
def other(use_database: Database) -> Consortium:
    """A second consortium: its users must not reach the first one's data."""
    return tenant_factory.build_consortium(use_database.factory)


@pytest.fixture
def study(use_database: Database, consortium: Consortium) -> Study:
    """A study sent by the first consortium's clinic A."""
    with session_scope(use_database.factory) as session:
        registered, _ = study_factory.register_study(session, clinic=consortium.clinic_a)
    return registered
