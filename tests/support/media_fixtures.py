"""Media fixtures: filled in by the bench work."""
