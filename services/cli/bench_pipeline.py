"""``radbridge bench pipeline``: upload complete -> AI result visible on the worklist (P8).

Server side only. Assumed load: a county consortium sends ~600 studies a day; its peak hour
carries ~15 % of a day, ~90 studies/h; the benchmark drives TWICE that, 180 studies/h (one
study every 20 s), 70 % radiographs (one CR image) and 30 % CT series of 100-300 slices,
into a private full stack (``services.cli.pipeline_stack``) on the embedded defaults.

Per study it takes these timestamps, all on this machine's clock:

- ``ack``: the gateway's STOW-RS response to the study's last request (upload complete);
- ``enqueue``: the first inference job row created (the watcher registered the stable study);
- ``infer_start`` / ``infer_end``: the worker took the lease / recorded the result (the
  findings, the job's end and the study's AI status commit in that same transaction);
- ``visible``: the first poll, as a radiologist, of ``GET /api/v1/worklist`` whose item shows
  the study's AI flag settled (``AI_DONE``).

It prints p50/p95 of ack -> visible per kind against the targets (p95 <= 60 s CR, <= 120 s
CT), the split of that time, and the model run time (``infer_ms``: preprocessing + Triton)
separately. Figures only: nothing here asserts a time.
"""

from __future__ import annotations

import threading
import time
import uuid
from collections import Counter
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path

import httpx
from sqlalchemy import select
from sqlalchemy.orm import Session

from services.cli.pipeline_load import StudySpec, ct_series, radiograph, stow
from services.cli.pipeline_stack import PipelineStack, pipeline_stack
from services.kit.clock import utc_now
from services.models import InferenceJob, Study

PEAK_PER_HOUR = 90.0  # 600 studies/day x 15 % in the peak hour
TARGET_P95_S = {"CR": 60.0, "CT": 120.0}
SETTLED = {"AI_DONE", "AI_FAILED"}
Echo = Callable[[str], None]


@dataclass(frozen=True)
class LoadPlan:
    """How much to send, how fast, and how big."""

    studies: int
    per_hour: float = 2 * PEAK_PER_HOUR
    ct_every: int = 3  # every third study is a CT (~30 %)
    ct_slices: tuple[int, int] = (100, 300)
    cr_side: int = 2048
    settle_timeout_s: float = 600.0
    poll_s: float = 0.5

    def specs(self) -> list[StudySpec]:
        """Return the studies in sending order, CT sizes spread evenly over the range."""
        interval = 3600.0 / self.per_hour
        low, high = self.ct_slices
        out, cts = [], 0
        for n in range(self.studies):
            is_ct = n % self.ct_every == self.ct_every - 1
            slices = 1
            if is_ct:
                slices = low + (high - low) * (cts % 3) // 2 if high > low else low
                cts += 1
            out.append(StudySpec(n, "CT" if is_ct else "CR", slices, n * interval))
        return out


@dataclass
class Timeline:
    """Every timestamp of one study; None where the study never got there."""

    spec: StudySpec
    study_uid: str = ""
    sent: datetime | None = None  # the upload's first request (the upload is not in P8)
    ack: datetime | None = None
    enqueue: datetime | None = None
    infer_start: datetime | None = None
    infer_end: datetime | None = None
    visible: datetime | None = None
    ai_flag: str = ""
    infer_ms: int | None = None
    jobs: int = 0
    models: tuple[str, ...] = ()

    def ordered(self) -> bool:
        """Return whether every timestamp is there and they come in pipeline order."""
        steps = [self.ack, self.enqueue, self.infer_start, self.infer_end, self.visible]
        present = [s for s in steps if s is not None]
        return len(present) == len(steps) and present == sorted(present)

    def seconds(self, start: str, end: str) -> float | None:
        """Return the seconds between two of the timestamps, if both were reached."""
        a, b = getattr(self, start), getattr(self, end)
        return None if a is None or b is None else (b - a).total_seconds()


