"""Send the demo studies the way a clinic's modality would: DCMTK storescu over DICOM."""

from __future__ import annotations

import os
import subprocess

import typer
from pydicom.data import get_testdata_file

from services.kit.settings import CoreSettings
from services.tenant.seed import CLINICS

# DCMTK's storescu (pynetdicom puts a different one into the virtualenv's bin/).
STORESCU = "/usr/bin/storescu"

# Real files shipped with pydicom: a CT and an MR (the image-quality model runs on them) and an
# ultrasound, which no configured model applies to (AI_SKIPPED, still on the worklist).
DEMO_FILES = {
    CLINICS[0].ae_title: ["CT_small.dcm"],
    CLINICS[1].ae_title: ["MR_small.dcm", "examples_ybr_color.dcm"],
}


def load_demo_studies(settings: CoreSettings) -> None:
    """C-STORE each demo file from its clinic's AE title to the local Orthanc."""
    env = {**os.environ, "TCP_NODELAY": "1"}
    for ae_title, names in DEMO_FILES.items():
        for name in names:
            path = get_testdata_file(name)
            if path is None:
                typer.echo(f"  demo file {name} is not in this pydicom; skipped", err=True)
                continue
            argv = [
                STORESCU,
                "-xy",
                "-aet",
                ae_title,
                "-aec",
                settings.orthanc.dicom_aet,
                "127.0.0.1",
                str(settings.orthanc.dicom_port),
                str(path),
            ]
            done = subprocess.run(argv, env=env, capture_output=True, text=True, check=False)
            state = "sent" if done.returncode == 0 else f"FAILED: {done.stderr.strip()[-200:]}"
            typer.echo(f"  {name} from {ae_title}: {state}")
