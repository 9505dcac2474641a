"""Behaviour simulator: honest learners and fraud archetypes driven through the real tracker."""
