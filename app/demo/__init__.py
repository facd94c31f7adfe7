"""Demo data: two districts with providers of every kind and a few hundred elders, the previous
month complete (redeemed, expired, with supervision examples) and the current month so far.

Deterministic (seeded) so that every newcomer sees the same numbers for the same clock. The demo
tokens below are published in the README; loading is refused outside the development environment.
"""
