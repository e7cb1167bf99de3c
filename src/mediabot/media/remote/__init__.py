"""Remote media read through the private-network guard, and served to ffmpeg from a cache."""
