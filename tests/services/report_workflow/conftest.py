"""Fixtures of the report workflow tests: a consortium, a claimed study, AI findings on it."""

from __future__ import annotations

import pytest

from services.models import Study
from tests.factories.tenant import Consortium
from tests.fixtures.api_client import Api
from tests.services.test_api_flow import _claim


@pytest.fixture
def claimed(api: Api, consortium: Consortium, study: Study) -> Study:
    """The study, claimed on the worklist by the consortium's radiologist."""
    assert _claim(api, consortium.radiologist, study).status_code == 200
    return study
