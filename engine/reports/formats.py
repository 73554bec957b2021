"""A generated report written as XLSX (openpyxl: one worksheet per sheet), CSV (the sheets one
after another, each under its title) or JSON. Text that a spreadsheet would run as a formula is
written as text (``audit.export.spreadsheet_safe``), whoever typed it into a form."""
from __future__ import annotations

import csv
import io
import json
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, BinaryIO

from engine.audit.export import spreadsheet_safe
from engine.errors import InvalidInput

FORMATS = ("xlsx", "csv", "json")


@dataclass(frozen=True)
class Sheet:
    title: str
    columns: list[str]
    rows: list[list[Any]]


@dataclass(frozen=True)
class Document:
    """A generated report: its sheets of rows, the period it covers and what the reader should know."""

    name: str
    title: str
    start: datetime
    end: datetime
    sheets: list[Sheet]
    notes: list[str] = field(default_factory=list)


def write(document: Document, fmt: str, out: BinaryIO) -> None:
    writers = {"xlsx": _xlsx, "csv": _csv, "json": _json}
    if fmt not in writers:
        raise InvalidInput(f"没有 {fmt} 格式；可选：{', '.join(FORMATS)}。")
    writers[fmt](document, out)


def _cell(value: Any) -> Any:
    return spreadsheet_safe(value) if isinstance(value, str) else value


def _xlsx(document: Document, out: BinaryIO) -> None:
    from openpyxl import Workbook
    from openpyxl.styles import Font

    book = Workbook()
    book.remove(book.active)
    for sheet in document.sheets:
        ws = book.create_sheet(sheet.title[:31])
        ws.append([document.title])
        ws["A1"].font = Font(bold=True, size=13)
        ws.append(sheet.columns)
        for cell in ws[2]:
            cell.font = Font(bold=True)
        for row in sheet.rows:
            ws.append([_cell(value) for value in row])
        for note in document.notes:
            ws.append([])
            ws.append([note])
        for column, name in zip(ws.iter_cols(min_row=2, max_row=2), sheet.columns):
            ws.column_dimensions[column[0].column_letter].width = max(8, 2 * len(name) + 2)
    book.save(out)


def _csv(document: Document, out: BinaryIO) -> None:
    text = io.StringIO()
    writer = csv.writer(text)
    writer.writerow([document.title])
    for sheet in document.sheets:
        writer.writerow([])
        writer.writerow([sheet.title])
        writer.writerow(sheet.columns)
        writer.writerows([_cell(value) for value in row] for row in sheet.rows)
    for note in document.notes:
        writer.writerow([])
        writer.writerow([note])
    out.write(("\ufeff" + text.getvalue()).encode("utf-8"))  # the BOM: Excel then reads it as UTF-8


def _json(document: Document, out: BinaryIO) -> None:
    value = {"report": document.name, "title": document.title, "from": document.start.isoformat(),
             "to": document.end.isoformat(), "notes": document.notes,
             "sheets": [{"title": s.title, "columns": s.columns, "rows": s.rows} for s in document.sheets]}
    out.write(json.dumps(value, ensure_ascii=False, indent=2, default=str).encode("utf-8"))
