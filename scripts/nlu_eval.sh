#!/usr/bin/env bash
# NLU cross-validation (5 folds) on the training data, and on the same data without
# diacritics; prints weighted intent F1 and every intent's F1. Takes ~35 minutes on 2 cores.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/train.sh >/dev/null
export GOVBOT_ACTION_SERVER_URL="${GOVBOT_ACTION_SERVER_URL:-http://127.0.0.1:5055/webhook}"
OUT=var/nlu_eval
rm -rf "$OUT" && mkdir -p "$OUT/accented" "$OUT/folded"
cp nlu/data/nlu/*.yml nlu/generated/*.yml "$OUT/accented/"
cp nlu/variants/folded.yml nlu/data/nlu/regex.yml nlu/generated/synonyms.yml "$OUT/folded/"
for variant in accented folded; do
  echo "==> cross-validation: $variant"
  PYTHONPATH=. .venv-rasa/bin/rasa test nlu --nlu "$OUT/$variant" --config nlu/config.yml \
    --cross-validation --folds 5 --out "$OUT/results-$variant" >"$OUT/$variant.log" 2>&1
done
.venv/bin/python -m nlu.report "$OUT/results-accented" "$OUT/results-folded"
