"""Importers: existing API descriptions and recordings → scenario YAML under ``configs/scenarios/``.

``openapi`` reads OpenAPI 3.0/3.1 descriptions, ``har`` reads browser recordings. Both
produce an :class:`ImportedScenario` that validates with the config loader and is
written by :func:`write_scenario`. They depend on ``config`` only (never on ``run``).
"""

from novaload.importers.common import ImportedScenario, default_output, write_scenario
from novaload.importers.har import import_har
from novaload.importers.openapi import import_openapi

__all__ = ["ImportedScenario", "default_output", "import_har", "import_openapi", "write_scenario"]
