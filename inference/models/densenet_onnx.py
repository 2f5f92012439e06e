"""Build the ONNX graph of a TorchXRayVision-style DenseNet-121 from its state-dict tensors.

TorchXRayVision's chest-radiograph classifiers are torchvision's DenseNet-121 with a
single-channel first convolution and an 18-way classifier, fed ``[batch, 1, 224, 224]``
images scaled to -1024..1024. Writing the graph node by node with ``onnx.helper`` needs no
PyTorch at serving or test time: the tensors come from a ``.npz`` file, or from the vendor's
``.pt`` file through ``state_dict_file`` (which imports torch only for that).

The graph ends with a sigmoid, and with TorchXRayVision's "operating point" normalisation when
per-label thresholds are given: each probability is rescaled so that the label's operating
threshold lands on 0.5.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper

BLOCK_LAYERS = (6, 12, 24, 16)  # DenseNet-121
OPSET = 17
INPUT_NAME = "IMAGE"
OUTPUT_NAME = "PROBABILITIES"
BN_EPSILON = 1e-5  # torch.nn.BatchNorm2d default
TXV_LABELS = (
    "Atelectasis",
    "Consolidation",
    "Infiltration",
    "Pneumothorax",
    "Edema",
    "Emphysema",
    "Fibrosis",
    "Effusion",
    "Pneumonia",
    "Pleural_Thickening",
    "Cardiomegaly",
    "Nodule",
    "Mass",
    "Hernia",
    "Lung Lesion",
    "Fracture",
    "Lung Opacity",
    "Enlarged Cardiomediastinum",
)


class WeightsError(ValueError):
    """The weights do not describe a DenseNet-121 (a tensor missing or misshapen)."""


class _Graph:
    """Collect nodes and initialisers; each method adds one layer and returns its output."""

    def __init__(self, state: Mapping[str, np.ndarray]) -> None:
        self.state = state
        self.nodes: list[onnx.NodeProto] = []
        self.initializers: list[onnx.TensorProto] = []
        self._count = 0

    def weight(self, key: str) -> str:
        if key not in self.state:
            raise WeightsError(f"The weights have no tensor {key!r}: not a DenseNet-121?")
        array = np.asarray(self.state[key], dtype=np.float32)
        self.initializers.append(numpy_helper.from_array(array, name=key))
        return key

    def constant(self, name: str, array: np.ndarray) -> str:
        self.initializers.append(numpy_helper.from_array(array, name=name))
        return name

    def node(self, op: str, inputs: list[str], **attrs: Any) -> str:
        self._count += 1
        out = f"{op.lower()}_{self._count}"
        self.nodes.append(helper.make_node(op, inputs, [out], **attrs))
        return out

    def bn_relu(self, x: str, prefix: str) -> str:
        keys = ("weight", "bias", "running_mean", "running_var")
        inputs = [self.weight(f"{prefix}.{k}") for k in keys]
        return self.node(
            "Relu", [self.node("BatchNormalization", [x, *inputs], epsilon=BN_EPSILON)]
        )

    def conv(self, x: str, key: str, *, stride: int = 1, pad: int = 0) -> str:
        kernel = self.state[f"{key}.weight"].shape[-1] if f"{key}.weight" in self.state else 1
        return self.node(
            "Conv",
            [x, self.weight(f"{key}.weight")],
            kernel_shape=[kernel, kernel],
            strides=[stride, stride],
            pads=[pad] * 4,
        )


def densenet121_graph(
    state: Mapping[str, np.ndarray],
    *,
    op_thresholds: Sequence[float] | None = None,
    labels: Sequence[str] = TXV_LABELS,
) -> onnx.ModelProto:
    """Return the checked ONNX model ``IMAGE [n, C, H, W] -> PROBABILITIES [n, classes]``.

    Raises
    ------
    WeightsError
        If a DenseNet-121 tensor is missing, or the classifier does not have one row per label.
    """
    classes = _classifier_rows(state)
    if classes != len(labels):
        raise WeightsError(f"The classifier has {classes} outputs for {len(labels)} labels.")
    g = _Graph(state)
    x = g.conv(INPUT_NAME, "features.conv0", stride=2, pad=3)
    x = g.bn_relu(x, "features.norm0")
    x = g.node("MaxPool", [x], kernel_shape=[3, 3], strides=[2, 2], pads=[1, 1, 1, 1])
    for block, layers in enumerate(BLOCK_LAYERS, start=1):
        for layer in range(1, layers + 1):
            prefix = f"features.denseblock{block}.denselayer{layer}"
            y = g.conv(g.bn_relu(x, f"{prefix}.norm1"), f"{prefix}.conv1")
            y = g.conv(g.bn_relu(y, f"{prefix}.norm2"), f"{prefix}.conv2", pad=1)
            x = g.node("Concat", [x, y], axis=1)
        if block < len(BLOCK_LAYERS):
            prefix = f"features.transition{block}"
            x = g.conv(g.bn_relu(x, f"{prefix}.norm"), f"{prefix}.conv")
            x = g.node("AveragePool", [x], kernel_shape=[2, 2], strides=[2, 2])
    x = g.bn_relu(x, "features.norm5")
    x = g.node("Flatten", [g.node("GlobalAveragePool", [x])], axis=1)
    weight_t = g.constant(
        "classifier.weight_t", np.ascontiguousarray(state["classifier.weight"].T, np.float32)
    )
    logits = g.node("Gemm", [x, weight_t, g.weight("classifier.bias")])
    probabilities = g.node("Sigmoid", [logits])
    if op_thresholds is not None:
        probabilities = _operating_point(g, probabilities, op_thresholds, classes)
    g.nodes.append(helper.make_node("Identity", [probabilities], [OUTPUT_NAME]))
    channels = int(state["features.conv0.weight"].shape[1])
    graph = helper.make_graph(
        g.nodes,
        "densenet121",
        [helper.make_tensor_value_info(INPUT_NAME, TensorProto.FLOAT, ["n", channels, "h", "w"])],
        [helper.make_tensor_value_info(OUTPUT_NAME, TensorProto.FLOAT, ["n", classes])],
        g.initializers,
    )
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", OPSET)])
    model.ir_version = 8  # readable by every onnxruntime still in support
    model.metadata_props.append(onnx.StringStringEntryProto(key="labels", value="|".join(labels)))
    onnx.checker.check_model(model, full_check=True)
    return model


def _classifier_rows(state: Mapping[str, np.ndarray]) -> int:
    weight = state.get("classifier.weight")
    if weight is None or np.ndim(weight) != 2:
        raise WeightsError("The weights have no 2-D 'classifier.weight': not a DenseNet-121?")
    return int(np.shape(weight)[0])


def _operating_point(g: _Graph, p: str, thresholds: Sequence[float], classes: int) -> str:
    """TorchXRayVision's op_norm: p/(2t) below t, 1-(1-p)/(2(1-t)) at or above it.

    A label without a threshold (NaN) keeps its plain probability.
    """
    t = np.asarray(thresholds, dtype=np.float32).reshape(1, -1)
    if t.shape[1] != classes:
        raise WeightsError(f"{t.shape[1]} operating thresholds for {classes} labels.")
    known = ~np.isnan(t)
    safe = np.where(known, t, 0.5).astype(np.float32)
    below = g.node("Div", [p, g.constant("op_2t", 2.0 * safe)])
    above_gap = g.node("Div", [g.node("Sub", [g.constant("one", np.ones(1, np.float32)), p]),
                               g.constant("op_2_1mt", 2.0 * (1.0 - safe))])  # fmt: skip
    above = g.node("Sub", ["one", above_gap])
    normed = g.node("Where", [g.node("Less", [p, g.constant("op_t", safe)]), below, above])
    return g.node("Where", [g.constant("op_known", known), normed, p])
