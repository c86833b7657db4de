"""Brokers behind one interface: the built-in paper broker; Alpaca and ccxt (lazily imported)."""
