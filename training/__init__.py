"""The middle layer's model work: data, synthesis, training, baselines, selection, ONNX export,
evaluation. It imports only `core`."""
