"""The actions' errors: a refusal names the place and the reason; nothing was written."""

from __future__ import annotations

from vanta_tui.store.errors import PlanRefused


class ActionRefused(PlanRefused):
    """A rule of the core refused the action; nothing was written. The message says why.

    A `PlanRefused` (so a `StoreError`): raised inside a plan, it leaves `Journal.act` as
    it is, and handlers of the store's errors catch it too."""


__all__ = ["ActionRefused"]
