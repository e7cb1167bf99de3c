"""Fake Telegram fixtures: filled in by the bench work."""
