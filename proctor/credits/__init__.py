"""Credit policy (Art. 12), the ledger and yearly quotas."""
