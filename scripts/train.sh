#!/usr/bin/env bash
# Train the Rasa model when its inputs changed (content hash), else reuse nlu/models/<hash>.tar.gz.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup_rasa.sh
.venv/bin/python -m nlu.generate
HASH=$(cat nlu/config.yml nlu/domain.yml nlu/components.py core/text.py \
       $(find nlu/data nlu/generated -name '*.yml' | sort) | sha256sum | cut -c1-16)
MODEL="nlu/models/${HASH}.tar.gz"
if [ -f "$MODEL" ]; then
  echo "==> Rasa model up to date: $MODEL"
  exit 0
fi
echo "==> training the Rasa model (inputs changed)"
export GOVBOT_ACTION_SERVER_URL="${GOVBOT_ACTION_SERVER_URL:-http://127.0.0.1:5055/webhook}"
PYTHONPATH=. .venv-rasa/bin/rasa train --config nlu/config.yml --domain nlu/domain.yml \
  --data nlu/data nlu/generated --out nlu/models --fixed-model-name "$HASH"
# Keep the three newest models.
ls -t nlu/models/*.tar.gz 2>/dev/null | tail -n +4 | xargs -r rm -f
