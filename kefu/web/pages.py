"""Server-rendered pages (Jinja2 + htmx). Filled in by the web shell."""

from __future__ import annotations

from fastapi import FastAPI


def mount_web(app: FastAPI) -> None:
    return None
