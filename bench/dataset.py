"""The district-month data set shared by bench/settlement and bench/dashboard: providers, elders,
vouchers, redemptions and their evidence files of one district, plus noise in a second district,
loaded set-based (INSERT … SELECT FROM generate_series, no rows through Python).

Ids are deterministic (md5(text)::uuid), so that redemptions name their elder, voucher and
provider without a join.

Redemption g (1-based) of a month belongs to elder (g - 1) / per_elder + 1 (+ an offset) and
provider 1 + g % providers. Providers g % 4 = 0 are institutions: every other of their
redemptions is institutional care (item 2, 40 %); everything else is a home/community item
(7 上门送餐, 11 上门洗浴, 13 手部清洁护理, 45 上门探访) at 50 %. Every seventh has some LTCI payment.
Two shapes of amounts and service times:

- ``settlement`` (bench/settlement): amounts 1000 … 13999 fen (institutional care 1000 … 17499
  fen), served at any second of the month. Most home amounts are above the catalogue's reference
  maximum and a third are served at night: fine for a settlement build, not for the anomaly rules.
- ``catalogue`` (bench/dashboard): home amounts inside the item's catalogue reference range,
  served 08:00–17:59 Beijing, except planted ones: every ``price_every``-th redemption 20 % above
  the range (PRICE_ABOVE_REFERENCE) and every ``night_every``-th at 23:xx (NIGHT_HOME_SERVICE).

A month can also be loaded as still running (``open_until``): its vouchers active with their
face value, its redemptions served before that instant.

Both benchmarks take the data set's command-line options from ``add_dataset_arguments``.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from common import run_sql  # noqa: E402

OTHER_DISTRICT = "110108"

LOAD_PROVIDERS = """
INSERT INTO providers (id, district_code, name, kind, credit_code, parent_id, status, api_key_hash,
                       created_at, created_by)
SELECT md5('provider-' || d || '-' || g)::uuid, d,
       CASE WHEN g % 4 = 0 THEN '压测养老机构' ELSE '压测养老驿站' END || g,
       CASE WHEN g % 4 = 0 THEN 'institution' ELSE 'station' END,
       '91' || d || 'MA' || lpad(g::text, 8, '0'),
       NULL, 'listed', encode(sha256(('bench-' || d || '-' || g)::bytea), 'hex'),
       now() - interval '300 days', 'bench'
FROM generate_series(1, CAST(:n AS integer)) AS g, (VALUES (:district), (:other)) AS t(d)
"""

LOAD_ELDERS = """
INSERT INTO elders (id, district_code, name, id_number, birth_date, residency, disability_level,
                    assessed_on, benefits, status, eligible, ineligible_reasons,
                    eligibility_checked_on, created_at, created_by, approved_at)
SELECT md5('elder-' || :d || '-' || g)::uuid, :d, '压测老人' || g,
       :d || lpad(g::text, 12, '0'),  -- 18 characters, unique (no valid check character)
       date '1936-01-01' + (g % 10000),
       (ARRAY['beijing_hukou', 'beijing_hukou', 'residence_permit', 'institution_resident'])[1 + g % 4],
       (ARRAY['moderate', 'severe', 'complete'])[1 + g % 3],
       date '2026-01-01' + (g % 100), '[]'::json, 'approved', true, '[]'::json, :month_start,
       now() - interval '200 days', 'bench', now() - interval '199 days'
FROM generate_series(CAST(:first AS integer), CAST(:n AS integer)) AS g
"""

# An ended month's vouchers are expired, the rest released (balance 0); a running month's are
# active with their face value.
LOAD_VOUCHERS = """
INSERT INTO vouchers (id, district_code, elder_id, kind, month, face_value_fen, balance_fen,
                      status, valid_from, valid_until, issued_at, closed_at, issue_job_run_id)
SELECT md5('voucher-' || :d || '-' || :month_text || '-' || g)::uuid, :d,
       md5('elder-' || :d || '-' || g)::uuid,
       'monthly', :month_start, :face,
       CASE WHEN CAST(:voucher_status AS varchar) = 'expired' THEN 0 ELSE CAST(:face AS bigint) END,
       CAST(:voucher_status AS varchar), :valid_from, :valid_until, :valid_from,
       CASE WHEN CAST(:voucher_status AS varchar) = 'expired' THEN CAST(:valid_until AS timestamptz) END,
       NULL
