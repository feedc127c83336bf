"""How far the yardstick's verdicts depend on its judge: recognizers trained as the shipped one but for their seed
score the same sets of clips (and the garbage rows). Prints one Markdown table: per set, FID over its floor, action
and style accuracy, precision and recall under each recognizer (the shipped one first).

    python scripts/judge_seeds.py DIR [DIR ...] [--seeds 1 2] [--cache weights/judges]

DIRs: generated sets as `python -m core evaluate clips` reads them (e.g. `python -m core generate --like val-takes
--out out/eval/diffusion-val`). The recognizers of seeds 1 and 2 are committed in weights/judges: a judge
trained again on another CPU differs in its weights, and so in its verdicts (weights/judges/README.md). Those of
other seeds are trained once (as `train-recognizer --seed N`, about 12 minutes each on 2 cores) into --cache and
reused.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from core.data.corpus import load_corpus  # noqa: E402
from core.evaluation.recognizer import Recognizer  # noqa: E402
from core.evaluation.suite import DEFAULT_RECOGNIZER, evaluator, fit_recognizer, load_folder  # noqa: E402

JUDGES = DEFAULT_RECOGNIZER.parent / "judges"  # the committed judges of seeds 1 and 2
COLUMNS = ("fid_ratio", "action_acc", "style_acc", "precision", "recall")


def judge(corpus, seed: int, cache: Path) -> Recognizer:
    """The shipped recognizer for seed 0, else one trained alike with `seed` (cached)."""
    if seed == 0:
        return Recognizer.load(DEFAULT_RECOGNIZER)
    path = cache / f"recognizer_seed{seed}.safetensors"
    if not path.is_file():
        rec, _ = fit_recognizer(corpus, seed=seed)
        cache.mkdir(parents=True, exist_ok=True)
        rec.save(path)
    return Recognizer.load(path)


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("folders", nargs="+")
    p.add_argument("--seeds", nargs="+", type=int, default=[1, 2], help="recognizer seeds besides the shipped 0")
    p.add_argument("--cache", default=str(JUDGES), help="folder of the recognizers of other seeds")
    args = p.parse_args()
    sets = [load_folder(f) for f in args.folders]  # a bad folder fails before any training
    corpus = load_corpus("bandai-namco")
    seeds = [0, *args.seeds]
    table: dict[str, list[dict]] = {}
    for seed in seeds:
        ev = evaluator(corpus, judge(corpus, seed, Path(args.cache)))
        for scored in ev.reference_rows(like=sets[0])[1:] + [ev.score(s) for s in sets]:
            table.setdefault(scored.row["set"], []).append(scored.row)
    print(f"Each cell: recognizer seed {' / '.join(map(str, seeds))} (seed 0 is weights/recognizer.safetensors).\n")
    print("| set | " + " | ".join(COLUMNS) + " |")
    print("|---|" + "---|" * len(COLUMNS))
    for name, rows in table.items():
        cells = [" / ".join(f"{r[c]:.3g}" if r[c] is not None else "-" for r in rows) for c in COLUMNS]
        print(f"| {name} | " + " | ".join(cells) + " |")
    return 0


if __name__ == "__main__":
    sys.exit(main())
