"""Operator actions: each applies a core rule and writes the files and the journal in one step.

The desk, the CLI and the executor all call these; no action is written twice. Importing
this package registers the journal's tables derived from the actions' events
(`projections`), so every journal opened through the actions keeps them.
"""

from vanta_tui.actions.projections import register_all

register_all()
