"""Celery task names: producers send by name so services never import the workers' packages."""

RUN_INFERENCE = "inference.run_job"
SWEEP_STALE_JOBS = "inference.sweep_stale_jobs"
RENDER_REPORT_PDF = "services.report.render_pdf"

QUEUE_DEFAULT = "default"
QUEUE_INFERENCE = "inference"
