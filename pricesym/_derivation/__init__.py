"""Derivations as values, the registry of named entries, and loading them from files."""
