"""Validation of programme workbooks (``xlflow validate``).

* :mod:`~xlflow.validation.schema` — JSON Schema (Draft 2020-12, one compiled
  validator per process), every error mapped to its cell with a Russian message;
* ``rules_*`` — domain rules, one small function per rule (:mod:`~xlflow.validation.rules`
  runs them all);
* :mod:`~xlflow.validation.validate` — ``validate_file(path)``, ``validate_files(paths)``,
  ``validate_records(data, cells)``;
* :mod:`~xlflow.validation.annotate` — the user's own workbook with faulty cells
  highlighted, notes and an «Ошибки» sheet.

Import the submodules directly; this package imports nothing so that other
commands do not pay for jsonschema.
"""
