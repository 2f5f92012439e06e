"""Celery task names: producers send by name so services never import the workers' packages."""

RUN_INFERENCE = "inference.run_job"
SWEEP_STALE_JOBS = "inference.sweep_stale_jobs"
RENDER_REPORT_PDF = "services.report.render_pdf"
ARCHIVE_STUDY = "gateway.archive_study"
RELEASE_QUARANTINED = "gateway.release_quarantined"
DELIVER_REPORT = "services.delivery.deliver"
SWEEP_DELIVERIES = "services.delivery.sweep"

QUEUE_DEFAULT = "default"
QUEUE_INFERENCE = "inference"
QUEUE_DELIVERY = "delivery"
