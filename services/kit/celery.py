"""The Celery application and the one decorator every task uses.

Rules from the design: acks_late + reject_on_worker_lost (a killed worker's task is redelivered),
prefetch 1, JSON only, a visibility timeout above the longest task, and ids-only arguments.
Without a broker URL the filesystem transport is used, so the local stack needs no server.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from pathlib import Path
from typing import Any, TypeVar, cast

from celery import Celery, Task

from services.contracts.task_names import QUEUE_DEFAULT
from services.kit.db import OutboxMessage, set_publisher
from services.kit.settings import CoreSettings, get_settings

F = TypeVar("F", bound=Callable[..., Any])


def _filesystem_transport(state_dir: Path) -> tuple[str, dict[str, Any]]:
    folder = state_dir / "broker"
    for sub in ("queue", "processed", "control"):
        (folder / sub).mkdir(parents=True, exist_ok=True)
    options = {
        "data_folder_in": str(folder / "queue"),
        "data_folder_out": str(folder / "queue"),
        "processed_folder": str(folder / "processed"),
        "store_processed": False,
        "control_folder": str(folder / "control"),
    }
    return "filesystem://", options


def create_celery(settings: CoreSettings) -> Celery:
    """Build the Celery app for ``settings`` (broker, reliability options, beat schedule)."""
    # Gateway task modules are named, not imported (the core never imports gateway code).
    app = Celery(
        "radbridge",
        include=[
            "gateway.archive.tasks",
            "gateway.dicomweb.tasks",
            "gateway.export.tasks",
            "gateway.ingest.tasks",
            "gateway.report_objects.tasks",
        ],
    )
    if settings.broker.url:
        url, options = (
            settings.broker.url,
            {
                "visibility_timeout": settings.broker.visibility_timeout_s,
                "socket_timeout": 10,
                "socket_connect_timeout": 10,
            },
        )
    else:
        url, options = _filesystem_transport(settings.state_dir)
    app.conf.update(
        broker_url=url,
        broker_transport_options=options,
        broker_connection_retry_on_startup=True,
        task_default_queue=QUEUE_DEFAULT,
        task_acks_late=True,
        task_reject_on_worker_lost=True,
        worker_prefetch_multiplier=1,
        task_serializer="json",
        accept_content=["json"],
        result_backend=None,
        task_ignore_result=True,
        task_always_eager=settings.broker.eager,
        task_eager_propagates=True,
        task_time_limit=600,
        task_soft_time_limit=540,
        worker_hijack_root_logger=False,
        beat_schedule={
            "sweep-stale-jobs": {"task": "inference.sweep_stale_jobs", "schedule": 30.0},
            "release-expired-locks": {"task": "worklist.release_expired_locks", "schedule": 30.0},
            "escalate-sla": {"task": "worklist.escalate_sla", "schedule": 60.0},
            "sweep-deliveries": {"task": "services.delivery.sweep", "schedule": 60.0},
            "escalate-critical": {"task": "services.critical.escalate", "schedule": 60.0},
            "gateway-reconcile": {
                "task": "gateway.reconcile",
                "schedule": settings.gateway.reconcile_interval_s,
            },
            "gateway-purge-expired": {
                "task": "gateway.purge_expired_studies",
                "schedule": settings.gateway.purge_interval_s,
            },
        },
    )
    return app


celery_app = create_celery(get_settings())


def _publish(message: OutboxMessage) -> None:
    celery_app.send_task(message.task_name, kwargs=message.kwargs, queue=message.queue)


set_publisher(_publish)


def task(
    name: str,
    *,
    queue: str = QUEUE_DEFAULT,
    retry_on: tuple[type[BaseException], ...] = (),
    max_retries: int = 8,
) -> Callable[[F], F]:
    """Register a task by explicit name; transient errors in ``retry_on`` retry with backoff."""

    def decorate(fn: F) -> F:
        # Routed by name (task_routes), so beat, retries and send_task all use the same queue.
        routes = dict(celery_app.conf.task_routes or {})
        routes[name] = {"queue": queue}
        celery_app.conf.task_routes = routes
        registered = celery_app.task(
            name=name,
            autoretry_for=retry_on,
            retry_backoff=2,
            retry_backoff_max=120,
            retry_jitter=True,
            max_retries=max_retries,
            acks_late=True,
            reject_on_worker_lost=True,
        )(fn)
        return cast("F", registered)

    return decorate


def retry_at(fn: Callable[..., Any], exc: Exception, eta: datetime | None) -> BaseException:
    """Return the ``Retry`` that re-runs the current task ``fn`` at ``eta``; raise it.

    For tasks whose retry time is decided (and stored) by the task itself. Called as a plain
    function, outside a worker, Celery raises ``exc`` itself instead.
    """
    retry: BaseException = cast("Task[Any, Any]", fn).retry(exc=exc, eta=eta, throw=False)
    return retry
