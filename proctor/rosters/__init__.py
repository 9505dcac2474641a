"""Real-name roster upload, validation and approval (Art. 10)."""
