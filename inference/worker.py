"""The Celery worker entry point: ``celery -A inference.worker worker -Q inference,default``.

Importing the task modules registers them on the shared app.
"""

from __future__ import annotations

import inference.tasks  # noqa: F401
import services.report.tasks  # noqa: F401
from services.kit.celery import celery_app

app = celery_app