@dataclass
class _Reader:
    """A radiologist polling the worklist; keeps when each study first showed settled AI."""

    stack: PipelineStack
    poll_s: float
    first_settled: dict[uuid.UUID, tuple[datetime, str]] = field(default_factory=dict)
    stop: threading.Event = field(default_factory=threading.Event)

    def run(self) -> None:
        token = self.stack.token("radiologist")
        with httpx.Client(
            base_url=self.stack.api_url, headers={"Authorization": f"Bearer {token}"}, timeout=30
        ) as client:
            while not self.stop.wait(self.poll_s):
                self._poll(client)

    def _poll(self, client: httpx.Client) -> None:
        cursor: str | None = None
        while True:
            params: dict[str, str | int] = {"status": "UNREAD", "limit": 200}
            if cursor:
                params["cursor"] = cursor
            response = client.get("/api/v1/worklist", params=params)
            seen_at = utc_now()
            response.raise_for_status()
            page = response.json()
            for item in page["items"]:
                study_id = uuid.UUID(item["study_id"])
                if item["ai_flag"] in SETTLED and study_id not in self.first_settled:
                    self.first_settled[study_id] = (seen_at, item["ai_flag"])
            cursor = page.get("next_cursor")
            if not cursor:
                return


def _send_all(stack: PipelineStack, plan: LoadPlan, echo: Echo) -> list[Timeline]:
    tokens = {"CR": stack.token("clinic.staff"), "CT": stack.token("clinicb.staff")}
    timelines = [Timeline(spec) for spec in plan.specs()]

    def send(timeline: Timeline) -> None:
        spec = timeline.spec
        files = ct_series(spec) if spec.kind == "CT" else radiograph(spec, plan.cr_side)
        timeline.sent = utc_now()
        with httpx.Client(timeout=300) as client:
            timeline.ack = stow(client, stack.gateway_url, tokens[spec.kind], files)
        timeline.study_uid = _study_uid(files[0])

    begun = time.monotonic()
    futures: list[Future[None]] = []
    with ThreadPoolExecutor(max_workers=8) as pool:
        for timeline in timelines:
            time.sleep(max(0.0, timeline.spec.send_at_s - (time.monotonic() - begun)))
            echo(
                f"  send #{timeline.spec.number} {timeline.spec.kind} "
                f"({timeline.spec.slices} image(s)) at {time.monotonic() - begun:.0f} s"
            )
            futures.append(pool.submit(send, timeline))
        for future in futures:
            future.result()
    return timelines


def _study_uid(first_file: bytes) -> str:
    from io import BytesIO

    import pydicom

    return str(pydicom.dcmread(BytesIO(first_file), stop_before_pixels=True).StudyInstanceUID)


def _fill_from_database(session: Session, timeline: Timeline) -> uuid.UUID | None:
    study = session.scalar(select(Study).where(Study.study_instance_uid == timeline.study_uid))
    if study is None:
        return None
    jobs = list(session.scalars(select(InferenceJob).where(InferenceJob.study_id == study.id)))
    shown = [j for j in jobs if not j.shadow]
    timeline.jobs = len(shown)
    timeline.models = tuple(sorted(f"{j.model_name}:{j.status}" for j in shown))
    if shown:
        timeline.enqueue = min(j.created_at for j in shown)
        starts = [j.started_at for j in shown if j.started_at is not None]
        ends = [j.finished_at for j in shown if j.finished_at is not None]
        timeline.infer_start = min(starts) if starts else None
        timeline.infer_end = max(ends) if len(ends) == len(shown) else None
        runs = [j.infer_ms for j in shown if j.infer_ms is not None]
        timeline.infer_ms = sum(runs) if runs else None
    return study.id


def _wait_settled(reader: _Reader, expected: int, timeout_s: float) -> None:
    deadline = time.monotonic() + timeout_s
    while len(reader.first_settled) < expected and time.monotonic() < deadline:
        time.sleep(0.5)
    time.sleep(reader.poll_s * 2)


