# Sourced by the scripts that compare two commits (results/paper-budget/compare-commits.sh,
# results/perf/ab-throughput.sh): `two_worktrees OLD NEW` checks both out, detached, as
# "$work/old" and "$work/new" in a fresh temporary folder, removed with them when the script exits.
two_worktrees() {
  repo=$(git rev-parse --show-toplevel)
  work=$(mktemp -d)
  trap 'git -C "$repo" worktree remove --force "$work/old" >/dev/null 2>&1 || true
        git -C "$repo" worktree remove --force "$work/new" >/dev/null 2>&1 || true; rm -rf "$work"' EXIT
  git -C "$repo" worktree add -q --detach "$work/old" "$1"
  git -C "$repo" worktree add -q --detach "$work/new" "$2"
}
