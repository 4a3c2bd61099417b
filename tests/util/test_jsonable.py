import json

import numpy as np
import pytest

from neurosim.util.jsonable import json_default, to_jsonable


def test_to_jsonable_converts_keys_scalars_and_arrays():
    data = {1: np.int64(3), "x": (np.float32(0.25), np.arange(3)), "ok": np.bool_(True)}
    out = to_jsonable(data)
    assert out == {"1": 3, "x": [0.25, [0, 1, 2]], "ok": True}
    assert type(out["1"]) is int and type(out["ok"]) is bool
    json.dumps(out)


def test_json_default_refuses_other_objects():
    assert (
        json.dumps({"a": np.float64(1.5), "b": np.zeros(2)}, default=json_default)
        == '{"a": 1.5, "b": [0.0, 0.0]}'
    )
    with pytest.raises(TypeError, match="not JSON-serialisable"):
        json.dumps({"a": object()}, default=json_default)
