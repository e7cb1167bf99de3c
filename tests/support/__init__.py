"""Test-bench parts shared by every test package."""
