"""Helpers for testing code that uses Pedigree (and for Pedigree's own tests and benchmarks)."""
