"""The desk's five panes: vaults, overlays, queue, positions, PnL."""
