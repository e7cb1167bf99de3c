"""What the bot's handlers ask for: one use case a module, over the ports in `ports`."""
