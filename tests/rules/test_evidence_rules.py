"""Which evidence completes a redemption (二(四)), which files are accepted, and the decision on
an upload."""

from __future__ import annotations

import pytest

from app.rules.evidence import (
    REQUIRED_EVIDENCE,
    AlreadyUploaded,
    FileUpload,
    NewEvidence,
    UploadFacts,
    clean_filename,
    content_type_or_refusal,
    decide_upload,
    evidence_complete,
    missing_kinds,
)
from app.rules.refusals import Refusal


@pytest.mark.parametrize(
    ("category", "present", "complete"),
    [
        ("home_community", set(), False),
        ("home_community", {"service_record", "receipt"}, False),
        ("home_community", {"id_photo", "service_record", "receipt", "redemption_proof"}, True),
        # 四(三): the photo of the ID card or 养老助残卡 taken before a home service is required too.
        ("home_community", {"service_record", "receipt", "redemption_proof"}, False),
        # An institution's residence agreement does not stand in for a home service's receipt.
        ("home_community", {"id_photo", "service_record", "residence_agreement", "redemption_proof"}, False),
        ("institution", {"service_record", "receipt", "redemption_proof"}, False),
        ("institution", {"residence_agreement", "service_record", "redemption_proof"}, True),
        ("institution", {"residence_agreement", "service_record", "redemption_proof", "receipt"}, True),
        # Nothing is required of the assessment category (paid by its own voucher).
        ("assessment", set(), True),
    ],
)
def test_complete_when_every_required_kind_is_present(category, present, complete):
    assert evidence_complete(category, present) is complete


def test_every_category_requires_the_service_record_and_the_redemption_proof():
    for kinds in REQUIRED_EVIDENCE.values():
        assert {"service_record", "redemption_proof"} <= set(kinds)


@pytest.mark.parametrize(
    ("category", "present", "missing"),
    [
        ("home_community", set(), ["id_photo", "service_record", "receipt", "redemption_proof"]),
        ("home_community", {"receipt", "id_photo"}, ["service_record", "redemption_proof"]),
        ("institution", {"residence_agreement", "service_record", "redemption_proof"}, []),
        ("assessment", set(), []),
    ],
)
def test_missing_kinds_in_the_required_order(category, present, missing):
    assert missing_kinds(category, present) == missing


# --- accepted files --------------------------------------------------------------------------
PDF = b"%PDF-1.7\n%%EOF\n"
JPEG = b"\xff\xd8\xff\xe0\x00\x10JFIF"
PNG = b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR"


@pytest.mark.parametrize(
    ("data", "declared", "expected"),
    [
        (PDF, "application/pdf", "application/pdf"),
        (JPEG, "image/jpeg", "image/jpeg"),
        (PNG, "image/png", "image/png"),
        # Aliases, parameters and case; a type that says nothing lets the bytes decide.
        (JPEG, "image/jpg", "image/jpeg"),
        (PDF, "Application/PDF; charset=binary", "application/pdf"),
        (PNG, None, "image/png"),
        (PDF, "application/octet-stream", "application/pdf"),
        (b"", "application/pdf", Refusal("EVIDENCE_EMPTY", "上传的文件为空")),
        (PDF + b"x" * 100, "application/pdf", Refusal("EVIDENCE_TOO_LARGE", "文件不得超过 64 字节")),
        (b"GIF89a", "image/gif", Refusal("EVIDENCE_TYPE_NOT_ALLOWED", "文件内容不是 PDF、JPEG 或 PNG")),
        (
            PNG,
            "image/jpeg",
            Refusal("EVIDENCE_TYPE_NOT_ALLOWED", "声明的类型 image/jpeg 与文件内容(image/png)不符"),
        ),
    ],
)
def test_content_type_or_refusal(data, declared, expected):
    assert content_type_or_refusal(data, declared, max_bytes=64) == expected


