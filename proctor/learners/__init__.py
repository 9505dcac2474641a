"""Learner records within management authority."""