FROM generate_series(CAST(:first AS integer), CAST(:n AS integer)) AS g
"""

# The amount and served_at of redemption g, per shape (see the module docstring). The
# expressions see g, institutional and the month parameters.
SHAPES = {
    "settlement": {
        # ten deductions stay under the 80,000 fen cap (40 % of 17,499 is at most 7,000)
        "amount": "CASE WHEN institutional THEN 1000 + (g * 7919) % 16500 ELSE 1000 + (g * 7919) % 13000 END",
        "served_at": ":valid_from + make_interval(secs => (g * 104729) % :month_seconds)",
    },
    "catalogue": {
        # items by g % 4: 7 (300-1000; from 301 so that LTCI 300 leaves something), 11
        # (20000-40000), 13 (1000-3000), 45 (1000-2000); the planted ones 20 % above the maximum
        "amount": """CASE WHEN institutional THEN 1000 + (g * 7919) % 16500
            WHEN g % :price_every = 0 THEN (ARRAY[1000, 40000, 3000, 2000])[1 + g % 4] * 6 / 5
            ELSE CASE g % 4 WHEN 0 THEN 301 + (g * 7919) % 700 WHEN 1 THEN 20000 + (g * 7919) % 20001
                            WHEN 2 THEN 1000 + (g * 7919) % 2001 ELSE 1000 + (g * 7919) % 1001 END
            END""",
        "served_at": """:valid_from + make_interval(
            days => ((g * 7919) % :days)::integer,
            hours => CASE WHEN g % :night_every = 0 THEN 23 ELSE (8 + g % 10)::integer END,
            mins => (g % 60)::integer)""",
    },
}

LOAD_REDEMPTIONS = """
INSERT INTO redemptions (id, district_code, month, voucher_id, elder_id, provider_id, item,
                         category, rate, amount_fen, ltci_paid_fen, eligible_fen, deduction_fen,
                         self_pay_fen, served_at, receipt_no, warnings, status, evidence_complete,
                         created_at, reversed_at)
SELECT gen_random_uuid(), :d, :month_start, voucher_id, elder_id, provider_id, item, category,
       rate, amount, ltci, amount - ltci, round((amount - ltci) * rate)::bigint,
       (amount - ltci) - round((amount - ltci) * rate)::bigint, served_at,
       'R' || :month_text || '-' || lpad(g::text, 10, '0'), '[]'::json, CAST(:status AS varchar),
       -- as the uploads of LOAD_EVIDENCE would have left it (same receipt-number hash)
       CAST(:status AS varchar) = 'posted'
           AND (hashtext('R' || :month_text || '-' || lpad(g::text, 10, '0')) & 1023) < :share_1024,
       served_at + interval '1 minute',
       CASE WHEN CAST(:status AS varchar) = 'reversed' THEN served_at + interval '2 hours' END
FROM (
    SELECT g,
           md5('voucher-' || :d || '-' || :month_text || '-' || e)::uuid AS voucher_id,
           md5('elder-' || :d || '-' || e)::uuid AS elder_id,
           md5('provider-' || :d || '-' || p)::uuid AS provider_id,
           institutional AS institutional,
           CASE WHEN institutional THEN 2 ELSE (ARRAY[7, 11, 13, 45])[1 + g % 4] END AS item,
           CASE WHEN institutional THEN 'institution' ELSE 'home_community' END AS category,
           CASE WHEN institutional THEN 0.400000 ELSE 0.500000 END::numeric(8, 6) AS rate,
           {amount} AS amount,
           CASE WHEN g % 7 = 0 THEN 300 ELSE 0 END AS ltci,
           {served_at} AS served_at
    FROM (
        SELECT g, (g - 1) / :per_elder + 1 + :elder_offset AS e, 1 + g % :providers AS p,
               (1 + g % :providers) % 4 = 0 AND g % 2 = 0 AS institutional
        FROM generate_series(1::bigint, CAST(:n AS bigint)) AS g
    ) AS base
) AS r
"""


# The three kinds of evidence each category requires (app.models.evidence.REQUIRED_EVIDENCE),
# for the redemptions whose receipt number hashes under the share.
LOAD_EVIDENCE = """
INSERT INTO redemption_evidence (id, redemption_id, provider_id, district_code, kind, filename,
                                 content_type, size_bytes, sha256, storage_key, uploaded_at,
                                 uploaded_by)
SELECT gen_random_uuid(), r.id, r.provider_id, r.district_code, k.kind, k.kind || '.pdf',
       'application/pdf', 20000 + length(r.receipt_no), md5(r.receipt_no || k.kind) || md5(k.kind),
       'bench/' || r.receipt_no || '/' || k.kind, r.created_at + interval '1 hour', 'bench'
FROM redemptions r
JOIN (VALUES ('institution', 'residence_agreement'), ('institution', 'service_record'),
             ('institution', 'redemption_proof'), ('home_community', 'service_record'),
             ('home_community', 'receipt'), ('home_community', 'redemption_proof')) AS k(category, kind)
  ON k.category = r.category
WHERE r.district_code = :d AND r.month = :month_start AND r.status = 'posted'
  AND (hashtext(r.receipt_no) & 1023) < :share_1024
