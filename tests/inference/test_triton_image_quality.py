"""The shipped image_quality model on a real local Triton, through the real clients."""

from __future__ import annotations

import socket
import statistics
import time

import numpy as np
import pydicom
import pytest
from pydicom.data import get_testdata_file
from pydicom.dataset import FileDataset

from inference.pipelines import image_quality as pipeline
from inference.triton.grpc_client import GrpcInferenceClient
from inference.triton.http_client import HttpInferenceClient
from inference.triton.port import ModelContractError, ModelNotFound, TritonUnavailable
from inference.triton.server import LocalTriton, TritonPorts, TritonStartError
from tests.fixtures.triton import free_ports

pytestmark = pytest.mark.integration

MODEL, VERSION = pipeline.MODEL_NAME, pipeline.MODEL_VERSION


def mr_scaled(factor: float) -> FileDataset:
    """MR_small with its stored values multiplied by ``factor``, clipped to int16."""
    path = get_testdata_file("MR_small.dcm")
    assert path is not None
    ds = pydicom.dcmread(path)
    scaled = np.clip(ds.pixel_array.astype(np.float64) * factor, -32768, 32767)
    ds.PixelData = scaled.astype(ds.pixel_array.dtype).tobytes()
    return ds


def measures(result: pipeline.QualityResult) -> np.ndarray:
    return np.array(list(result.measures.values()))


class TestServer:
    def test_model_is_ready_only_at_its_pinned_version(self, triton_client):
        assert triton_client.is_ready(MODEL, VERSION)
        assert not triton_client.is_ready(MODEL, "2")
        assert not triton_client.is_ready("no_such_model", "1")

    def test_startup_time_is_recorded(self, triton_server: LocalTriton):
        assert triton_server.startup_seconds is not None
        assert triton_server.startup_seconds < 60


class TestImageQuality:
    def test_dark_clipped_and_original_differ_and_bad_ones_need_a_retake(self, triton_client):
        original, dark, clipped = pipeline.run(
            triton_client, [mr_scaled(1.0), mr_scaled(0.1), mr_scaled(3.0)]
        )

        assert not np.allclose(measures(original), measures(dark), atol=0.02)
        assert not np.allclose(measures(original), measures(clipped), atol=0.02)
        exposure = [r.measures["exposure"] for r in (dark, original, clipped)]
        assert exposure == sorted(exposure)
        assert dark.measures["contrast"] < original.measures["contrast"] / 3
        assert clipped.measures["clipped_high"] > original.measures["clipped_high"] + 0.2
        assert original.retake_score < pipeline.RETAKE_THRESHOLD
        assert dark.retake_score > original.retake_score + 0.5
        assert clipped.retake_score > original.retake_score + 0.5
        assert "under_exposure" in dark.reasons
        assert "clipping" in clipped.reasons

    def test_findings_follow_the_scores(self, triton_client):
        [good] = pipeline.postprocess(pipeline.run(triton_client, [mr_scaled(1.0)]))
        [bad] = pipeline.postprocess(pipeline.run(triton_client, [mr_scaled(1.0), mr_scaled(0.1)]))
        assert (good.code, good.severity) == ("image-quality-adequate", "normal")
        assert (bad.code, bad.severity) == ("image-quality-retake", "significant")
        assert bad.detail["worst_image_index"] == 1

    def test_added_noise_raises_the_noise_measure(self, triton_client):
        path = get_testdata_file("examples_overlay.dcm")
        assert isinstance(path, str)
        image = pipeline.preprocess(pydicom.dcmread(path))
        noise = np.random.default_rng(7).normal(0.0, 0.05, image.shape).astype(np.float32)
        noisy = np.clip(image + noise, 0.0, 1.0)

        clean, dirty = pipeline.assess_images(triton_client, np.stack([image, noisy]))

        assert dirty.measures["noise"] > clean.measures["noise"] + 0.02
        assert dirty.penalties["noise"] > clean.penalties["noise"]


class TestBatching:
    def test_three_images_in_one_request_match_single_requests(self, triton_client):
        images = np.stack([pipeline.preprocess(mr_scaled(f)) for f in (1.0, 0.1, 3.0)])

        batched = triton_client.infer(MODEL, VERSION, {"IMAGE": images}, pipeline.OUTPUT_NAMES)

        assert batched["MEASURES"].shape == (3, len(pipeline.MEASURE_NAMES))
        assert batched["PENALTIES"].shape == (3, len(pipeline.PENALTY_NAMES))
        assert batched["RETAKE_SCORE"].shape == (3, 1)
        for row in range(3):
            single = triton_client.infer(
                MODEL, VERSION, {"IMAGE": images[row : row + 1]}, pipeline.OUTPUT_NAMES
            )
            np.testing.assert_allclose(single["MEASURES"][0], batched["MEASURES"][row], atol=1e-6)

    def test_more_images_than_max_batch_are_split(self, triton_client):
        datasets = [mr_scaled(f) for f in np.linspace(0.1, 3.0, pipeline.MAX_BATCH_SIZE + 2)]
        results = pipeline.run(triton_client, datasets)
        assert len(results) == pipeline.MAX_BATCH_SIZE + 2
        assert results[0].measures["exposure"] < results[-1].measures["exposure"]

    def test_http_client_gives_the_same_answer(self, triton_client, triton_http_client):
        images = np.stack([pipeline.preprocess(mr_scaled(f)) for f in (1.0, 0.1)])
        by_grpc = pipeline.assess_images(triton_client, images)
        by_http = pipeline.assess_images(triton_http_client, images)
        assert by_grpc == by_http