def run_bench(
    plan: LoadPlan, *, chest_onnx: Path | None = None, echo: Echo = print
) -> list[Timeline]:
    """Start a private stack, send the load, watch the worklist; return each study's timeline."""
    with pipeline_stack(chest_onnx=chest_onnx, echo=echo) as stack:
        reader = _Reader(stack, plan.poll_s)
        polling = threading.Thread(target=reader.run, daemon=True)
        polling.start()
        try:
            timelines = _send_all(stack, plan, echo)
            _wait_settled(reader, len(timelines), plan.settle_timeout_s)
        finally:
            reader.stop.set()
            polling.join(30)
        with Session(stack.engine) as session:
            for timeline in timelines:
                study_id = _fill_from_database(session, timeline)
                if study_id is not None and study_id in reader.first_settled:
                    timeline.visible, timeline.ai_flag = reader.first_settled[study_id]
    return timelines


def percentile(values: list[float], q: float) -> float:
    """Return the ``q`` percentile (0-100) by linear interpolation between ranks."""
    ordered = sorted(values)
    rank = (len(ordered) - 1) * q / 100.0
    low = int(rank)
    high = min(low + 1, len(ordered) - 1)
    return ordered[low] + (ordered[high] - ordered[low]) * (rank - low)


def _row(label: str, values: list[float]) -> str:
    if not values:
        return f"    {label:<30} n/a"
    return (
        f"    {label:<30} p50 {percentile(values, 50):7.2f} s   p95 {percentile(values, 95):7.2f} s"
        f"   max {max(values):7.2f} s"
    )


def _span(timelines: list[Timeline], start: str, end: str) -> list[float]:
    found = (t.seconds(start, end) for t in timelines)
    return [s for s in found if s is not None]


def report(timelines: list[Timeline], plan: LoadPlan, echo: Echo = print) -> None:
    """Print the load assumed, the per-kind percentiles against the targets, and the split."""
    echo(
        f"load: {plan.per_hour:.0f} studies/h = 2 x assumed county-consortium peak "
        f"({PEAK_PER_HOUR:.0f}/h: 600 studies/day, 15 % in the peak hour); "
        f"{len(timelines)} studies, CT {plan.ct_slices[0]}-{plan.ct_slices[1]} slices"
    )
    for kind in ("CR", "CT"):
        group = [t for t in timelines if t.spec.kind == kind]
        if not group:
            continue
        visible = _span(group, "ack", "visible")
        p95 = percentile(visible, 95) if visible else float("inf")
        verdict = "ok" if p95 <= TARGET_P95_S[kind] and len(visible) == len(group) else "MISSED"
        echo(
            f"{kind}: {len(visible)}/{len(group)} visible; ack -> visible p95 {p95:.1f} s, "
            f"target <= {TARGET_P95_S[kind]:.0f} s: {verdict} "
            f"(ratio {p95 / TARGET_P95_S[kind]:.2f})"
        )
        echo(_row("upload (not in the budget)", _span(group, "sent", "ack")))
        echo(_row("ack -> visible", visible))
        echo(_row("  ack -> enqueue (stable+reg)", _span(group, "ack", "enqueue")))
        echo(_row("  enqueue -> infer start", _span(group, "enqueue", "infer_start")))
        echo(_row("  infer start -> end", _span(group, "infer_start", "infer_end")))
        echo(_row("  infer end -> visible", _span(group, "infer_end", "visible")))
        model = [t.infer_ms / 1000 for t in group if t.infer_ms is not None]
        echo(_row("model run (infer_ms)", model))
        outcomes = Counter(m for t in group for m in t.models)
        echo("    jobs: " + ", ".join(f"{m} x{n}" for m, n in sorted(outcomes.items())))
    stuck = [t for t in timelines if t.visible is None]
    for t in stuck:
        echo(f"  not visible: #{t.spec.number} {t.spec.kind} jobs {t.models or 'none'}")
