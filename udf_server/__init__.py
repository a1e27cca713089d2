"""The middle layer's scoring sidecar: Kafka in, ONNX scores out (`python -m udf_server`). It
imports only `core`."""
