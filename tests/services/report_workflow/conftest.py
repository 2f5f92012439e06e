"""Fixtures of the report workflow tests: a consortium, a claimed study, AI findings on it."""

from __future__ import annotations

import pytest

from services.kit.db import session_scope
from services.models import Study
from tests.factories import study as study_factory
from tests.factories import tenant as tenant_factory
from tests.factories.tenant import Consortium
from tests.fixtures.api_client import Api
from tests.fixtures.databases import Database
from tests.services.test_api_flow import _claim


@pytest.fixture
def consortium(use_database: Database) -> Consortium:
    return tenant_factory.build_consortium(use_database.factory)


@pytest.fixture
def study(use_database: Database, consortium: Consortium) -> Study:
    with session_scope(use_database.factory) as session:
        registered, _ = study_factory.register_study(session, clinic=consortium.clinic_a)
        return registered


@pytest.fixture
def claimed(api: Api, consortium: Consortium, study: Study) -> Study:
    """The study, claimed on the worklist by the consortium's radiologist."""
    assert _claim(api, consortium.radiologist, study).status_code == 200
    return study