class TestContractErrors:
    image = np.zeros((1, 256, 256), dtype=np.float32)

    @pytest.mark.parametrize("client_fixture", ["triton_client", "triton_http_client"])
    def test_unknown_model(self, request, client_fixture):
        client = request.getfixturevalue(client_fixture)
        with pytest.raises(ModelNotFound, match="no_such_model"):
            client.infer("no_such_model", "1", {"IMAGE": self.image}, ["RETAKE_SCORE"])

    def test_unknown_version(self, triton_client):
        with pytest.raises(ModelNotFound, match="version 7"):
            triton_client.infer(MODEL, "7", {"IMAGE": self.image}, ["RETAKE_SCORE"])

    def test_version_must_be_pinned(self, triton_client):
        with pytest.raises(ModelContractError, match="exact numeric version"):
            triton_client.infer(MODEL, "", {"IMAGE": self.image}, ["RETAKE_SCORE"])

    @pytest.mark.parametrize(
        ("inputs", "outputs", "message"),
        [
            ({"PIXELS": np.zeros((1, 256, 256), np.float32)}, ["RETAKE_SCORE"], "PIXELS"),
            ({"IMAGE": np.zeros((1, 128, 128), np.float32)}, ["RETAKE_SCORE"], "shape"),
            ({"IMAGE": np.zeros((1, 256, 256), np.float64)}, ["RETAKE_SCORE"], "FP64"),
            ({"IMAGE": np.full((1, 256, 256), 2.0, np.float32)}, ["RETAKE_SCORE"], "0..1"),
            ({"IMAGE": np.zeros((1, 256, 256), np.float32)}, ["SCORE"], "SCORE"),
            ({"IMAGE": np.zeros((9, 256, 256), np.float32)}, ["RETAKE_SCORE"], "batch-size"),
        ],
        ids=["input-name", "shape", "dtype", "value-range", "output-name", "batch-size"],
    )
    def test_mismatches_are_contract_errors(self, triton_client, inputs, outputs, message):
        with pytest.raises(ModelContractError, match=message):
            triton_client.infer(MODEL, VERSION, inputs, outputs)


class TestUnavailable:
    image = np.zeros((1, 256, 256), dtype=np.float32)

    @pytest.mark.parametrize("client_class", [GrpcInferenceClient, HttpInferenceClient])
    def test_nothing_listening(self, client_class):
        [port] = free_ports(1)
        with client_class(f"127.0.0.1:{port}", timeout_s=2) as client:
            with pytest.raises(TritonUnavailable):
                client.is_ready(MODEL, VERSION)
            with pytest.raises(TritonUnavailable):
                client.infer(MODEL, VERSION, {"IMAGE": self.image}, ["RETAKE_SCORE"])

    @pytest.mark.parametrize("client_class", [GrpcInferenceClient, HttpInferenceClient])
    def test_server_that_never_answers_times_out(self, client_class):
        with socket.socket() as silent:
            silent.bind(("127.0.0.1", 0))
            silent.listen()  # accepts connections into the backlog, never replies
            url = f"127.0.0.1:{silent.getsockname()[1]}"
            started = time.monotonic()
            with client_class(url, timeout_s=1) as client, pytest.raises(TritonUnavailable):
                client.infer(MODEL, VERSION, {"IMAGE": self.image}, ["RETAKE_SCORE"])
            assert time.monotonic() - started < 10


class TestLocalTritonFailures:
    def test_broken_model_repository_reports_the_log(self, tmp_path, triton_env_dir):
        broken = tmp_path / "repo" / "broken"
        (broken / "1").mkdir(parents=True)
        (broken / "config.pbtxt").write_text('name: "broken"\nbackend: "no_such_backend"\n')
        server = LocalTriton(
            tmp_path / "repo",
            tmp_path / "work",
            ports=TritonPorts(*free_ports(3)),
            env_dir=triton_env_dir,
        )
        server.start()
        try:
            with pytest.raises(TritonStartError) as failure:
                server.wait_ready(timeout=60)
        finally:
            server.stop()
        message = str(failure.value)
        assert "no_such_backend" in message  # the log tail
        assert "Next:" in message

    def test_port_in_use_is_refused_before_starting(self, tmp_path, triton_server, triton_env_dir):
        taken = TritonPorts(triton_server.ports.http, *free_ports(2))
        server = LocalTriton(tmp_path, tmp_path / "work", ports=taken, env_dir=triton_env_dir)
        with pytest.raises(TritonStartError, match="already in use"):
            server.start()


class TestLatency:
    def test_p50_of_single_image_requests(self, triton_client, triton_server):
        image = pipeline.preprocess(mr_scaled(1.0))[None]
        for _ in range(5):  # warm-up
            pipeline.assess_images(triton_client, image)
        durations = []
        for _ in range(50):
            started = time.perf_counter()
            pipeline.assess_images(triton_client, image)
            durations.append(time.perf_counter() - started)
        p50 = statistics.median(durations)
        print(  # reported with `pytest -s`
            f"\nTriton start-up {triton_server.startup_seconds:.2f} s; "
            f"image_quality p50 {p50 * 1000:.1f} ms, max {max(durations) * 1000:.1f} ms (n=50)"
        )
        assert p50 < 1.0
