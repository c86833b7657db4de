"""The headless command line: a thin front over the core and the store."""
