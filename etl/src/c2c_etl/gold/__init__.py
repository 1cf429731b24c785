"""Gold: business-ready tables built from silver (pure functions, no I/O)."""
