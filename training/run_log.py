"""The run's log (training/work/run/log.jsonl) as one history, and what the model card says about the run.

A run that is stopped and resumed restarts from its last checkpoint, so the steps between that
checkpoint and the stop appear twice in the log: the later line of a step is the one the model
kept (its elapsed_s and cpu_s continue from the checkpoint). Wall time spent on steps that were
redone is not in elapsed_s.
"""
import json
import os


def read_log(path):
    """(records, restarts): one record per step, the last written for that step, by step; and one
    {"at": step resumed from, "redone": steps repeated} per place where the step number went back."""
    with open(path) as f:
        lines = [json.loads(l) for l in f if l.strip()]
    if not lines:
        raise ValueError(f"{path}: the log is empty")
    by_step, restarts, prev = {}, [], None
    for i, r in enumerate(lines):
        if "step" not in r:
            raise ValueError(f"{path}: line {i + 1} has no step")
        if prev is not None and r["step"] <= prev:
            restarts.append({"at": r["step"] - 1, "redone": prev - r["step"] + 1})
        by_step[r["step"]] = r
        prev = r["step"]
    return [by_step[s] for s in sorted(by_step)], restarts


def hardware():
    """This machine's CPU as /proc/cpuinfo names it, and its cores (the run and the card are made here)."""
    model = "unknown CPU"
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("model name"):
                    model = line.split(":", 1)[1].strip()
                    break
    except OSError:
        pass
    return {"cpu": model, "cores": os.cpu_count()}


def run_summary(records, restarts):
    """Steps, tokens, wall and CPU time, mean tokens/s, restarts, from read_log's output."""
    last = records[-1]
    return {
        "steps": last["step"], "tokens": last["tokens"], "elapsed_s": last["elapsed_s"], "cpu_s": last.get("cpu_s"),
        "tokens_per_s": last["tokens"] / last["elapsed_s"] if last["elapsed_s"] else 0.0,
        "restarts": len(restarts), "redone_steps": sum(r["redone"] for r in restarts),
    }


def duration(seconds):
    """'47 minutes', '3.4 hours'."""
    return f"{seconds / 60:.0f} minutes" if seconds < 5400 else f"{seconds / 3600:.1f} hours"
