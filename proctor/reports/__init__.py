"""Management reports (Art. 14, 15): figures for an org node and year, progress, evaluation."""
