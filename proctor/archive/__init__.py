"""The electronic learning archive (Art. 13)."""
