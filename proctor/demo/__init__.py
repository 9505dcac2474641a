"""Realistic demo data for a Hunan provincial academy."""
