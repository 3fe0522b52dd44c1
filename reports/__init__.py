"""The outputs people read: the Excel workbook, the offline HTML report with fix review, the
runbooks for support staff, and ``findings.json``.

Reports consume one :class:`ReportInput` and never reach back into the board or the graph:
everything they show is carried by the findings (names, schools, evidence, household).
"""
