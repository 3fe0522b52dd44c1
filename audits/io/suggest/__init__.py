"""A header mapping suggested from an export whose file names and headers are not the
contract's (``connect-audit mapping suggest``).

Every file or sheet is read whole (the id columns are compared as sets), and its first
``SAMPLE_ROWS`` rows profiled: what share of each column's values look like emails, phone
numbers, dates, postal codes, yes/no flags, the contract's allowed values, ids. Each header is
scored against each contract column of a table from its name (synonyms, compared fuzzily) and
its content; the headers of one file are then assigned to a table's columns as an assignment
problem (scipy's ``linear_sum_assignment``), so two headers never take one column, and the
files to tables the same way. Which file holds which table and which columns are ids that
name another table's records feed each other, so the two steps repeat until they agree: a
column whose values are all student ids of the students file is a ``student_id``, and a file
with two such columns is the sibling links.

The result is written as the mapping TOML that :func:`audits.io.mapping.read_mapping` reads, each
line commented with its evidence and a confidence, for the analyst to check and edit.

* :mod:`.profiles` -- reading each file or sheet and profiling its columns' content.
* :mod:`.scoring` -- scoring headers against contract columns, files against tables, and
  assigning them: :func:`~.scoring.suggest_mapping`.
* :mod:`.rendering` -- the suggestion as mapping TOML, and what it left unplaced.
"""
