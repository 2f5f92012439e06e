"""Chest-radiograph classifier: onnxruntime on ``model.onnx`` inside Triton's Python backend.

``model.onnx`` (DenseNet-121 in TorchXRayVision's layout, exported by
``inference.models.densenet_export``) sits next to this file. It is never shipped: the weights
are licensed per site, so a repository without it fails to load this model with a message
saying how to export it. The pytriton Triton build has no onnxruntime backend, hence onnxruntime
inside the Python backend (the triton virtualenv installs it); the NVIDIA container can serve
the same file with ``backend: "onnxruntime"``.

Input ``IMAGE`` FP32 ``[batch, 1, 224, 224]`` in -1024..1024; output ``PROBABILITIES`` FP32
``[batch, 18]``. Requests Triton hands over together run as one onnxruntime batch.
"""

import os

import numpy as np
import onnxruntime as ort
import triton_python_backend_utils as pb_utils

EXPORT_HINT = (
    "export it with `python -m inference.models.densenet_export WEIGHTS model.onnx` and copy it "
    "into this model's version folder"
)


class TritonPythonModel:
    """Triton entry point."""

    def initialize(self, args):
        """Open ``model.onnx`` from this version's folder."""
        folder = os.path.join(args["model_repository"], args["model_version"])
        path = os.path.join(folder, "model.onnx")
        if not os.path.exists(path):
            raise pb_utils.TritonModelException(f"{path} is missing: {EXPORT_HINT}.")
        options = ort.SessionOptions()
        options.intra_op_num_threads = 2
        options.inter_op_num_threads = 1
        self.session = ort.InferenceSession(path, options, providers=["CPUExecutionProvider"])

    def execute(self, requests):
        """Run every request's images in one onnxruntime call; answer each request its rows."""
        images, good, responses = [], [], [None] * len(requests)
        for i, request in enumerate(requests):
            array = pb_utils.get_input_tensor_by_name(request, "IMAGE").as_numpy()
            if not np.isfinite(array).all():
                error = pb_utils.TritonError("IMAGE holds NaN or inf", pb_utils.TritonError.INVALID_ARG)
                responses[i] = pb_utils.InferenceResponse(output_tensors=[], error=error)
                continue
            images.append(array.astype(np.float32, copy=False))
            good.append(i)
        if images:
            batch = np.concatenate(images)
            (probabilities,) = self.session.run(["PROBABILITIES"], {"IMAGE": batch})
            start = 0
            for i, array in zip(good, images):
                rows = probabilities[start : start + array.shape[0]].astype(np.float32)
                start += array.shape[0]
                output = pb_utils.Tensor("PROBABILITIES", rows)
                responses[i] = pb_utils.InferenceResponse(output_tensors=[output])
        return responses
