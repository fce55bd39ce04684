"""An int8 graph in which any set of its quantized nodes can run in fp32, chosen per run: the instrument the
int8 exporter measures each node's effect with, without quantizing again for every question.

Every quantized node gets a float twin -- the same operator fed the tensors from before quantization and
the original float weights -- and a switch: the node's consumers read ``Where(fp32_nodes[i], twin, node)``,
``fp32_nodes`` being a boolean input of the graph. A node switched to fp32 still feeds a quantized
consumer through that consumer's own quantization, and a float consumer (the decoder's input layer)
without any, as when the quantizer is told to exclude the node: its output is then quantized only for
the consumers that are.

The twin's input is clamped at the quantization range's lower end, because the quantizer drops a ReLU in
front of a quantized tensor (the uint8 range's zero does its job): unclamped, the twin would see negative
values the int8 node never gets. The graph runs with ONNX Runtime's optimisations off, so every
Quantize/Dequantize pair runs as written (fake quantization); the fused int8 kernels round slightly
differently, which is why the exporter's real self-check, not this graph, decides what passes.
"""
from __future__ import annotations

import numpy as np

#: ONNX Runtime's suffix for a quantized initializer (the float original keeps the plain name)
_QUANTIZED = "_quantized"
_SUFFIX = "__zoo_fp32"
SWITCH_INPUT = "fp32_nodes"


def _lower_end(q, values: dict) -> float:
    """The smallest value a QuantizeLinear node represents (its scale and zero point); -inf if unknown."""
    names = list(q.input) + [None, None]
    scale, zero = values.get(names[1]), values.get(names[2])
    if scale is None or zero is None or scale.size != 1 or zero.size != 1:
        return -np.inf
    return float((np.iinfo(zero.dtype).min - int(zero.reshape(()))) * float(scale.reshape(())))


class _Builder:
    """Adds the twins and switches to an int8 ONNX graph (see the module docstring)."""

    def __init__(self, graph, float_inits: dict):
        from onnx import numpy_helper

        self.graph = graph
        self.float_inits = float_inits
        self.values = {i.name: numpy_helper.to_array(i) for i in graph.initializer}
        self.producers = {o: n for n in graph.node for o in n.output}
        self.inits: dict = {}  # name -> TensorProto added
        self.clamped: set[str] = set()
        self.either: set[str] = set()

    def _init(self, name: str, array: np.ndarray) -> str:
        from onnx import numpy_helper

        if name not in self.inits:
            self.inits[name] = numpy_helper.from_array(array, name)
        return name

    def float_inputs(self, node, before: list) -> list[str] | None:
        """``node``'s inputs with every Dequantize undone (nodes needed for that go to ``before``); None when
        some input cannot be traced back, or none was quantized."""
        from onnx import helper, numpy_helper

        out, changed = [], False
        for name in node.input:
            dq = self.producers.get(name)
            if dq is None or dq.op_type != "DequantizeLinear":
                out.append(name)
                continue
            src = dq.input[0]
            if src in self.values:  # weights or bias: the float original, renamed (the Dequantize output
                original = src[:-len(_QUANTIZED)] if src.endswith(_QUANTIZED) else None  # carries its name)
                if original not in self.float_inits:
                    return None
                if original + _SUFFIX not in self.inits:
                    self.inits[original + _SUFFIX] = numpy_helper.from_array(
                        numpy_helper.to_array(self.float_inits[original]), original + _SUFFIX)
                out.append(original + _SUFFIX)
            else:
                q = self.producers.get(src)
                if q is None or q.op_type != "QuantizeLinear":
                    return None
                clamped = q.input[0] + "_clamped" + _SUFFIX
                if clamped not in self.clamped:
                    self.clamped.add(clamped)
                    low = self._init(clamped + "_low", np.array(_lower_end(q, self.values), np.float32))
                    before.append(helper.make_node("Max", [q.input[0], low], [clamped], name=clamped))
                out.append(clamped)
            changed = True
        return out if changed else None

    def switch(self, node, index: int, inputs: list[str]) -> list:
        """The twin of ``node`` and the ``Where`` that hands its consumers one of the two."""
        from onnx import helper

        y = node.output[0]
        node.output[0] = y + "_int8" + _SUFFIX
        twin = helper.make_node(node.op_type, inputs, [y + "_float" + _SUFFIX], name=node.name + _SUFFIX,
                                domain=node.domain or None)
        twin.attribute.extend(node.attribute)
        flag = y + "_on" + _SUFFIX
        gather = helper.make_node("Gather", [SWITCH_INPUT, self._init(flag + "_index", np.array(index, np.int64))],
                                  [flag], name=flag, axis=0)
        where = helper.make_node("Where", [flag, twin.output[0], node.output[0]], [y], name=y + "_where" + _SUFFIX)
        return [twin, gather, where]

    def unquantized_when_switched(self, node, switched: dict) -> list:
        """For a node that stays as it is (a float one): each input it reads through a Dequantize of a switched
        node's output becomes that output itself while the node is switched to fp32 (``switched``: output ->
        its switch, or None for a node in fp32 for good)."""
        from onnx import helper

        added = []
        for k, name in enumerate(node.input):
            dq = self.producers.get(name)
            q = self.producers.get(dq.input[0]) if dq is not None and dq.op_type == "DequantizeLinear" else None
            if q is None or q.op_type != "QuantizeLinear" or q.input[0] not in switched:
                continue
            y = q.input[0]
            if switched[y] is None:
                node.input[k] = y
                continue
            either = f"{name}_or_float{_SUFFIX}"
            if either not in self.either:  # one per tensor, however many float nodes read it
                self.either.add(either)
                added.append(helper.make_node("Where", [switched[y], y, name], [either], name=either))
            node.input[k] = either
        return added


