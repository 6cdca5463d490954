#!/usr/bin/env bash
# Builds libgt and runs the seed demo (examples/garbage_texts.c) on the
# embedded log backend: the text log by default, one line a message as the
# seed's texts read; --json for the JSON lines instead. No account, no
# network. Ends with how to get the same messages by SMS or email.
set -euo pipefail
cd "$(dirname "$0")/.."
format=text
case "${1:-}" in
  "") ;;
  --json) format=json ;;
  -h | --help)
    echo "usage: bash scripts/demo.sh [--json]"
    exit 0
    ;;
  *)
    echo "usage: bash scripts/demo.sh [--json]" >&2
    exit 2
    ;;
esac
. scripts/deps.sh
gt_need_packages "${GT_BUILD_PACKAGES[@]}"
cmake -S . -B build/demo -DCMAKE_BUILD_TYPE=RelWithDebInfo -DGT_BUILD_TESTS=OFF \
  -DGT_BUILD_BENCH=OFF >/dev/null
cmake --build build/demo -j"$(nproc)" --target garbage_texts >/dev/null
GT_BACKEND=${GT_BACKEND:-log} GT_LOG_FORMAT=$format ./build/demo/garbage_texts
if [ "${GT_BACKEND:-log}" = log ]; then
  echo "Same by SMS: GT_BACKEND=sms GT_SMS_BASE_URL=xxxxx.api.infobip.com" \
    "GT_SMS_API_KEY=your-key GT_SMS_TO=+41793026727 bash scripts/demo.sh;" \
    "by email: GT_BACKEND=email GT_EMAIL_URL=smtps://smtp.example.org:465" \
    "GT_EMAIL_USERNAME=you GT_EMAIL_PASSWORD=secret" \
    "GT_EMAIL_FROM=you@example.org GT_EMAIL_TO=you@example.org" \
    "bash scripts/demo.sh (every key: docs/configuration.md)"
fi
