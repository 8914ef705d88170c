"""Quire's building blocks: models, queries and content rules, with no HTTP."""
