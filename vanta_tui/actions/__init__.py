"""Operator actions: each applies a core rule and writes the files and the journal in one step.

The desk, the CLI and the executor all call these; no action is written twice.
"""
