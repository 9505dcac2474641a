"""Disciplinary review (Art. 16): flags become cases, a person decides, the learner can answer."""
