"""The worker half: takes jobs, downloads, sends, records."""
