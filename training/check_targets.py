"""Check the release targets of issue 14 on the evaluated model and print PASS/FAIL per target.

Run: /usr/bin/python3 training/check_targets.py   (after evaluate.py; exit status 1 if any target fails)
Targets: held-out loss at least 0.5 nats/token below the previous model (routing-history/previous-model.json)
on english, german, python and c; every expert's first-choice share within 3%..35% in every layer (pooled
over the held-out sets). Whether the samples read as their domain is for a person to judge (model card).
"""
import argparse
import json
import os
import sys

from card_stats import HISTORY, HERE, targets


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--eval", default=os.path.join(HERE, "work", "eval.json"))
    ap.add_argument("--previous", default=os.path.join(HISTORY, "previous-model.json"))
    args = ap.parse_args()
    ev = json.load(open(args.eval))
    results = targets(ev, json.load(open(args.previous)))
    for name, ok, detail in results:
        print(f"{'PASS' if ok else 'FAIL'}  {name}: {detail}")
    failed = sum(not ok for _, ok, _ in results)
    print(f"{len(results) - failed} of {len(results)} targets pass (model at step {ev.get('step')})")
    sys.exit(1 if failed else 0)


if __name__ == "__main__":
    main()
