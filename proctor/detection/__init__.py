"""Detection of proxy study, bots and credit fraud: features, rules, anomaly model, flags."""
