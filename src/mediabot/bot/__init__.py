"""The bot half: receives updates, offers choices, records requests and publishes jobs."""
