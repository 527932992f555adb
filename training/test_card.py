"""The model card's figures and the release targets: hand-checked cases, and a whole card written from
the repository's routing history and previous-model.json (the run's log and eval.json made up to match).

Run: cd training && /usr/bin/python3 -m unittest -v test_card
"""
import json
import os
import tempfile
import unittest

import numpy as np

import card_stats
import make_card
from run_log import duration, read_log, run_summary

# Two domains, one layer, two tokens, top-2 of 4 experts (the case of engine/analysis/routing-history.test.ts).
FINAL = np.array([0, 1, 2, 3, 0, 2, 1, 3], dtype=np.uint8).reshape(2, 1, 2, 2)
EARLY = np.array([1, 0, 2, 0, 3, 1, 1, 3], dtype=np.uint8).reshape(2, 1, 2, 2)


def write_log(path, lines):
    with open(path, "w") as f:
        for r in lines:
            f.write(json.dumps(r) + "\n")


def rec(step, elapsed):
    return {"step": step, "loss": 3.0, "aux": 2.0, "lr": 1e-3, "step_s": 1.0, "elapsed_s": elapsed, "cpu_s": elapsed / 2,
            "tokens": step * 4096, "tokens_per_s": step * 4096 / elapsed}


class Saturation(unittest.TestCase):
    def test_hand_case(self):
        # Common experts per token: 2, 1, 0, 2 of 2 -> 5/8; first choices agree on tokens 2 and 4 -> 1/2.
        self.assertEqual(card_stats.saturation(EARLY, FINAL, 2).tolist(), [5 / 8])
        self.assertEqual(card_stats.saturation(EARLY, FINAL, 1).tolist(), [0.5])
        self.assertEqual(card_stats.saturation(FINAL, FINAL, 2).tolist(), [1.0])

    def test_repository_history(self):
        index, routing = card_stats.load_history()
        table = card_stats.saturation_table(index, routing)
        self.assertEqual([c["step"] for c in table], sorted(c["step"] for c in index["checkpoints"]))
        self.assertEqual(table[-1]["topk"], [1.0] * index["layers"])
        self.assertEqual(table[-1]["first"], [1.0] * index["layers"])
        for c in table[:-1]:
            for x in c["topk"] + c["first"]:
                self.assertTrue(0 <= x < 1)


class Log(unittest.TestCase):
    def test_a_resumed_run_counts_each_step_once(self):
        with tempfile.TemporaryDirectory() as d:
            p = os.path.join(d, "log.jsonl")
            # Steps 1..5, killed, resumed from the checkpoint at step 3: steps 4 and 5 again, then 6.
            write_log(p, [rec(1, 10), rec(2, 20), rec(3, 30), rec(4, 40), rec(5, 50), rec(4, 41), rec(5, 52), rec(6, 63)])
            records, restarts = read_log(p)
        self.assertEqual([r["step"] for r in records], [1, 2, 3, 4, 5, 6])
        self.assertEqual(records[3]["elapsed_s"], 41)
        self.assertEqual(restarts, [{"at": 3, "redone": 2}])
        s = run_summary(records, restarts)
        self.assertEqual((s["steps"], s["tokens"], s["elapsed_s"], s["restarts"], s["redone_steps"]), (6, 6 * 4096, 63, 1, 2))
        self.assertAlmostEqual(s["tokens_per_s"], 6 * 4096 / 63)
        self.assertEqual(duration(4000), "67 minutes")
        self.assertEqual(duration(4 * 3600), "4.0 hours")


def made_up_eval(index, routing, step):
    """eval.json for the checkpoint at `step`: its recorded losses, its first-choice shares pooled over domains."""
    ck = next(c for c in index["checkpoints"] if c["step"] == step)
    first = routing[step][..., 0]  # (domains, layers, tokens)
    E = index["experts"]
    pooled = [np.bincount(first[:, l].ravel(), minlength=E) / first[:, l].size for l in range(index["layers"])]
    per_domain = {d: {"tokens": 1000, "loss": ck["heldout_loss"][d], "perplexity": float(np.exp(ck["heldout_loss"][d])),
                      "unigram_loss": 6.0, "unigram_perplexity": float(np.exp(6.0)),
                      "first_share": [(np.bincount(first[i, l], minlength=E) / first.shape[2]).tolist() for l in range(index["layers"])],
                      "second_share": [[1 / E] * E] * index["layers"]} for i, d in enumerate(index["domains"])}
    return {"step": step, "schedule": dict(index["run"], betas=[0.9, 0.95], weight_decay=0.1, clip=1.0, seed=1337),
            "domains": per_domain, "pooled": {"first_share": [p.tolist() for p in pooled]},
            "samples": {"english": {"prompt": "And God said", "t0": " unto Moses", "t08": " unto them"}}}


