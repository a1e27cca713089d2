"""Canonical ONNX graphs: one computation, one byte string, however the exporter named things."""

import numpy as np
import onnx
import onnxruntime as ort
from onnx import TensorProto, helper, numpy_helper

from training.canonical import canonicalize


def _model(names: tuple[str, str, str], raw: bool, reverse_nodes: bool,
           scale: float = 2.0) -> onnx.ModelProto:
    """x -> Slice(columns 0..2) -> Mul(scale) -> y, with the exporter's choices as parameters."""
    starts, ends, factor = names
    inits = [
        helper.make_tensor(starts, TensorProto.INT64, [1], [0], raw=False),
        helper.make_tensor(ends, TensorProto.INT64, [1],
                           np.array([2], dtype=np.int64).tobytes() if raw else [2], raw=raw),
        helper.make_tensor(factor, TensorProto.FLOAT, [], [scale]),
        helper.make_tensor(f"{starts}_axes", TensorProto.INT64, [1], [1]),
    ]
    nodes = [helper.make_node("Slice", ["x", starts, ends, f"{starts}_axes"], ["sliced_tmp"],
                              name="slice_a"),
             helper.make_node("Mul", ["sliced_tmp", factor], ["y"], name="mul_b")]
    graph = helper.make_graph(
        nodes[::-1] if reverse_nodes else nodes, "g",
        [helper.make_tensor_value_info("x", TensorProto.FLOAT, [None, 4])],
        [helper.make_tensor_value_info("y", TensorProto.FLOAT, [None, 2])], inits)
    return helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)], ir_version=8)


def _canonical_bytes(model: onnx.ModelProto) -> bytes:
    canonicalize(model)
    return model.SerializeToString(deterministic=True)


def test_names_of_any_length_encodings_and_node_order_give_the_same_bytes():
    # CI stop 8: tf2onnx named one constant with a different-length name in a second run
    first = _model(("starts", "ends", "k"), raw=True, reverse_nodes=False)
    second = _model(("const_starts__12", "const_ends__1034", "mul/y:0"), raw=False,
                    reverse_nodes=True)
    assert first.SerializeToString() != second.SerializeToString()
    assert _canonical_bytes(first) == _canonical_bytes(second)


def test_different_values_stay_different():
    assert (_canonical_bytes(_model(("s", "e", "k"), raw=True, reverse_nodes=False, scale=2.0))
            != _canonical_bytes(_model(("s", "e", "k"), raw=True, reverse_nodes=False,
                                       scale=3.0)))


def test_the_canonical_graph_computes_the_same():
    model = _model(("const_starts__12", "e", "k"), raw=False, reverse_nodes=True)
    canonicalize(model)
    onnx.checker.check_model(model)
    session = ort.InferenceSession(model.SerializeToString(),
                                   providers=["CPUExecutionProvider"])
    x = np.arange(8, dtype=np.float32).reshape(2, 4)
    np.testing.assert_array_equal(session.run(None, {"x": x})[0], x[:, :2] * 2.0)
    assert all(numpy_helper.to_array(i).size for i in model.graph.initializer)
