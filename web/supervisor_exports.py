"""The supervisor's exports (SPEC §11): inspections, statistics and warnings as CSV and XLSX, formula-safe."""

from .supervisor import bp  # noqa: F401
