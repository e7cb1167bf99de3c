"""Entry points that wire concrete parts together: bot, worker, the all-in-one run."""
