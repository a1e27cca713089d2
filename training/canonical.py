"""Canonical ONNX graphs: the same computation always serialises to the same bytes.

tf2onnx's optimisers leave node order and generated constant names depending on run-time
details, so two identical trainings would give two model versions. Here every tensor gets a
structural signature (initializers by content, node outputs by op, attributes and input
signatures); nodes are ordered topologically with ties broken by signature, and every
intermediate name is replaced by one derived from that order. Graph inputs and outputs keep
their names. Initializers are identified by dtype, shape and values only (never by their name or
how the tensor was encoded), and are re-encoded in one form.
"""

from __future__ import annotations

import hashlib

import onnx
from onnx import numpy_helper


def _digest(*parts: bytes | str) -> str:
    h = hashlib.sha256()
    for part in parts:
        h.update(part.encode() if isinstance(part, str) else part)
        h.update(b"\0")
    return h.hexdigest()


def canonicalize(model: onnx.ModelProto) -> None:
    """Reorder and rename `model.graph` in place."""
    graph = model.graph
    signature: dict[str, str] = {"": "<none>"}
    for tensor in graph.input:
        signature[tensor.name] = _digest("input", tensor.name)
    rename: dict[str, str] = {}
    initializers = {}
    for init in graph.initializer:
        value = numpy_helper.to_array(init)
        sig = _digest("init", str(init.data_type), str(value.shape), value.tobytes())
        signature[init.name] = sig
        rename[init.name] = f"const_{sig[:12]}"
        initializers.setdefault(rename[init.name], numpy_helper.from_array(value))

    producers = {out: node for node in graph.node for out in node.output}
    node_sig: dict[int, str] = {}

    def sig_of(node: onnx.NodeProto) -> str:
        key = id(node)
        if key not in node_sig:
            attrs = [a.SerializeToString(deterministic=True) for a in
                     sorted(node.attribute, key=lambda a: a.name)]
            inputs = [signature.get(i) or _output_sig(producers[i], i) for i in node.input]
            node_sig[key] = _digest(node.op_type, node.domain, *attrs, *inputs)
        return node_sig[key]

    def _output_sig(producer: onnx.NodeProto, name: str) -> str:
        return f"{sig_of(producer)}:{list(producer.output).index(name)}"

    ordered = _topological(graph.node, producers, sig_of)
    outputs = {o.name for o in graph.output}
    for index, node in enumerate(ordered):
        for k, out in enumerate(node.output):
            if out and out not in outputs:
                rename[out] = f"t{index}_{k}"
        node.name = f"n{index}_{node.op_type}"
    for node in ordered:
        node.input[:] = [rename.get(i, i) for i in node.input]
        node.output[:] = [rename.get(o, o) for o in node.output]
    del graph.node[:]
    graph.node.extend(ordered)
    for name, init in initializers.items():
        init.name = name
    del graph.initializer[:]
    graph.initializer.extend(initializers[k] for k in sorted(initializers))
    del graph.value_info[:]


def _topological(nodes, producers, sig_of) -> list[onnx.NodeProto]:
    """Kahn's algorithm; among ready nodes the smallest signature goes first."""
    pending = {id(n): n for n in nodes}
    deps = {id(n): {id(producers[i]) for i in n.input if i in producers} for n in nodes}
    done: set[int] = set()
    ordered = []
    while pending:
        ready = [n for k, n in pending.items() if deps[k] <= done]
        if not ready:
            raise ValueError("the ONNX graph has a cycle")
        first = min(ready, key=sig_of)
        ordered.append(first)
        done.add(id(first))
        del pending[id(first)]
    return ordered
