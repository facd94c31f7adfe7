"""``python -m app.cli``: the same as the ``voucher`` console script."""

from app.cli import app

app()
