#!/usr/bin/env bash
# Finish the training run: everything after train.py, from the run's checkpoints to a released model.
#
#   bash training/finish_run.sh              when training/work/run/ has ended (ckpt.pt at the schedule's last step)
#   bash training/finish_run.sh --no-tests   the same without the test step
#   bash training/finish_run.sh --partial    on a run that has not ended (a dry run, in a copy of the repository only:
#                                            it overwrites the shipped model with the run's last checkpoint)
#
# Steps: routing_history.py (milestones not yet recorded), export.py (models/mixscope-tiny/ and
# tests/fixtures/default-model-parity.json), evaluate.py (training/work/eval.json, training-curve.svg),
# make_card.py (models/mixscope-tiny/README.md, README.md's training time), check_targets.py (PASS/FAIL
# per target of issue 14), then the tests that pin the default model and the routing history
# (both engines). Exit status: 0 when every step ran and every target passes.
set -uo pipefail
cd "$(dirname "$0")/.."
PY=/usr/bin/python3
RUN=training/work/run
partial=0 tests=1
for a in "$@"; do
  case "$a" in
    --partial) partial=1 ;;
    --no-tests) tests=0 ;;
    -h|--help) sed -n '2,14p' "$0"; exit 0 ;;
    *) echo "finish_run.sh: unknown option $a (see --help)" >&2; exit 2 ;;
  esac
done
die() { echo "finish_run.sh: $*" >&2; exit 1; }
step() { echo; echo "== $*"; }

[ -f "$RUN/ckpt.pt" ] && [ -f "$RUN/schedule.json" ] && [ -f "$RUN/log.jsonl" ] \
  || die "no run in $RUN (ckpt.pt, schedule.json, log.jsonl): run this where training/train.py ran"
pid=$(cat /tmp/mixscope-train.pid 2>/dev/null || true)
if [ -n "$pid" ] && kill -0 "$pid" 2>/dev/null && [ "$(readlink -f /proc/"$pid"/cwd 2>/dev/null)" = "$(pwd -P)" ] && [ $partial = 0 ]; then
  die "train.py (pid $pid) is still running in this repository: wait for it to finish"
fi
read -r at steps < <($PY -c "
import json, torch
print(torch.load('$RUN/ckpt.pt', map_location='cpu')['step'], json.load(open('$RUN/schedule.json'))['steps'])") \
  || die "cannot read $RUN/ckpt.pt or schedule.json"
if [ "$at" != "$steps" ]; then
  [ $partial = 1 ] || die "the run is at step $at of $steps: let it finish (or --partial, in a copy, for a dry run)"
  echo "finish_run.sh: --partial: the run is at step $at of $steps; finishing from step $at"
fi
[ -f "$RUN/milestones/step-$(printf %06d "$at").pt" ] \
  || die "no milestone at step $at ($RUN/milestones/): the routing history's final checkpoint must be the exported model"

step "routing history (milestones not yet recorded)"
$PY training/routing_history.py || die "routing_history.py failed"
$PY -c "
import json, sys
last = json.load(open('training/data/routing-history/index.json'))['checkpoints'][-1]['step']
sys.exit(0 if last == $at else 'the routing history ends at step %d, not at the exported step $at: remove later .bin files or rerun' % last)" || exit 1

step "export (models/mixscope-tiny, tests/fixtures/default-model-parity.json)"
$PY training/export.py || die "export.py failed"
step "evaluate (training/work/eval.json, models/mixscope-tiny/training-curve.svg)"
$PY training/evaluate.py || die "evaluate.py failed"
step "model card (models/mixscope-tiny/README.md, README.md)"
$PY training/make_card.py || die "make_card.py failed"

status=0
if [ $tests = 1 ]; then
  step "tests: the default model on both engines against the new parity fixture, the routing history and its notebook"
  timeout 3600 npx vitest run tests/model/default-model.test.ts tests/model/default-model-webgpu.test.ts \
    engine/analysis/routing-history.test.ts tests/browser/routing-history.test.ts --maxWorkers=1 || { echo "TESTS FAILED"; status=1; }
  (cd training && timeout 600 $PY -m unittest -q test_card) || { echo "TESTS FAILED (training/test_card.py)"; status=1; }
fi

step "targets of issue 14"
$PY training/check_targets.py || status=1
step "changed files (commit them)"
git status --short -- models tests/fixtures training/data README.md
exit $status
