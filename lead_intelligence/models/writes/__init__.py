"""The passes' SQL writes, one module per table: the statements that write a table by SQL live in
its module, as small named functions taking ``env`` and numpy columns, whoever calls them (the
stages of ``models/``, the bridges).

The ORM writes records one by one with their computes and tracking; the passes write tens of
thousands of rows per chunk, so they write by SQL in set-based statements (see
``docs/architecture.md``). Keeping each table's statements in one module keeps its columns, its
conventions for NULL (-1 or 0 in the integer columns) and its invariants in one place.
"""
