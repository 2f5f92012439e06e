"""Celery task names: producers send by name so services never import the workers' packages."""

RUN_INFERENCE = "inference.run_job"
SWEEP_STALE_JOBS = "inference.sweep_stale_jobs"
WRITE_RESULT_SR = "inference.write_result_sr"  # the AI SR, after the findings are committed
# A lung nodule's doubling time across the patient's CT studies, once a report measures it.
RUN_NODULE_VDT = "inference.run_nodule_vdt"
RENDER_REPORT_PDF = "services.report.render_pdf"
ARCHIVE_STUDY = "gateway.archive_study"
RELEASE_QUARANTINED = "gateway.release_quarantined"
EXPORT_DEIDENTIFIED = "gateway.export_deidentified"
DELIVER_REPORT = "services.delivery.deliver"
SWEEP_DELIVERIES = "services.delivery.sweep"

QUEUE_DEFAULT = "default"
QUEUE_INFERENCE = "inference"
QUEUE_DELIVERY = "delivery"

# Orthanc housekeeping (gateway): studies held in quarantine, retention purge, reconciliation.
RELEASE_HELD_STUDY = "gateway.release_held_study"
DELETE_HELD_STUDY = "gateway.delete_held_study"
PURGE_EXPIRED_STUDIES = "gateway.purge_expired_studies"
RECONCILE_ORTHANC = "gateway.reconcile"

# Critical values: alert the sending clinic, escalate what is not acknowledged.
SEND_CRITICAL_ALERT = "services.critical.send_alert"
ESCALATE_CRITICAL = "services.critical.escalate"
STORE_REPORT_OBJECTS = "gateway.store_report_objects"
CAPTURE_KEY_IMAGE = "gateway.capture_key_image"
