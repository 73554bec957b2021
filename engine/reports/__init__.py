"""What the reports count: facts folded from the event log (``facts``), the manuals' periodic
reports built from them (``documents``) and written as XLSX, CSV or JSON (``formats``)."""