"""


def add_dataset_arguments(
    parser: argparse.ArgumentParser, *, redemptions: int, noise_other: int, noise_reversed: int
) -> None:
    """The options of the data set, read off ``args`` by the loaders below. The keyword arguments
    are the defaults that differ between the benchmarks (each states its scale in its docstring)."""
    parser.add_argument(
        "--redemptions",
        type=int,
        default=redemptions,
        help=f"posted redemptions of the district-month (default {redemptions:,})",
    )
    parser.add_argument("--providers", type=int, default=200, help="providers of the district (default 200)")
    parser.add_argument("--per-elder", type=int, default=10, help="redemptions per elder (default 10)")
    parser.add_argument(
        "--district", default="110105", help=f"the district (default 110105; not {OTHER_DISTRICT}, the noise)"
    )
    parser.add_argument(
        "--previous",
        type=int,
        default=100_000,
        help="redemptions of the month before, settled (its batch built) first: settlement_items is not "
        "empty, as in production after the first month (default 100,000; 0 = the first settlement ever)",
    )
    parser.add_argument(
        "--noise-other",
        type=int,
        default=noise_other,
        help=f"posted redemptions of {OTHER_DISTRICT} a month (default {noise_other:,})",
    )
    parser.add_argument(
        "--noise-reversed",
        type=int,
        default=noise_reversed,
        help=f"reversed redemptions of the district (default {noise_reversed:,})",
    )
    parser.add_argument(
        "--evidence-share", type=float, default=0.9, help="share with complete evidence (default 0.9)"
    )


def check_dataset_arguments(args: argparse.Namespace) -> None:
    """What argparse does not check: the district must not be the noise district."""
    if args.district == OTHER_DISTRICT:
        raise SystemExit(f"choose a district other than {OTHER_DISTRICT} (the noise district)")


def month_params(month, face: int, args, *, open_until=None) -> dict:
    """Bind parameters of a month's load. ``open_until``: the month is still running at that
    instant; services fall in its whole days before it."""
    end = month.ends_at() if open_until is None else open_until
    days = month.last_day.day if open_until is None else max(1, (open_until - month.starts_at()).days)
    return {
        "month_start": month.first_day,
        "month_text": str(month),
        "valid_from": month.starts_at(),
        "valid_until": month.ends_at(),
        "month_seconds": max(1, int((end - month.starts_at()).total_seconds()) - 3600),
        "days": days,
        "per_elder": args.per_elder,
        "providers": args.providers,
        "face": face,
        "voucher_status": "expired" if open_until is None else "active",
        # planted anomalies of the catalogue shape; never with the default (2^62)
        "price_every": getattr(args, "price_every", None) or 2**62,
        "night_every": getattr(args, "night_every", None) or 2**62,
    }


def load_providers(engine, args) -> float:
    return run_sql(
        engine,
        f"providers: {args.providers} in {args.district} and in {OTHER_DISTRICT}",
        LOAD_PROVIDERS,
        {"n": args.providers, "district": args.district, "other": OTHER_DISTRICT},
    )


def load_elders(engine, month, counts: dict[str, int]) -> float:
    """``counts``: approved elders to load per district (numbered from 1)."""
    seconds = 0.0
    for district, n in counts.items():
        if n:
            seconds += run_sql(
                engine,
                f"elders of {district}",
                LOAD_ELDERS,
                {"d": district, "first": 1, "n": n, "month_start": month.first_day},
            )
    return seconds


def load_month(
    engine,
    month,
    face: int,
    args,
    *,
    posted: int,
    reversed_: int,
    other: int,
    evidence: float,
    shape: str = "settlement",
    open_until=None,
    voucher_elders: int | None = None,
) -> float:
    """Vouchers and redemptions of one month (the elders exist already), set-based.
    ``voucher_elders``: vouchers for that many elders of the district (default: those who redeem)."""
    params = month_params(month, face, args, open_until=open_until)
    statement = LOAD_REDEMPTIONS.format(**SHAPES[shape])
    seconds = 0.0
    elders = -(-posted // args.per_elder)
    for district, n in (
        (args.district, voucher_elders or elders + -(-reversed_ // args.per_elder)),
        (OTHER_DISTRICT, -(-other // args.per_elder)),
    ):
        if n:
            seconds += run_sql(
                engine,
                f"vouchers of {district} for {month}",
                LOAD_VOUCHERS,
                {**params, "d": district, "first": 1, "n": n},
            )
    share_1024 = round(1024 * evidence)
    for label, district, n, status, offset, share in (
        (f"posted redemptions of {args.district} in {month}", args.district, posted, "posted", 0, share_1024),
        (
            f"reversed redemptions of {args.district} in {month} (noise)",
            args.district,
            reversed_,
            "reversed",
            elders,
            0,
        ),
        (f"posted redemptions of {OTHER_DISTRICT} in {month} (noise)", OTHER_DISTRICT, other, "posted", 0, 0),
    ):
        if n:
            seconds += run_sql(
                engine,
                label,
                statement,
                {
                    **params,
                    "d": district,
                    "n": n,
                    "status": status,
                    "elder_offset": offset,
                    "share_1024": share,
                },
            )
    if evidence > 0:
        seconds += run_sql(
            engine,
            f"evidence (3 files each) for {100 * evidence:.0f}% of {args.district}'s redemptions in {month}",
            LOAD_EVIDENCE,
            {**params, "d": args.district, "share_1024": share_1024},
        )
    return seconds
