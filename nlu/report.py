"""Print the cross-validation figures written by `rasa test nlu --cross-validation`."""

from __future__ import annotations

import json
import sys
from pathlib import Path


def intent_report(results: Path) -> dict:
    return json.loads((results / "intent_report.json").read_text())


def main(accented: str, folded: str) -> int:
    a, f = intent_report(Path(accented)), intent_report(Path(folded))
    wa, wf = a["weighted avg"]["f1-score"], f["weighted avg"]["f1-score"]
    print(f"weighted intent F1: {wa:.3f} (with diacritics), {wf:.3f} (without); "
          f"difference {abs(wa - wf):.3f}")
    names = sorted(k for k, v in a.items() if isinstance(v, dict) and "support" in v
                   and k not in {"weighted avg", "macro avg", "micro avg", "accuracy"})
    print(f"{'intent':<20}{'F1':>7}{'F1 no diacritics':>18}{'support':>9}")
    for n in names:
        print(f"{n:<20}{a[n]['f1-score']:>7.3f}{f.get(n, {}).get('f1-score', 0):>18.3f}"
              f"{a[n]['support']:>9}")
    worst = min(a[n]["f1-score"] for n in names)
    ok = wa >= 0.93 and worst >= 0.85 and abs(wa - wf) <= 0.03
    print("targets (weighted >= 0.93, every intent >= 0.85, within 0.03):",
          "met" if ok else "NOT met")
    return 0


if __name__ == "__main__":
    raise SystemExit(main(*sys.argv[1:3]))
