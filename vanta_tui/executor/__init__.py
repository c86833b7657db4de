"""The executor: sends approved orders exactly once and records what the broker says."""
