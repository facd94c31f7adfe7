"""Evidence endpoints: upload (provider), list and download (provider: own; staff in scope),
and the redemptions of a settlement batch that still lack required evidence."""

from __future__ import annotations

import logging
from collections.abc import Iterator
from typing import Annotated
from urllib.parse import quote

from fastapi import APIRouter, Depends, File, Form, Query, Request, Response, UploadFile, status
from fastapi.responses import StreamingResponse
from fastapi.routing import APIRoute
from starlette.exceptions import HTTPException

from app.config import get_settings
from app.deps import AnyPrincipal, ProviderTerminal, SessionDep, StaffPrincipal
from app.evidence import service
from app.evidence.errors import EvidenceFileMissing, EvidenceTooLarge
from app.evidence.schemas import EvidenceKind, EvidenceOut, MissingEvidencePage
from app.evidence.storage import get_storage
from app.models.evidence import RedemptionEvidence
from app.models.redemptions import Redemption
from app.redemptions.lookups import get_visible_redemption
from app.routing import TransactionRetryRoute
from app.rules.evidence import ALLOWED_CONTENT_TYPES
from app.schemas import MAX_OFFSET, problem_responses
from app.settlements.service import get_visible_batch

log = logging.getLogger(__name__)

# Room for the multipart framing and the ``kind`` field around the file itself.
FORM_OVERHEAD_BYTES = 64 * 1024
_CHUNK = 64 * 1024


class UploadRoute(APIRoute):
    """Refuses a body larger than the evidence limit before it is parsed (by Content-Length,
    and by counting for a chunked body), so nobody can spool gigabytes to the server's disk.

    Not a ``TransactionRetryRoute``: a retry would re-read a request body already consumed.
    """

    def get_route_handler(self):
        handler = super().get_route_handler()

        async def limited_handler(request: Request) -> Response:
            max_bytes = get_settings().evidence.max_bytes
            limit = max_bytes + FORM_OVERHEAD_BYTES
            too_large = EvidenceTooLarge(f"文件不得超过 {max_bytes} 字节")
            length = request.headers.get("content-length", "")
            if length.isdigit() and int(length) > limit:
                raise too_large
            receive = request.receive
            received = 0

            async def counting_receive():
                nonlocal received
                message = await receive()
                if message["type"] == "http.request":
                    received += len(message.get("body", b""))
                    if received > limit:
                        raise too_large
                return message

            try:
                return await handler(Request(request.scope, counting_receive))
            except HTTPException as error:
                # FastAPI reports a failure while parsing the form as 400 "error parsing the body".
                if isinstance(error.__cause__, EvidenceTooLarge):
                    raise error.__cause__ from None
                raise

        return limited_handler


router = APIRouter(
    tags=["evidence"],
    route_class=TransactionRetryRoute,
    responses=problem_responses(401, 403, 404, 422),
)


def _out(request: Request, evidence: RedemptionEvidence) -> EvidenceOut:
    """The record with the path its file downloads from (``download_evidence`` below)."""
    content_url = request.app.url_path_for("download_evidence", evidence_id=str(evidence.id))
    return EvidenceOut.of(evidence, str(content_url))


def own_redemption(redemption_id: str, session: SessionDep, caller: ProviderTerminal) -> Redemption:
    return get_visible_redemption(session, caller, redemption_id)


def visible_redemption(redemption_id: str, session: SessionDep, caller: AnyPrincipal) -> Redemption:
    return get_visible_redemption(session, caller, redemption_id)


def visible_evidence(evidence_id: str, session: SessionDep, caller: AnyPrincipal) -> RedemptionEvidence:
    return service.get_visible_evidence(session, caller, evidence_id)


