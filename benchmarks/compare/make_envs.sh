#!/usr/bin/env bash
# Create one virtual environment per peer from its pinned requirements file.
#
# Why separate envs: the peers pin conflicting versions of numpy, ConfigSpace, torch...;
# each method process runs in its own env and talks to the harness over JSON on stdin/stdout,
# so rung's own .venv stays clean.
#
# Usage (from anywhere):
#   benchmarks/compare/make_envs.sh            # every envs/<peer>.txt
#   benchmarks/compare/make_envs.sh optuna     # only the named peers
#   PYTHON=python3.11 benchmarks/compare/make_envs.sh --force optuna   # rebuild
#
# Adding a peer (e.g. syne-tune==0.13.0, dehb, smac): drop envs/<peer>.txt with pinned lines,
# then write methods/<peer>_method.py speaking protocol.md. An env is rebuilt only when its
# requirements file changed (a hash is kept in .envs/<peer>/.requirements.sha256).
set -euo pipefail
HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
PYTHON="${PYTHON:-python3}"
FORCE=0
if [[ "${1:-}" == "--force" ]]; then FORCE=1; shift; fi
if [[ $# -gt 0 ]]; then PEERS=("$@"); else
  PEERS=(); for f in "$HERE"/envs/*.txt; do PEERS+=("$(basename "$f" .txt)"); done
fi
mkdir -p "$HERE/.envs"
for peer in "${PEERS[@]}"; do
  req="$HERE/envs/$peer.txt"
  env="$HERE/.envs/$peer"
  [[ -f "$req" ]] || { echo "make_envs: no requirements file $req" >&2; exit 2; }
  sum="$(sha256sum "$req" | cut -d' ' -f1)"
  if [[ $FORCE -eq 0 && -x "$env/bin/python" && "$(cat "$env/.requirements.sha256" 2>/dev/null)" == "$sum" ]]; then
    echo "make_envs: $peer is up to date ($env)"; continue
  fi
  echo "make_envs: building $peer in $env with $("$PYTHON" --version 2>&1)"
  rm -rf "$env"
  "$PYTHON" -m venv "$env"
  "$env/bin/python" -m pip install --quiet --upgrade pip
  "$env/bin/python" -m pip install --quiet -r "$req"
  "$env/bin/python" -m pip freeze > "$env/.freeze.txt"
  echo "$sum" > "$env/.requirements.sha256"
  echo "make_envs: $peer ready: $(grep -v '^#' "$req" | tr '\n' ' ')"
done
