"""Audit a written derivation: every partial of a markdown file, in the notation of the seed derivation,
checked numerically against the local partial of the graph its own definitions build (docs/audit.md)."""

import lstm.installed  # noqa: F401  (first: is `autograd` our engine?)
from lstm_autograd.audit.report import Report, audit, audit_text

__all__ = ["Report", "audit", "audit_text"]
