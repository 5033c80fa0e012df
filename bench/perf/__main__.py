"""``python -m bench.perf COMMAND``: the benchmarks listed in ``bench.perf``'s docstring."""

from bench.perf import main

raise SystemExit(main())