def upload_evidence(
    request: Request,
    caller: ProviderTerminal,
    redemption: Annotated[Redemption, Depends(own_redemption)],
    session: SessionDep,
    kind: Annotated[EvidenceKind, Form(description="凭证类型")],
    file: Annotated[UploadFile, File(description="PDF、JPEG 或 PNG 文件")],
    response: Response,
):
    max_bytes = get_settings().evidence.max_bytes
    data = file.file.read(max_bytes + 1)
    outcome = service.upload(
        session,
        caller,
        redemption,
        kind=kind.value,
        filename=file.filename,
        declared_type=file.content_type,
        data=data,
        max_bytes=max_bytes,
        storage=get_storage(),
    )
    if not outcome.created:
        response.status_code = status.HTTP_200_OK
    return _out(request, outcome.evidence)


router.add_api_route(
    "/redemptions/{redemption_id}/evidence",
    upload_evidence,
    methods=["POST"],
    status_code=status.HTTP_201_CREATED,
    response_model=EvidenceOut,
    summary="上传核销凭证(服务情况、收费单据、核销凭证、入住协议、身份证或养老助残卡照片;PDF/JPEG/PNG)",
    description=(
        "服务机构为本机构的核销上传凭证,直到所在结算批次提交民政审核为止。"
        "同一核销、同一类型、相同内容的文件只记录一次:重复上传返回原记录(200)。"
    ),
    responses={200: {"model": EvidenceOut, "description": "相同内容已上传过"}, **problem_responses(409)},
    route_class_override=UploadRoute,
)


@router.get(
    "/redemptions/{redemption_id}/evidence",
    response_model=list[EvidenceOut],
    summary="核销凭证列表(服务机构:本机构;工作人员:本区)",
)
def list_evidence(
    request: Request, redemption: Annotated[Redemption, Depends(visible_redemption)], session: SessionDep
):
    return [_out(request, e) for e in service.list_for_redemption(session, redemption)]


@router.get("/evidence/{evidence_id}", response_model=EvidenceOut, summary="凭证详情")
def get_evidence(request: Request, evidence: Annotated[RedemptionEvidence, Depends(visible_evidence)]):
    return _out(request, evidence)


def _content_disposition(filename: str) -> str:
    fallback = filename.encode("ascii", "replace").decode("ascii").replace("?", "_")
    return f"attachment; filename=\"{fallback}\"; filename*=UTF-8''{quote(filename, safe='')}"


@router.get(
    "/evidence/{evidence_id}/content",
    response_class=Response,
    summary="下载凭证文件(以存储的文件类型返回)",
    responses={
        200: {
            "description": "凭证文件",
            "content": {t: {"schema": {"type": "string", "format": "binary"}} for t in ALLOWED_CONTENT_TYPES},
        }
    },
)
def download_evidence(evidence: Annotated[RedemptionEvidence, Depends(visible_evidence)]):
    try:
        handle = get_storage().open(evidence.storage_key)
    except (FileNotFoundError, ValueError):
        log.error("evidence file missing from storage: %s", evidence.id)
        raise EvidenceFileMissing(
            "该凭证的登记记录存在,但文件已不在凭证存储中;请联系运维人员从备份恢复,或由服务机构重新上传"
        ) from None

    def chunks() -> Iterator[bytes]:
        with handle:
            while chunk := handle.read(_CHUNK):
                yield chunk

    return StreamingResponse(
        chunks(),
        media_type=evidence.content_type,
        headers={
            "Content-Length": str(evidence.size_bytes),
            "Content-Disposition": _content_disposition(evidence.filename),
            "ETag": f'"{evidence.sha256}"',
            "X-Content-Type-Options": "nosniff",
            "Cache-Control": "private, no-store",
        },
    )


@router.get(
    "/settlements/{settlement_id}/missing-evidence",
    response_model=MissingEvidencePage,
    summary="结算批次中缺少必需凭证的核销",
)
def missing_evidence(
    settlement_id: str,
    session: SessionDep,
    caller: StaffPrincipal,
    limit: Annotated[int, Query(ge=1, le=1000)] = 100,
    offset: Annotated[int, Query(ge=0, le=MAX_OFFSET)] = 0,
):
    batch = get_visible_batch(session, caller, settlement_id)
    items, total = service.missing_in_batch(session, batch, limit=limit, offset=offset)
    return MissingEvidencePage(
        settlement_id=str(batch.id), items=items, total=total, limit=limit, offset=offset
    )
