"""Columns of values sent to PostgreSQL in bulk, with no Python object per element on the way.

psycopg2 sends a Python list as ``ARRAY[1, 2, ...]``: it adapts every element
in Python, and the server parses an expression of as many terms. A text
literal ``'{1,2,...}'`` cast to ``int[]`` is built with one ``join`` and read by
PostgreSQL's ``array_in``: about five times faster for 200,000 integers. Text
columns whose values repeat (labels) go as a short list of distinct labels and
an integer code per row. And the base of the named arrays the stages hand each
other (:class:`Columns`).
"""

import dataclasses
import math

import numpy as np


def int_array_literal(values):
    """``values`` (integers, any shape) as a PostgreSQL array literal, to cast with ``::int[]``."""
    array = np.asarray(values)
    if array.size and array.dtype.kind not in 'iub':
        raise TypeError(f'integers expected, not {array.dtype}')
    return '{%s}' % ','.join(map(str, array.astype(np.int64).ravel().tolist()))


def float_array_literal(values):
    """``values`` (numbers, any shape) as a PostgreSQL array literal, to cast with ``::float8[]``;
    a value that is not finite (NaN, infinite) goes as NULL. Each value is written in full
    (Python's shortest round-trip form), so PostgreSQL reads back the same double."""
    array = np.asarray(values, dtype=np.float64).ravel()
    return '{%s}' % ','.join(repr(value) if math.isfinite(value) else 'NULL' for value in array.tolist())


def encode_labels(*columns):
    """One list of the distinct non-empty labels of ``columns``, and each column as codes into it.

    :return: (labels, [codes per column]): codes are 1-based positions in
        ``labels`` (PostgreSQL's array subscripts) and 0 for an empty label,
        which a subscript turns into NULL
    """
    labels, index, codes = [], {}, []
    for column in columns:
        column_codes = np.zeros(len(column), dtype=np.int64)
        for position, label in enumerate(column):
            if label:
                code = index.get(label)
                if code is None:
                    labels.append(label)
                    code = index[label] = len(labels)
                column_codes[position] = code
        codes.append(column_codes)
    return labels, codes


def shift_codes(codes, offset):
    """Codes into a list appended after ``offset`` other labels (0 stays 0)."""
    codes = np.asarray(codes, dtype=np.int64)
    return np.where(codes > 0, codes + offset, 0)


class Columns:
    """Base of the named arrays the stages hand each other (frozen dataclasses of numpy columns,
    see ``stages``): checks and conversions: every field annotated ``np.ndarray`` is a
    1-D column, all of one length, of the dtype ``_DTYPES`` gives (int64 by default)."""

    _DTYPES = {}

    def __post_init__(self):
        length = None
        for field in self._column_fields():
            column = np.asarray(getattr(self, field.name), dtype=self._DTYPES.get(field.name, np.int64))
            if column.ndim != 1:
                raise ValueError(f"{field.name} must be a 1-D array, not of shape {column.shape}")
            if length is not None and len(column) != length:
                raise ValueError(f"{field.name} has {len(column)} rows, not {length}")
            length = len(column)
            object.__setattr__(self, field.name, column)  # frozen: set once, here

    @classmethod
    def _column_fields(cls):
        return [field for field in dataclasses.fields(cls) if field.type in (np.ndarray, "np.ndarray")]

    @classmethod
    def column_names(cls):
        """Names of the columns, in the order of :meth:`from_matrix` and :meth:`to_matrix`."""
        return tuple(field.name for field in cls._column_fields())

    def __len__(self):
        return len(getattr(self, self._column_fields()[0].name))

    def take(self, index):
        """The rows ``index`` (a mask or positions), other fields unchanged."""
        return dataclasses.replace(self, **{name: getattr(self, name)[index] for name in self.column_names()})

    @classmethod
    def from_matrix(cls, matrix, **others):
        """From a (n, k) matrix whose columns are :meth:`column_names`, in order; ``others``: the other fields."""
        matrix = np.asarray(matrix)
        names = cls.column_names()
        if matrix.ndim != 2 or matrix.shape[1] != len(names):
            raise ValueError(f"a matrix of {len(names)} columns is expected, not of shape {matrix.shape}")
        return cls(**dict(zip(names, matrix.T, strict=True)), **others)

    def to_matrix(self):
        """The (n, k) matrix of the columns, in the order of :meth:`column_names`
        (int64 when they are all integers or booleans, else float64)."""
        return np.column_stack([getattr(self, name) for name in self.column_names()])
