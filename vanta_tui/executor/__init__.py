"""The executor: sends approved orders exactly once and records what the broker says.

`engine.Executor` runs one cycle; `runner.run_executor` is the long-running run every front
uses (lease, journal, cycles, stop); `lease.Lease` keeps it one per state directory.
"""
