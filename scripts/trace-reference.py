"""Reference reads of the trace reader: the same results before and after a change of the lexer.

Run once with the build before a change (``save``), then with the build after it
(``check``): every Dataset (``identical``, attrs included), every strict-mode error
(message, line, kind, text) and the per-line status, timestamp and integer fields of
``scan_lines`` must be equal. The inputs are deterministic: the shipped traces and
test fixtures (plain and compressed, strict and lenient), synthetic traces in the
three flags layouts, and about 460k lines mutated from them: random edits with the
characters that matter to the grammar, blank and tab runs, brackets, parentheses and
digits around the header, CRLF and trailing blanks, over-long lines.

Run: PYTHONPATH=<tree> .venv/bin/python scripts/trace-reference.py save|check [--file ref.pkl]
(the tree of PYTHONPATH is the build compared; this file reads the fixtures of its own tree).
"""
from __future__ import annotations

import argparse
import lzma
import pickle
import random
import tempfile
from pathlib import Path

import numpy as np

import reclaimlab.trace as T
from reclaimlab.trace import _scan as S

ROOT = Path(__file__).resolve().parents[1]
FIXTURES = ROOT / "tests" / "fixtures" / "traces"
SHIPPED = sorted((ROOT / "reclaimlab" / "data" / "traces").glob("*.trace.xz"))
#: Characters that matter to the grammar, so that edits hit its edges.
STRUCTURAL = "-[]():. #=\t\r\n|<>+x0123456789abcdefnidpriority_"


def _pool() -> list[str]:
    """Well-formed lines of every layout: fixtures, the heads of the shipped traces, synthetic."""
    pool = []
    for f in sorted(FIXTURES.glob("*.txt")):
        pool += f.read_text().splitlines()
    for f in SHIPPED:
        pool += lzma.decompress(f.read_bytes()).decode(errors="replace").splitlines()[:3000]
    for seed, flags in ((3, "d..1."), (5, "...."), (6, "")):
        pool += T.synthetic_trace(3000, seed=seed, flags=flags).splitlines()
    return pool


def texts() -> dict[str, str]:
    """The mutated texts, the same on every run (seeded)."""
    pool, rng = _pool(), random.Random(42)

    def mutate(line: str) -> str:
        for _ in range(rng.randint(0, 3)):
            op = rng.choice(["delete", "insert", "replace", "truncate", "repeat", "digits", "blank"])
            i = rng.randint(0, len(line))
            j = rng.randint(i, min(len(line), i + 12))
            if op == "delete":
                line = line[:i] + line[j:]
            elif op == "insert":
                line = line[:i] + "".join(rng.choice(STRUCTURAL) for _ in range(rng.randint(0, 6))) + line[i:]
            elif op == "replace":
                line = line[:i] + "".join(rng.choice(STRUCTURAL) for _ in range(rng.randint(1, 3))) + line[j:]
            elif op == "truncate":
                line = line[:i]
            elif op == "repeat":
                line = line[:j] + line[i:j] + line[j:]
            elif op == "digits":
                line = line[:i] + "".join(rng.choice("0123456789") for _ in range(rng.randint(1, 22))) + line[j:]
            else:
                line = line[:i] + rng.choice([" ", "  ", "\t", " \t "]) + line[i:]
        return line

    def blanks(line: str) -> str:
        out = [rng.choice(["  ", "\t", " \t", "\t ", " " * rng.randint(2, 40), "\t" * rng.randint(1, 20)])
               if ch == " " and rng.random() < 0.15 else ch for ch in line]
        pre = rng.choice(["", "", " " * rng.randint(1, 40), "\t" * rng.randint(1, 20), " \t" * rng.randint(1, 12)])
        return pre + "".join(out)

    def brackets(line: str) -> str:
        i = rng.randint(0, min(len(line), 60))
        return line[:i] + rng.choice(["[", "]", "[1]", " [2] ", "(", ")", "(42)", "-", "-7", "[12345678901]",
                                      "x" * rng.randint(1, 40)]) + line[i:]

    out = {"pool": "\n".join(pool) + "\n"}
    for k in range(40):
        out[f"mutated{k}"] = "\n".join(mutate(rng.choice(pool)) for _ in range(5000)) + rng.choice(["", "\n", "\r\n"])
    for k in range(20):
        out[f"eol{k}"] = "\n".join(rng.choice(pool) + rng.choice(["", "\r", "  ", "\t", " \r"]) for _ in range(3000))
    for k in range(30):
        out[f"blanks{k}"] = "\n".join(blanks(rng.choice(pool)) for _ in range(3000)) + "\n"
    for k in range(20):
        out[f"brackets{k}"] = "\n".join(brackets(rng.choice(pool)) for _ in range(3000)) + "\n"
    out["long"] = "\n".join(pool[:200] + ["x" * 70000, pool[5] + " " * 66000] + pool[200:400])
    return out


def _outcome(fn):
    try:
        return ("ok", fn())
    except T.TraceFormatError as err:
        return ("error", str(err), err.line, err.kind, err.text)


def results() -> dict:
    """Every result compared, by (input, mode)."""
    out = {}
    for name, text in texts().items():
        data = text.encode("utf-8", "replace")
        for strict in (False, True):
            out[(name, strict)] = _outcome(lambda: T.parse(data, strict=strict))
        lines = S.new_outputs(data.count(b"\n") + 2)
        rows, nxt = S.scan_lines(data, 0, lines)
        status = lines[0][:rows].copy()
        kept = status >= S.OTHER
        out[(name, "lines")] = (rows, nxt, status, lines[4][:rows][kept].copy(),
                                lines[1][:rows][kept, :S.I_FLAGSLEN].copy())
    for f in SHIPPED + sorted(p for p in FIXTURES.glob("*") if p.suffix != ".md"):
        for strict in (False, True):
            out[(f.name, strict)] = _outcome(lambda: T.read(f, strict=strict))
    # A fixed path: attrs["source"] is the path read.
    big = Path(tempfile.gettempdir()) / "reclaimlab-trace-reference-synthetic.trace"
    big.write_text(T.synthetic_trace(300_000, seed=1))
    out[("synthetic", False)] = _outcome(lambda: T.read(big))
    big.unlink()
    return out


def same(a, b) -> bool:
    if isinstance(a[0], int):  # scan_lines fields
        return a[:2] == b[:2] and all(np.array_equal(x, y) for x, y in zip(a[2:], b[2:]))
    if a[0] != b[0]:
        return False
    if a[0] == "ok":
        return a[1].identical(b[1]) and a[1].attrs == b[1].attrs
    return a == b


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("mode", choices=("save", "check"))
    ap.add_argument("--file", type=Path, default=Path(tempfile.gettempdir()) / "reclaimlab-trace-reference.pkl")
    args = ap.parse_args()
    res = results()
    if args.mode == "save":
        with open(args.file, "wb") as f:
            pickle.dump(res, f)
        print(f"saved {len(res)} reference results to {args.file}")
        return
    with open(args.file, "rb") as f:
        ref = pickle.load(f)
    differ = [key for key, value in ref.items() if key not in res or not same(value, res[key])]
    for key in differ[:20]:
        print("differs:", key)
    print(f"checked {len(ref)} reference results: {len(differ)} differ")
    raise SystemExit(1 if differ else 0)


if __name__ == "__main__":
    main()
