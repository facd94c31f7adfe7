"""Provider list publication (一(四)): the computed monthly list, publishing it, and XLSX."""

from __future__ import annotations

from typing import Annotated, Literal
from urllib.parse import quote

from fastapi import APIRouter, Query, Request, Response, status

from app.deps import RegistryOfficer, SessionDep, StaffPrincipal
from app.models.provider_lists import ProviderListPublication
from app.provider_lists import service
from app.provider_lists.schemas import ProviderListOut, ProviderListPublish, PublicationOut
from app.provider_lists.xlsx import XLSX_MEDIA_TYPE, render_xlsx
from app.routing import TransactionRetryRoute
from app.rules.months import Month
from app.schemas import DistrictCode, MonthText, problem_responses

router = APIRouter(
    prefix="/provider-lists",
    route_class=TransactionRetryRoute,
    tags=["provider lists"],
    responses=problem_responses(401, 403, 404, 422),
)

_XLSX_RESPONSE = {
    "description": "XLSX(中文表头:机构名称、类型、统一社会信用代码、变动、变动日期、原因)",
    "content": {XLSX_MEDIA_TYPE: {"schema": {"type": "string", "format": "binary"}}},
}


def _xlsx_url(request: Request, publication: ProviderListPublication | None) -> str | None:
    """Where a publication's XLSX is downloaded: the path of ``get_publication_xlsx`` below."""
    if publication is None:
        return None
    return str(request.app.url_path_for("get_publication_xlsx", publication_id=str(publication.id)))


def _xlsx(content: bytes, filename: str) -> Response:
    return Response(
        content,
        media_type=XLSX_MEDIA_TYPE,
        headers={
            "Content-Disposition": f"attachment; filename=\"{filename}\"; filename*=UTF-8''{quote(filename)}"
        },
    )


@router.get(
    "",
    response_model=ProviderListOut,
    summary="某区某月新增、退出的服务机构名单及公布情况(format=xlsx 下载表格)",
    responses={200: _XLSX_RESPONSE},
)
def get_provider_list(
    request: Request,
    session: SessionDep,
    caller: StaffPrincipal,
    district_code: Annotated[DistrictCode, Query()],
    month: Annotated[MonthText, Query(description="名单所列变动发生的月份")],
    format: Annotated[Literal["json", "xlsx"], Query()] = "json",
):
    listing = service.current_list(session, caller, district_code=district_code, month=Month.parse(month))
    out = ProviderListOut.of(listing, _xlsx_url(request, listing.publication))
    if format == "xlsx":
        district = service.district_name(session, district_code)
        return _xlsx(
            render_xlsx(district=district, listing=out, record=out.publication),
            f"provider-list-{district_code}-{out.month}.xlsx",
        )
    return out


@router.post(
    "",
    status_code=status.HTTP_201_CREATED,
    response_model=PublicationOut,
    summary="公布某区某月新增、退出的服务机构名单(每区每月一次)",
    responses=problem_responses(409),
)
def publish_provider_list(
    request: Request, body: ProviderListPublish, session: SessionDep, caller: RegistryOfficer
):
    publication = service.publish(
        session, caller, district_code=body.district_code, month=Month.parse(body.month)
    )
    return PublicationOut.of(publication, _xlsx_url(request, publication))


@router.get(
    "/{publication_id}.xlsx",
    response_class=Response,
    summary="已公布名单的 XLSX(公布时的快照)",
    responses={200: _XLSX_RESPONSE},
)
def get_publication_xlsx(request: Request, publication_id: str, session: SessionDep, caller: StaffPrincipal):
    publication = service.get_visible_publication(session, caller, publication_id)
    out = PublicationOut.of(publication, _xlsx_url(request, publication))
    district = service.district_name(session, publication.district_code)
    return _xlsx(
        render_xlsx(district=district, listing=out, record=out),
        f"provider-list-{publication.district_code}-{out.month}.xlsx",
    )


@router.get("/{publication_id}", response_model=PublicationOut, summary="名单公布记录(公布时的快照)")
def get_publication(request: Request, publication_id: str, session: SessionDep, caller: StaffPrincipal):
    publication = service.get_visible_publication(session, caller, publication_id)
    return PublicationOut.of(publication, _xlsx_url(request, publication))
