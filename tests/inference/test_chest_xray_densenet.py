"""DenseNet-121 (TorchXRayVision format) -> ONNX -> Triton, with RANDOMLY INITIALISED weights.

No trained weights exist here and none may be downloaded: every score in these tests comes
from random weights and means nothing clinically. What is checked is the plumbing: the ONNX
graph computes DenseNet-121 exactly (against a plain numpy forward pass of the same weights),
the exported file is served by a real Triton, and the pipeline turns its output into findings.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import numpy as np
import onnxruntime as ort
import pydicom
import pytest
from pydicom.data import get_testdata_file

from inference.models.densenet_export import (
    export_densenet,
    state_dict_file,
    write_triton_folder,
)
from inference.models.densenet_onnx import BLOCK_LAYERS, TXV_LABELS, WeightsError
from inference.pipelines import chest_xray
from inference.triton.grpc_client import GrpcInferenceClient
from inference.triton.port import ModelContractError
from inference.triton.server import LocalTriton, TritonPorts
from services.model_registry.manifest import load_manifest
from tests.fixtures.triton import free_ports

pytestmark = pytest.mark.integration
GROWTH, BOTTLENECK = 32, 128


def random_densenet121(seed: int = 0, classes: int = len(TXV_LABELS)) -> dict[str, np.ndarray]:
    """A DenseNet-121 state dict (TorchXRayVision key names), He-initialised at random."""
    rng = np.random.default_rng(seed)
    state: dict[str, np.ndarray] = {}

    def conv(key: str, out: int, inp: int, k: int) -> None:
        state[f"{key}.weight"] = rng.normal(0, np.sqrt(2 / (inp * k * k)), (out, inp, k, k))

    def bn(key: str, channels: int) -> None:
        state[f"{key}.weight"] = rng.uniform(0.5, 1.5, channels)
        state[f"{key}.bias"] = rng.normal(0, 0.1, channels)
        state[f"{key}.running_mean"] = rng.normal(0, 0.1, channels)
        state[f"{key}.running_var"] = rng.uniform(0.5, 1.5, channels)

    conv("features.conv0", 64, 1, 7)
    state["features.conv0.weight"] /= 1024.0  # inputs span -1024..1024: keep activations O(1)
    bn("features.norm0", 64)
    channels = 64
    for block, layers in enumerate(BLOCK_LAYERS, start=1):
        for layer in range(1, layers + 1):
            p = f"features.denseblock{block}.denselayer{layer}"
            bn(f"{p}.norm1", channels)
            conv(f"{p}.conv1", BOTTLENECK, channels, 1)
            bn(f"{p}.norm2", BOTTLENECK)
            conv(f"{p}.conv2", GROWTH, BOTTLENECK, 3)
            channels += GROWTH
        if block < len(BLOCK_LAYERS):
            bn(f"features.transition{block}.norm", channels)
            conv(f"features.transition{block}.conv", channels // 2, channels, 1)
            channels //= 2
    bn("features.norm5", channels)
    state["classifier.weight"] = rng.normal(0, 0.05, (classes, channels))
    state["classifier.bias"] = rng.normal(0, 0.05, classes)
    return {k: v.astype(np.float32) for k, v in state.items()}


def reference_forward(state: dict[str, np.ndarray], x: np.ndarray) -> np.ndarray:
    """DenseNet-121 in plain numpy (float64), written from the paper's definition."""

    def conv(x: np.ndarray, key: str, stride: int = 1, pad: int = 0) -> np.ndarray:
        w = state[f"{key}.weight"].astype(np.float64)
        k = w.shape[-1]
        xp = np.pad(x, ((0, 0), (0, 0), (pad, pad), (pad, pad)))
        windows = np.lib.stride_tricks.sliding_window_view(xp, (k, k), axis=(2, 3))
        windows = windows[:, :, ::stride, ::stride]  # n, c, h, w, k, k
        out: np.ndarray = np.einsum("nchwij,ocij->nohw", windows, w, optimize=True)
        return out

    def bn_relu(x: np.ndarray, key: str) -> np.ndarray:
        g, b, m, v = (state[f"{key}.{n}"].astype(np.float64)[None, :, None, None]
                      for n in ("weight", "bias", "running_mean", "running_var"))  # fmt: skip
        return np.maximum((x - m) / np.sqrt(v + 1e-5) * g + b, 0)

    x = bn_relu(conv(x.astype(np.float64), "features.conv0", 2, 3), "features.norm0")
    xp = np.pad(x, ((0, 0), (0, 0), (1, 1), (1, 1)), constant_values=-np.inf)
    x = np.lib.stride_tricks.sliding_window_view(xp, (3, 3), axis=(2, 3))[:, :, ::2, ::2]
    x = x.max(axis=(4, 5))
    for block, layers in enumerate(BLOCK_LAYERS, start=1):
        for layer in range(1, layers + 1):
            p = f"features.denseblock{block}.denselayer{layer}"
            y = conv(bn_relu(x, f"{p}.norm1"), f"{p}.conv1")
            x = np.concatenate([x, conv(bn_relu(y, f"{p}.norm2"), f"{p}.conv2", pad=1)], axis=1)
        if block < len(BLOCK_LAYERS):
            x = conv(
                bn_relu(x, f"features.transition{block}.norm"), f"features.transition{block}.conv"
            )
            n, c, h, w = x.shape
            x = x.reshape(n, c, h // 2, 2, w // 2, 2).mean(axis=(3, 5))
    pooled = bn_relu(x, "features.norm5").mean(axis=(2, 3))
    logits = pooled @ state["classifier.weight"].T.astype(np.float64) + state["classifier.bias"]
    probabilities: np.ndarray = 1 / (1 + np.exp(-logits))
    return probabilities


def save_state(path: Path, state: dict[str, np.ndarray]) -> None:
    """Write a state dict as ``.npz`` (the default allow_pickle named, so mypy types ``**state``)."""
    np.savez(path, allow_pickle=True, **state)


def _testdata_path(name: str) -> str:
    path = get_testdata_file(name)
    assert isinstance(path, str), f"pydicom test file {name} is not installed"
    return path


@pytest.fixture(scope="module")
def weights(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("weights") / "densenet121-random.npz"
    save_state(path, random_densenet121())
    return path


@pytest.fixture(scope="module")
def exported(weights: Path) -> Path:
    return export_densenet(weights, weights.with_suffix(".onnx"))


class TestOnnxGraph:
    def test_graph_computes_densenet121(self, weights: Path, exported: Path):
        images = np.random.default_rng(1).uniform(-1024, 1024, (2, 1, 64, 64)).astype(np.float32)
        session = ort.InferenceSession(str(exported), providers=["CPUExecutionProvider"])
        (onnx_out,) = session.run(["PROBABILITIES"], {"IMAGE": images})

        expected = reference_forward(state_dict_file(weights), images)
        assert onnx_out.shape == (2, 18)
        np.testing.assert_allclose(onnx_out, expected, rtol=2e-3, atol=1e-5)
        assert not np.allclose(onnx_out[0], onnx_out[1])  # the image matters

    def test_operating_points_put_each_threshold_at_one_half(
        self, weights: Path, exported: Path, tmp_path: Path
    ):
        thresholds = [0.1] * 17 + [float("nan")]
        path = export_densenet(weights, tmp_path / "op.onnx", op_thresholds=thresholds)
        plain = ort.InferenceSession(str(exported))
        normed = ort.InferenceSession(str(path))
        image = np.random.default_rng(2).uniform(-1024, 1024, (1, 1, 64, 64)).astype(np.float32)
        p = plain.run(None, {"IMAGE": image})[0][0]
        q = normed.run(None, {"IMAGE": image})[0][0]
        expected = np.where(p < 0.1, p / 0.2, 1 - (1 - p) / 1.8)
        np.testing.assert_allclose(q[:17], expected[:17], rtol=1e-5)
        assert q[17] == pytest.approx(p[17])  # no threshold: plain probability

    def test_missing_tensor_is_a_clear_error(self, tmp_path: Path):
        state = random_densenet121()
        del state["features.denseblock3.denselayer7.conv2.weight"]
        save_state(tmp_path / "broken.npz", state)
        with pytest.raises(WeightsError, match=r"denselayer7\.conv2\.weight"):
            export_densenet(tmp_path / "broken.npz", tmp_path / "broken.onnx")

    def test_a_pytorch_file_without_torch_says_what_to_install(self, tmp_path: Path):
        (tmp_path / "w.pt").write_bytes(b"not really")
        with pytest.raises(WeightsError, match=r"pip install torch==2\.13\.0"):
            state_dict_file(tmp_path / "w.pt")


WRONG_SHAPE_CONFIG = """
name: "wrong_shape"
backend: "python"
max_batch_size: 8
input [ { name: "IMAGE" data_type: TYPE_FP32 dims: [ 1, 224, 224 ] } ]
output [ { name: "PROBABILITIES" data_type: TYPE_FP32 dims: [ -1 ] } ]
"""
WRONG_SHAPE_MODEL = """
import numpy as np
import triton_python_backend_utils as pb_utils


class TritonPythonModel:
    def execute(self, requests):
        out = []
        for request in requests:
            n = pb_utils.get_input_tensor_by_name(request, "IMAGE").as_numpy().shape[0]
            tensor = pb_utils.Tensor("PROBABILITIES", np.zeros((n, 17), dtype=np.float32))
            out.append(pb_utils.InferenceResponse([tensor]))
        return out
"""


def write_wrong_shape_model(repository: Path) -> None:
    """A model answering 17 labels instead of 18: a deployment that drifted from the code."""
    (repository / "wrong_shape" / "1").mkdir(parents=True)
    (repository / "wrong_shape" / "config.pbtxt").write_text(WRONG_SHAPE_CONFIG)
    (repository / "wrong_shape" / "1" / "model.py").write_text(WRONG_SHAPE_MODEL)


class ServedAs:
    """The real server, with the classifier's name mapped to another model it serves."""

    def __init__(self, inner: GrpcInferenceClient, served: str) -> None:
        self.inner, self.served = inner, served

    def is_ready(self, model: str, version: str) -> bool:
        return self.inner.is_ready(self.served, version)

    def infer(
        self, model: str, version: str, inputs: dict[str, np.ndarray], outputs: list[str]
    ) -> dict[str, np.ndarray]:
        return self.inner.infer(self.served, version, inputs, outputs)


@pytest.fixture(scope="module")
def densenet_triton(
    tmp_path_factory: pytest.TempPathFactory, exported: Path, triton_env_dir: Path
) -> Iterator[GrpcInferenceClient]:
    root = tmp_path_factory.mktemp("triton-densenet")
    write_triton_folder(exported, root / "models")
    write_wrong_shape_model(root / "models")
    server = LocalTriton(
        root / "models", root / "work", ports=TritonPorts(*free_ports(3)), env_dir=triton_env_dir
    )
    server.start()
    try:
        server.wait_ready(timeout=120)
        with GrpcInferenceClient(server.grpc_url, timeout_s=60) as client:
            yield client
    finally:
        server.stop()


class TestServedByTriton:
    def test_radiographs_are_classified_like_onnxruntime_in_process(
        self, densenet_triton: GrpcInferenceClient, exported: Path
    ):
        names = ["dicomdirtests/77654033/CR1/6154", "MR_small.dcm", "SC_rgb_rle.dcm"]
        datasets = [pydicom.dcmread(_testdata_path(n)) for n in names]
        probabilities = chest_xray.run(densenet_triton, datasets)

        local = ort.InferenceSession(str(exported))
        batch = np.stack([chest_xray.preprocess(ds) for ds in datasets])
        assert batch.shape == (3, 1, 224, 224)
        assert batch.min() >= -1024 and batch.max() <= 1024
        np.testing.assert_allclose(probabilities, local.run(None, {"IMAGE": batch})[0], atol=1e-5)

        findings = chest_xray.postprocess(probabilities)
        assert findings
        probs = findings[0].detail["probabilities"]
        assert isinstance(probs, dict)
        assert list(probs) == list(TXV_LABELS)

    def test_model_answering_the_wrong_shape_is_a_contract_error(
        self, densenet_triton: GrpcInferenceClient
    ):
        ds = pydicom.dcmread(_testdata_path("MR_small.dcm"))
        with pytest.raises(ModelContractError, match=r"shape \(1, 17\), expected \(1, 18\)"):
            chest_xray.run(ServedAs(densenet_triton, "wrong_shape"), [ds])

    def test_wrong_input_shape_is_a_contract_error(self, densenet_triton: GrpcInferenceClient):
        wrong = np.zeros((1, 1, 128, 128), dtype=np.float32)
        with pytest.raises(ModelContractError):
            densenet_triton.infer("chest_xray_densenet", "1", {"IMAGE": wrong}, ["PROBABILITIES"])


def test_manifest_validates_and_matches_the_pipeline():
    manifest = load_manifest(Path(chest_xray.__file__).parents[1] / "models" /
                             "chest_xray_densenet" / "manifest.yaml")  # fmt: skip
    assert manifest.outputs[0].labels == list(TXV_LABELS)
    coded = {f.code for f in manifest.findings}
    assert coded == {lb.code for lb in chest_xray.LABELS if lb.snomed}
