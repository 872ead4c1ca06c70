"""Realistic sample data for tests, demos and benchmarks (``xlflow sample``).

* :func:`generate_school` — pure and deterministic: a fictional school's
  registry records and the filled records of every programme copy, in the
  shape of ``schemas/programme.schema.json``; with ``error_rate`` a share of
  the copies carries realistic mistakes, listed in ``SampleSchool.mistakes``.
* :func:`write_samples` — the registry workbook and ``count`` filled copies of
  one school in a folder (a process pool over all cores for many files).
* :func:`write_municipality_samples` — several schools of one municipality,
  one subfolder each, for ``collect``/``merge`` tests and the demo.

The work is split over ``sample_people`` (banks, pairs and groups),
``sample_fill`` (terms, status, pair rows), ``sample_content`` (passport,
diagnostics, roadmap, rubric, reflection), ``sample_mistakes`` (injected
mistakes), ``sample_school`` (the generator) and ``sample_files`` (workbooks).
"""
from __future__ import annotations

from xlflow.writing.sample_files import (
    MunicipalitySample, SampleResult, write_municipality_samples, write_samples,
)
from xlflow.writing.sample_mistakes import KINDS as MISTAKE_KINDS
from xlflow.writing.sample_mistakes import Mistake
from xlflow.writing.sample_people import Programme
from xlflow.writing.sample_school import SampleCopy, SampleSchool, compute_summary, generate_school

__all__ = [
    "MISTAKE_KINDS", "Mistake", "MunicipalitySample", "Programme", "SampleCopy", "SampleResult",
    "SampleSchool", "compute_summary", "generate_school", "write_municipality_samples", "write_samples",
]
