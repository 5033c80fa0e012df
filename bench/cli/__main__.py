"""``python -m bench.cli``: the ``gpo-bench`` command."""

from bench.cli import main

raise SystemExit(main())
