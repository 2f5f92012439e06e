"""The Celery worker entry point (``radbridge worker`` runs it on every queue).

Importing the task modules registers them on the shared app.
"""

from __future__ import annotations

import inference.tasks  # noqa: F401
import services.critical.tasks
import services.delivery.tasks
import services.report.tasks  # noqa: F401
from services.kit.celery import celery_app
from services.worklist import tasks as worklist_tasks  # noqa: F401 - registers beat tasks
from services.worklist import weights_tasks  # noqa: F401 - registers rescore_tenant

app = celery_app
