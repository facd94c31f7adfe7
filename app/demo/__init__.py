"""Demo data: two districts with providers of every kind and a few hundred elders.

Deterministic (seeded) so that every newcomer sees the same numbers. The demo tokens below are
published in the README; loading is refused outside the development environment.
"""
