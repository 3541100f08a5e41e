"""Loading data files over HTTP: the body is the CSV or Parquet file itself."""

from __future__ import annotations

import tempfile
from pathlib import Path
from typing import Any, Literal

from fastapi import APIRouter, HTTPException, Request
from fastapi.concurrency import run_in_threadpool

from commutepass.domain.roles import Role
from commutepass.kit.gates import AppDep, require_roles
from commutepass.loads.schemas import LoadOut
from commutepass.loads.service import load_file

router = APIRouter(prefix="/v1/loads", tags=["loading"], dependencies=[require_roles(Role.ADMIN)])

MAX_UPLOAD = 2 * 1024**3
PARQUET_TYPES = {
    "application/vnd.apache.parquet",
    "application/x-parquet",
    "application/octet-stream",
}


@router.post(
    "/{kind}",
    response_model=LoadOut,
    summary="Load a travel, nat, itinerary or risk file",
    openapi_extra={
        "requestBody": {
            "required": True,
            "content": {
                "text/csv": {"schema": {"type": "string"}},
                "application/vnd.apache.parquet": {"schema": {"type": "string", "format": "binary"}},
            },
        }
    },
)
async def load(kind: Literal["travel", "nat", "itinerary", "risk"], request: Request, app: AppDep) -> Any:
    """Send the file as the body (Content-Type text/csv or application/vnd.apache.parquet).
    Bad rows come back in ``rejects`` with row number, field and reason; good rows load."""
    content_type = request.headers.get("content-type", "").split(";")[0].strip().lower()
    if content_type == "text/csv":
        suffix = ".csv"
    elif content_type in PARQUET_TYPES:
        suffix = ".parquet"
    else:
        raise HTTPException(
            415,
            f"send text/csv or application/vnd.apache.parquet, not '{content_type or 'nothing'}'",
        )
    upload_dir = app.settings.data_dir / "uploads"
    upload_dir.mkdir(parents=True, exist_ok=True)
    with tempfile.NamedTemporaryFile(dir=upload_dir, suffix=suffix, delete=False) as handle:
        path = Path(handle.name)
        size = 0
        async for block in request.stream():
            size += len(block)
            if size > MAX_UPLOAD:
                handle.close()
                path.unlink(missing_ok=True)
                raise HTTPException(413, f"the file is larger than {MAX_UPLOAD} bytes")
            handle.write(block)
    try:
        summary = await run_in_threadpool(load_file, app, kind, path)
        body = summary.as_dict()
        body["file"] = f"upload{suffix}"
        body["rejects"] = [
            {"row": r.row, "field": r.field, "reason": r.en, "reason_zh": r.zh} for r in summary.rejects
        ]
        return body
    finally:
        path.unlink(missing_ok=True)
        Path(str(path) + ".rejects.csv").unlink(missing_ok=True)
