"""Data: the built-in splits, and a bad .npz is an error naming the problem (never a silent repair)."""

from __future__ import annotations

import numpy as np
import pytest
from lab_helpers import lrkit

import lrkit as lk
from lrkit.cli import main
from lrkit.lab.data import load_dataset


@pytest.mark.slow
def test_builtin_splits_are_disjoint_and_fixed():
    two, three = load_dataset("digits"), load_dataset("digits", test=True)
    assert two.sizes() == {"train": 1437, "val": 360, "test": 0}
    assert three.sizes() == {"train": 1077, "val": 360, "test": 360}
    rows = {r.tobytes() for r in three.x_train}
    assert not rows & {r.tobytes() for r in three.x_val} and not rows & {r.tobytes() for r in three.x_test}
    m = load_dataset("mnist1d", test=True)
    assert m.sizes() == {"train": 3000, "val": 1000, "test": 1000} and m.n_features == 40
    np.testing.assert_array_equal(load_dataset("mnist1d").y_train[3000:], m.y_val)


def test_npz_with_its_own_test_split_and_x_y(tmp_path):
    rng = np.random.default_rng(0)
    x, y = rng.normal(size=(100, 3)), np.arange(100) % 4
    np.savez(tmp_path / "six.npz", x_train=x[:60], y_train=y[:60], x_val=x[60:80], y_val=y[60:80],
             x_test=x[80:], y_test=y[80:].astype(float))
    d = load_dataset(str(tmp_path / "six.npz"), test=True)
    assert d.sizes() == {"train": 60, "val": 20, "test": 20} and d.y_test.dtype == np.int64
    np.testing.assert_array_equal(d.y_test, y[80:])
    np.savez(tmp_path / "xy.npz", x=x, y=y)
    assert load_dataset(str(tmp_path / "xy.npz"), test=True).sizes() == {"train": 60, "val": 20, "test": 20}
    assert load_dataset(str(tmp_path / "xy.npz")).sizes() == {"train": 80, "val": 20, "test": 0}
    np.savez(tmp_path / "four.npz", x_train=x[:60], y_train=y[:60], x_val=x[60:], y_val=y[60:])
    assert load_dataset(str(tmp_path / "four.npz"), test=True).sizes() == {"train": 60, "val": 20, "test": 20}


def _bad_files(tmp_path):
    rng = np.random.default_rng(0)
    (tmp_path / "text.npz").write_text("x,y\n1,2\n")
    np.savez(tmp_path / "strings.npz", x=np.array([["a", "b"]] * 20), y=np.arange(20) % 2)
    np.savez(tmp_path / "minus.npz", x=rng.normal(size=(20, 3)), y=np.r_[np.zeros(19), -1].astype(int))
    np.savez(tmp_path / "rows.npz", x=rng.normal(size=(60, 3)), y=np.arange(50) % 3)
    np.savez(tmp_path / "fraction.npz", x=rng.normal(size=(60, 3)), y=rng.uniform(0, 1, size=60))
    np.savez(tmp_path / "nan.npz", x=np.full((20, 3), np.nan), y=np.arange(20) % 2)
    np.savez(tmp_path / "keys.npz", a=np.zeros(3))
    return {
        "text.npz": "is not a .npz archive (numpy.savez): it is not a zip file",
        "strings.npz": "must hold numbers in x; got dtype <U1",
        "minus.npz": "must hold class labels >= 0 in y; got -1",
        "rows.npz": "must hold one label per row: x has 60 rows, y has 50 labels",
        "fraction.npz": "must hold whole-number class labels in y; got 0.",
        "nan.npz": "must hold finite numbers in x",
        "keys.npz": "must hold x_train, y_train, x_val, y_val (and x_test, y_test) or x, y; got ['a']",
    }


def test_bad_npz_is_an_error_naming_the_problem(tmp_path):
    for name, message in _bad_files(tmp_path).items():
        with pytest.raises(lk.SpecError) as e:
            load_dataset(str(tmp_path / name), test=True)
        assert message in str(e.value) and name in str(e.value)
        with pytest.raises(lk.SpecError):
            load_dataset(str(tmp_path / name))


def test_bad_npz_on_the_command_line_exits_2(tmp_path, capsys):
    for name, message in _bad_files(tmp_path).items():
        code = main(["compare", "--data", str(tmp_path / name), "--out", str(tmp_path / "out"), "--no-progress"])
        err = capsys.readouterr().err.strip().splitlines()
        assert code == 2 and len(err) == 1 and err[0].startswith("error: ") and message in err[0], (name, err)
    assert not (tmp_path / "out" / "runs").exists() or not list((tmp_path / "out" / "runs").iterdir())


def test_bad_npz_in_a_subprocess(tmp_path):
    _bad_files(tmp_path)
    p = lrkit("compare", "--data", str(tmp_path / "rows.npz"), "--out", str(tmp_path / "o"))
    assert p.returncode == 2 and "Traceback" not in p.stderr
    assert p.stderr.strip() == ("error: load_dataset(): '" + str(tmp_path / "rows.npz")
                                + "' must hold one label per row: x has 60 rows, y has 50 labels")
