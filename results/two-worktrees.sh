# Sourced by the scripts that compare two commits (results/paper-budget/compare-commits.sh,
# results/perf/ab-throughput.sh, results/perf/ab-gpo.sh): `two_worktrees OLD NEW` checks both out,
# detached, as "$work/old" and "$work/new" in a fresh temporary folder, removed with them when the
# script exits.
two_worktrees() {
  repo=$(git rev-parse --show-toplevel)
  work=$(mktemp -d)
  trap 'git -C "$repo" worktree remove --force "$work/old" >/dev/null 2>&1 || true
        git -C "$repo" worktree remove --force "$work/new" >/dev/null 2>&1 || true; rm -rf "$work"' EXIT
  git -C "$repo" worktree add -q --detach "$work/old" "$1"
  git -C "$repo" worktree add -q --detach "$work/new" "$2"
}

# `alternate ROUNDS <<'PY' ... PY`: runs the Python program on standard input ROUNDS times from each
# worktree in turn, old then new, one process each (so drifts in machine load hit both alike), with
# the side ("old" or "new") and the round as its arguments; its standard error is dropped.
alternate() {
  local program
  program=$(cat)
  for r in $(seq "$1"); do
    for side in old new; do
      (cd "$work" && PYTHONPATH="$work/$side" python -c "$program" "$side" "$r" 2>/dev/null)
    done
  done
}
