#!/usr/bin/env bash
# The seed report's load test (hey, Debian package `hey`), swept over
# concurrency against a running server. Non-streaming requests of up to
# 100 tokens, as in the seed.
# Usage: bench/server/hey_sweep.sh [URL] [REQUESTS] [MAX_TOKENS]
#        (defaults http://127.0.0.1:7777, 200, 100)
set -euo pipefail
url=${1:-http://127.0.0.1:7777}
n=${2:-200}
max_tokens=${3:-100}
body='{"model":"claude-3-sonnet-20240229","max_tokens":'"$max_tokens"',"messages":[{"role":"user","content":"Hello, performance test!"}]}'
for c in 1 5 10 20 50; do
    echo "== concurrency $c, $n requests =="
    hey -n "$n" -c "$c" -m POST -H 'Content-Type: application/json' -d "$body" \
        "$url/v1/messages" | grep -E 'Requests/sec|Average|Slowest|50% in|95% in|99% in|\[[0-9]+\]'
done
