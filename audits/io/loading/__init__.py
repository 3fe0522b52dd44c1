"""Reading a board export (data contract section 1) into a :class:`~audits.model.board.Board`.

An export is a folder of ``<table>.csv`` files or one ``.xlsx`` workbook with a sheet per
table. Every value is read as text, exactly as exported (``000123`` keeps its zeros), and
every problem with the export is collected before stopping, so the user sees the whole list
at once in one :class:`~audits.model.errors.UserError`.

* :mod:`.folder` -- the export as a whole: :func:`~.folder.load_board` (read, normalise,
  validate) and :func:`~.folder.read_export` (the frames as read, with their sources).
* :mod:`.csv` -- one CSV table: quoting, ragged rows, NUL bytes, bounded reads.
* :mod:`.sniffing` -- what a file's bytes are: encodings, byte-order marks, delimiters.
* :mod:`.workbook` -- an ``.xlsx`` workbook, read with calamine.
* :mod:`.tables` -- what every reader shares: the :class:`~.tables.Export`, contract column
  names on a table read, and the loop over the contract's tables.
* :mod:`.sizes` -- sizes in the words a message gives them.
"""