class Targets(unittest.TestCase):
    def test_pass_and_fail(self):
        previous = {"heldout_loss": {"english": 4.0, "german": 4.0, "python": 4.0, "c": 4.0, "math": 1.0}}
        ev = {"domains": {"english": {"loss": 3.5}, "german": {"loss": 3.49}, "python": {"loss": 3.51}, "c": {"loss": 2.0}, "math": {"loss": 1.5}},
              "pooled": {"first_share": [[0.03, 0.35, 0.62], [0.02, 0.49, 0.49], [0.1, 0.36, 0.54]]}}
        got = {name.split(" >=")[0].split(" first")[0]: ok for name, ok, _ in card_stats.targets(ev, previous)}
        self.assertEqual(got, {"held-out loss english": True, "held-out loss german": True, "held-out loss python": False,
                               "held-out loss c": True, "layer 0": False, "layer 1": False, "layer 2": False})
        ev["pooled"]["first_share"] = [[0.03, 0.35, 0.2, 0.2, 0.22]]
        self.assertTrue(card_stats.targets(ev, previous)[-1][1])

    def test_a_domain_without_a_loss_fails(self):
        got = card_stats.targets({"domains": {}, "pooled": {"first_share": []}}, {"heldout_loss": {}})
        self.assertEqual([ok for _, ok, _ in got], [False] * 4)


class Card(unittest.TestCase):
    def test_a_card_from_the_repository_history(self):
        index, routing = card_stats.load_history()
        last = max(routing)
        ev = made_up_eval(index, routing, last)
        previous = json.load(open(os.path.join(card_stats.HISTORY, "previous-model.json")))
        with tempfile.TemporaryDirectory() as d:
            p = os.path.join(d, "log.jsonl")
            write_log(p, [rec(s, 2.0 * s) for s in range(1, last + 1)] + [rec(s, 2.0 * s + 1) for s in range(last - 9, last + 1)])
            records, restarts = read_log(p)
            cfg = json.load(open(os.path.join(make_card.MODEL_DIR, "config.json")))
            src = json.load(open(os.path.join(make_card.HERE, "data", "sources.json")))
            text, readme = make_card.card(cfg, 23_000_000, src, ev, records, restarts, {"cpu": "AMD EPYC", "cores": 2},
                                          index, routing, previous)
            with self.assertRaisesRegex(ValueError, "the routing history ends at step"):
                make_card.card(cfg, 1, src, dict(ev, step=last + 1), records[:-1] + [dict(records[-1], step=last + 1)], restarts,
                               {"cpu": "x", "cores": 2}, index, routing, previous)
            readme_path = os.path.join(d, "README.md")
            with open(readme_path, "w") as f:
                f.write("`npm run train` (<!-- train-time -->about an hour<!-- /train-time -->).\n")
            self.assertTrue(make_card.update_readme_time(readme_path, readme))
            self.assertEqual(open(readme_path).read(), f"`npm run train` (<!-- train-time -->{readme}<!-- /train-time -->).\n")
        self.assertNotIn("about an hour", text)
        tokens = last * 4096
        self.assertIn(f"**{tokens / 1e6:.1f} M tokens**", text)
        self.assertIn("2 cores of an AMD EPYC CPU", text)
        self.assertIn("stopped and resumed 1 time from its checkpoints (10 steps redone", text)
        self.assertIn(f"{tokens / (2.0 * last + 1):,.0f} tokens/s on average", text)
        # Old against new, per domain, from previous-model.json and the checkpoint's losses.
        ck = next(c for c in index["checkpoints"] if c["step"] == last)
        for dom, old in previous["heldout_loss"].items():
            self.assertIn(f"| {dom} | {old:.3f} | {ck['heldout_loss'][dom]:.3f} | {ck['heldout_loss'][dom] - old:+.3f} |", text)
        # The saturation tables: one row per milestone, 100% at the final one in every layer.
        self.assertIn(f"The final checkpoint is step {last:,}", text)
        self.assertIn(f"| {last:,} | {ck['percent']:g}% | {ck['tokens_trained'] / 1e6:.2f} M | " + " | ".join(["100.0%"] * 6) + " |", text)
        early = card_stats.saturation_table(index, routing)[0]
        self.assertIn(" | ".join(f"{100 * x:.1f}%" for x in early["first"]), text)
        # The utilisation range per layer, and the targets table.
        mn, mx = card_stats.share_ranges(ev["pooled"]["first_share"])[0]
        self.assertIn(f"| {100 * mn:.1f}% | {100 * mx:.1f}% |", text)
        self.assertIn("## Release targets", text)


if __name__ == "__main__":
    unittest.main()
