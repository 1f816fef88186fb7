"""`python -m archlab` is the `archlab` command."""

from archlab.cli import main

raise SystemExit(main())
