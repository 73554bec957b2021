"""Business functions that diagrams call by name from script tasks, conditions and DMN entries.

Each module is named after the business it serves and marks its functions with
``@business_function``; :data:`FUNCTIONS` maps every name to its function and is what the script
sandbox (``engine.sandbox``) exposes. Functions are small, pure and JSON-friendly: they take and
return text, numbers, lists and dicts, as task data holds them. Policy numbers an analyst may change
(service levels, fee rates, the household-card deposit) live in the diagrams and DMN tables, not here.
"""
from tasks.registry import FUNCTIONS, business_function
from tasks import documents, household, periods, returns  # noqa: F401,E402 - importing registers them

__all__ = ["FUNCTIONS", "business_function"]
