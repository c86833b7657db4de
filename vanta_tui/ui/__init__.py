"""The Textual desk: a thin front over the core, the store and the operator actions."""
