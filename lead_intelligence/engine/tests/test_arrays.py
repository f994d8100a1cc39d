import numpy as np
import pytest
from engine import arrays


def test_int_array_literal_round_trips_as_postgresql_reads_it():
    assert arrays.int_array_literal([3, -1, 0, 2**40]) == '{3,-1,0,1099511627776}'
    assert arrays.int_array_literal(np.array([[1, 2], [3, 4]], dtype=np.int32)) == '{1,2,3,4}'
    assert arrays.int_array_literal(np.array([True, False])) == '{1,0}'
    assert arrays.int_array_literal([]) == '{}'


def test_int_array_literal_refuses_anything_but_integers():
    for values in ([1.5, 2.0], ['1', '2'], [None, 1]):
        with pytest.raises(TypeError):
            arrays.int_array_literal(values)


def test_float_array_literal_round_trips_every_double():
    values = [0.1, -2.5, 1e-300, 1 / 3, 1.7e308, 0.0, 12]
    literal = arrays.float_array_literal(values)
    assert literal == '{0.1,-2.5,1e-300,0.3333333333333333,1.7e+308,0.0,12.0}'
    assert [float(term) for term in literal[1:-1].split(',')] == [float(value) for value in values]
    assert arrays.float_array_literal(np.array([[1.5], [2.0]])) == '{1.5,2.0}'
    assert arrays.float_array_literal([]) == '{}'


def test_float_array_literal_sends_what_is_not_finite_as_null():
    assert arrays.float_array_literal([1.0, np.nan, np.inf, -np.inf]) == '{1.0,NULL,NULL,NULL}'


def test_encode_labels_shares_one_list_across_columns():
    labels, (old, new) = arrays.encode_labels(['', 'Cold', 'MQL'], ['Cold', 'MQL', 'SQL'])
    assert labels == ['Cold', 'MQL', 'SQL']
    assert old.tolist() == [0, 1, 2]
    assert new.tolist() == [1, 2, 3]
    assert [labels[code - 1] if code else '' for code in old] == ['', 'Cold', 'MQL']


def test_shift_codes_keeps_empty_labels_empty():
    assert arrays.shift_codes([0, 1, 3], 10).tolist() == [0, 11, 13]
