"""`python -m mediabot` is the `mediabot` command."""

from mediabot.cli import main

raise SystemExit(main())
