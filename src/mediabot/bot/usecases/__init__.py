"""What the bot's handlers ask for, over ports: each use case with unit tests on fakes."""
