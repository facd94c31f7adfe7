"""The error each refusal of the provider list rules (app/rules/provider_list.py) is answered
with (the error classes themselves still live in app/errors.py)."""

from __future__ import annotations