def switchable_model(fp32_path, int8_path, skip=()):
    """``(ModelProto, candidate node names)``: the int8 graph with a switch per quantized node (module
    docstring); ``skip``: nodes never to switch (the ones the quantizer already left in float)."""
    import onnx
    from onnx import TensorProto, helper

    model = onnx.load(str(int8_path))
    graph = model.graph
    builder = _Builder(graph, {i.name: i for i in onnx.load(str(fp32_path)).graph.initializer})
    skip = set(skip)
    nodes, candidates, switched, kept = [], [], {}, []
    for node in list(graph.node):
        before: list = []
        inputs = None
        if node.op_type not in ("QuantizeLinear", "DequantizeLinear") and node.name not in skip \
                and len(node.output) == 1:
            inputs = builder.float_inputs(node, before)
        nodes += before
        nodes.append(node)
        if inputs is not None:
            switched[node.output[0]] = node.output[0] + "_on" + _SUFFIX
            nodes += builder.switch(node, len(candidates), inputs)
            candidates.append(node.name)
        elif node.op_type not in ("QuantizeLinear", "DequantizeLinear"):
            kept.append(node)
    for node in kept:  # once every switch exists: the quantizer appends its nodes, so the list is not in order
        added = builder.unquantized_when_switched(node, switched)
        if added:
            at = next(i for i, n in enumerate(nodes) if n is node)
            nodes[at:at] = added
    del graph.node[:]
    graph.node.extend(nodes)
    graph.initializer.extend(builder.inits.values())
    graph.input.append(helper.make_tensor_value_info(SWITCH_INPUT, TensorProto.BOOL, [len(candidates)]))
    return model, candidates


class SwitchableGraph:
    """One ONNX Runtime session of :func:`switchable_model`; call it with a batch and the names to run in fp32.

    Args:
        fp32_path: the pre-processed fp32 graph the int8 one was quantized from (its float weights).
        int8_path: the QDQ int8 graph.
        skip: nodes never switched.
        threads: ONNX Runtime intra-op threads (default: all cores).
    """

    def __init__(self, fp32_path, int8_path, skip=(), threads: int | None = None):
        import onnxruntime as ort

        model, self.candidates = switchable_model(fp32_path, int8_path, skip)
        self._index = {name: i for i, name in enumerate(self.candidates)}
        options = ort.SessionOptions()
        options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_DISABLE_ALL
        options.log_severity_level = 3
        if threads:
            options.intra_op_num_threads = threads
        self.session = ort.InferenceSession(model.SerializeToString(), options, providers=["CPUExecutionProvider"])
        self.input_name = next(i.name for i in self.session.get_inputs() if i.name != SWITCH_INPUT)

    def __call__(self, batch: np.ndarray, fp32_nodes=()):
        mask = np.zeros(len(self.candidates), bool)
        for name in fp32_nodes:
            mask[self._index[name]] = True
        return self.session.run(None, {self.input_name: np.ascontiguousarray(batch, np.float32), SWITCH_INPUT: mask})


def _prune(graph) -> None:
    """Drop the nodes nothing reads any more (Quantize/Dequantize pairs only an fp32 node used), then the
    initializers no node reads."""
    while True:
        used = {i for n in graph.node for i in n.input} | {o.name for o in graph.output}
        dead = [n for n in graph.node if not any(o in used for o in n.output)]
        if not dead:
            break
        for node in dead:
            graph.node.remove(node)
    used = {i for n in graph.node for i in n.input}
    keep = [i for i in graph.initializer if i.name in used]
    del graph.initializer[:]
    graph.initializer.extend(keep)


def keep_in_fp32(fp32_path, int8_path, out, nodes, skip=()):
    """Rewrite an int8 graph so that ``nodes`` run in fp32 exactly as :class:`SwitchableGraph` runs them
    switched: float (clamped) inputs and the original float weights, their float consumers (``skip``) fed
    their output unquantized. Excluding a node from quantization is not enough: the quantizer still feeds it
    a tensor it quantizes for another consumer, or a bias it shares with one."""
    import onnx

    model = onnx.load(str(int8_path))
    graph = model.graph
    builder = _Builder(graph, {i.name: i for i in onnx.load(str(fp32_path)).graph.initializer})
    nodes, skip = set(nodes), set(skip)
    order, switched = [], {}
    for node in list(graph.node):
        before: list = []
        if node.name in nodes and len(node.output) == 1:
            inputs = builder.float_inputs(node, before)
            if inputs is not None:
                del node.input[:]
                node.input.extend(inputs)
            switched[node.output[0]] = None
        order += before
        order.append(node)
    for node in order:
        if node.name in skip:
            builder.unquantized_when_switched(node, switched)
    del graph.node[:]
    graph.node.extend(order)
    graph.initializer.extend(builder.inits.values())
    _prune(graph)
    onnx.save(model, str(out))
    return out