@pytest.mark.parametrize(
    ("filename", "kind", "content_type", "cleaned"),
    [
        ("服务记录.pdf", "service_record", "application/pdf", "服务记录.pdf"),
        ("C:\\fakepath\\receipt.jpg", "receipt", "image/jpeg", "receipt.jpg"),
        ("../../etc/passwd", "receipt", "application/pdf", "passwd"),
        ('a"b\x00c.png', "id_photo", "image/png", "a_b_c.png"),
        (None, "id_photo", "image/png", "id_photo.png"),
        (" . ", "receipt", "application/pdf", "receipt.pdf"),
        ("x" * 300 + ".pdf", "receipt", "application/pdf", ("x" * 300 + ".pdf")[-255:]),
    ],
)
def test_clean_filename(filename, kind, content_type, cleaned):
    assert clean_filename(filename, kind=kind, content_type=content_type) == cleaned


# --- the upload decision ---------------------------------------------------------------------
def facts(
    *,
    status: str = "posted",
    batch: str | None = None,
    present: frozenset[str] = frozenset(),
    was_complete: bool = False,
    already: bool = False,
) -> UploadFacts:
    return UploadFacts(
        redemption_status=status,
        category="home_community",
        was_complete=was_complete,
        batch_status=batch,
        present_kinds=present,
        already_uploaded=already,
    )


ALL_BUT_RECEIPT = frozenset({"id_photo", "service_record", "redemption_proof"})
RECEIPT = FileUpload("receipt", "收据.pdf", "application/pdf", PDF)


@pytest.mark.parametrize(
    ("case", "upload", "expected"),
    [
        pytest.param(
            facts(),
            RECEIPT,
            NewEvidence(
                "application/pdf", "收据.pdf", complete=False, completeness_changed=False, in_batch=False
            ),
            id="first-file",
        ),
        pytest.param(
            facts(present=ALL_BUT_RECEIPT),
            RECEIPT,
            NewEvidence(
                "application/pdf", "收据.pdf", complete=True, completeness_changed=True, in_batch=False
            ),
            id="completes-the-redemption",
        ),
        pytest.param(
            facts(present=ALL_BUT_RECEIPT | {"receipt"}, was_complete=True),
            RECEIPT,
            NewEvidence(
                "application/pdf", "收据.pdf", complete=True, completeness_changed=False, in_batch=False
            ),
            id="another-file-of-a-complete-one",
        ),
        pytest.param(
            facts(present=ALL_BUT_RECEIPT, batch="civil_review"),
            RECEIPT,
            NewEvidence(
                "application/pdf", "收据.pdf", complete=True, completeness_changed=True, in_batch=True
            ),
            id="in-a-batch-under-civil-review",
        ),
        pytest.param(facts(already=True), RECEIPT, AlreadyUploaded(), id="same-content-again"),
        pytest.param(
            facts(batch="finance_review"),
            RECEIPT,
            Refusal("EVIDENCE_LOCKED", "该笔核销所在的结算批次已提交民政审核,不能再补充凭证"),
            id="batch-submitted",
        ),
        pytest.param(
            facts(batch="paid", already=True),
            RECEIPT,
            Refusal("EVIDENCE_LOCKED", "该笔核销所在的结算批次已提交民政审核,不能再补充凭证"),
            id="locked-before-duplicate",
        ),
        pytest.param(
            facts(status="reversed"),
            RECEIPT,
            Refusal("ALREADY_REVERSED", "已撤销的核销不能上传凭证"),
            id="reversed",
        ),
        # The file is checked first.
        pytest.param(
            facts(status="reversed"),
            FileUpload("receipt", "x.pdf", "application/pdf", b""),
            Refusal("EVIDENCE_EMPTY", "上传的文件为空"),
            id="file-before-redemption",
        ),
    ],
)
def test_decide_upload(case, upload, expected):
    assert decide_upload(case, upload, max_bytes=1024) == expected
