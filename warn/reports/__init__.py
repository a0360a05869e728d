"""What the store says after a storm: the drill summary (and, with issue 10, the incident reports)."""
