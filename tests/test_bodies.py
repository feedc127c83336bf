"""Bodies: measurement data, the baseline, the shipped models and the character command."""

from __future__ import annotations

import json

import numpy as np
import pytest

from core.bodies.body import JOINTS, BodyModel, BodyModelError, volume
from core.bodies.character import CharacterGenerator, check
from core.bodies.conditions import Condition, ConditionError, cond_features, encode
from core.bodies.evaluate import ks_statistic, mmd_rbf
from core.bodies.gaussian import ConditionalGaussian
from core.bodies.measurements import load_table, to_features
from core.cli import main


@pytest.fixture(scope="module")
def table():
    return load_table()


@pytest.fixture(scope="module")
def generator():
    return CharacterGenerator.load()


def test_table_merges_both_surveys_with_a_held_out_part(table):
    assert set(np.unique(table.source)) == {0, 1}
    assert (table.source == 0).sum() == 3266 + 1589  # every ANSUR II row parses, both encodings
    assert 0.17 < table.held_out.mean() < 0.23
    assert np.isfinite(table.values).all() and (table.values[:, 1] > 100).all()


def test_condition_validation():
    with pytest.raises(ConditionError, match="build"):
        Condition.make(build="chubby-ish")
    with pytest.raises(ConditionError, match="age"):
        Condition.make(age=5)
    with pytest.raises(ConditionError, match="at most two"):
        Condition.make(stature=170, weight=70, build=24)
    assert Condition.make(build="heavy").bmi == 31.0


def test_gaussian_baseline_honours_its_conditions(table):
    g = ConditionalGaussian.fit(to_features(table.values), table.sex)
    c, m = encode(Condition.make(sex="female", stature=165, build=31), 200)
    feats = g.sample(1, c, m, np.random.default_rng(0))
    cf = cond_features(feats)
    assert np.allclose(np.exp(cf[:, 1]), 165) and np.allclose(np.exp(cf[:, 3]), 31)
    assert feats[:, 3].std() > 0.01  # the free measurements still vary


def test_ks_and_mmd_tell_distributions_apart():
    rng = np.random.default_rng(0)
    a, b, c = rng.normal(size=(300, 2)), rng.normal(size=(300, 2)), rng.normal(1.0, 1.0, size=(300, 2))
    assert ks_statistic(a[:, 0], a[:, 0]) == 0.0
    assert ks_statistic(a[:, 0], c[:, 0]) > 0.25
    assert mmd_rbf(a, b, np.ones(2)) < 0.02 < mmd_rbf(a, c, np.ones(2))


def test_body_model_is_closed_and_skinned():
    body = BodyModel.load()
    mesh = body.mesh(np.zeros(body.num_params))
    assert np.allclose(mesh.skin_weight.sum(1), 1.0)
    assert set(np.unique(mesh.skin_index)) <= set(range(len(JOINTS)))
    v = mesh.vertices
    assert abs(volume(v, mesh.faces) - volume(v + [0.3, -1.0, 2.0], mesh.faces)) < 1e-6  # closed surface
    assert v[:, 2].min() == 0.0 and 1.4 < np.ptp(v[:, 2]) < 1.9


def test_missing_body_file_is_a_clear_error(tmp_path):
    with pytest.raises(BodyModelError, match="missing"):
        BodyModel.load(tmp_path / "nope.npz")


def test_characters_meet_the_request(generator):
    cond = Condition.make(sex="female", age=40, stature=165, build="heavy")
    chars = generator.generate(cond, 4, seed=0)
    for ch in chars:
        c = check(ch)
        assert c["finite"] and c["weight_sum_err"] < 1e-9 and c["min_bone_cm"] > 0.5
        assert c["stature_err_cm"] < 1.0
        assert c["mass_err_pct"] < 5.0, c
        assert ch.measurements["weight"] == pytest.approx(31 * 1.65**2)
    waists = [ch.measurements["waist"] for ch in chars]
    assert np.ptp(waists) > 1.0  # several different characters, not one
    again = generator.generate(cond, 4, seed=0)
    assert np.array_equal(again[2].mesh.vertices, chars[2].mesh.vertices)


def test_unconditioned_characters_vary_in_sex_and_size(generator):
    chars = generator.generate(Condition(), 12, seed=1)
    assert {ch.sex for ch in chars} == {"male", "female"}
    assert np.ptp([ch.measurements["stature"] for ch in chars]) > 5


def test_character_command_writes_obj_and_json(tmp_path, capsys):
    rc = main(["character", "--sex", "female", "--age", "40", "--stature", "165", "--build", "heavy",
               "--count", "2", "--seed", "0", "--out", str(tmp_path)])
    assert rc == 0
    doc = json.loads((tmp_path / "character_001.json").read_text())
    assert doc["request"] == {"sex": "female", "age": 40.0, "stature": 165.0, "bmi": 31.0}
    assert doc["skeleton"]["joints"] == list(JOINTS)
    obj = (tmp_path / "character_001.obj").read_text().splitlines()
    assert sum(line.startswith("v ") for line in obj) == len(doc["skin"]["index"])


def test_character_command_never_replaces_files_without_overwrite(tmp_path, capsys):
    args = ["character", "--sex", "male", "--age", "30", "--count", "1", "--seed", "0", "--out", str(tmp_path)]
    assert main(args) == 0
    before = (tmp_path / "character_000.obj").read_bytes()
    (tmp_path / "character_000.obj").write_text("mine")
    assert main(args) == 2
    assert "would overwrite" in capsys.readouterr().err
    assert (tmp_path / "character_000.obj").read_text() == "mine"
    assert main([*args, "--overwrite"]) == 0 and (tmp_path / "character_000.obj").read_bytes() == before


def test_character_command_rejects_bad_input_plainly(tmp_path, capsys):
    assert main(["character", "--build", "chubby-ish", "--out", str(tmp_path)]) == 2
    assert "unknown build" in capsys.readouterr().err


def test_measurement_sampler_follows_its_conditions(generator):
    rng = np.random.default_rng(0)
    c, m = encode(Condition.make(sex="male", age=30, stature=185, build="slim"), 500)
    feats = generator.sampler.sample(np.zeros(500, dtype=np.int64), c, m, rng)
    stature, bmi = np.exp(cond_features(feats)[:, [1, 3]]).T
    assert np.abs(stature - 185).max() < 1e-6 and np.abs(bmi - 19.5).max() < 1e-6  # conditioned exactly
    assert np.abs(feats[:, 0] - 30).max() < 1e-9
    assert feats[:, 3].std() > 0.02  # waist still varies at a fixed condition


def test_open_sex_and_age_are_those_of_subjects_like_the_request(generator, table):
    sampler, rng = generator.sampler, np.random.default_rng(0)

    def draw(cond: Condition, n: int = 2000) -> tuple[np.ndarray, np.ndarray]:
        c, m = encode(cond, n)
        sex = np.full(n, -1 if cond.sex is None else ("male", "female").index(cond.sex))
        sex, c, m = sampler.draw(sex, c, m, rng)
        assert np.all(m[:, 0] == 1)
        return sex, c[:, 0]

    train = table.subset(~table.held_out)
    sex, age = draw(Condition(sex="female"))
    assert np.all(sex == 1)
    assert ks_statistic(age, train.values[train.sex == 1, 0]) < 0.05  # the data's (bimodal) ages
    assert draw(Condition.make(stature=192))[0].mean() < 0.1  # tall: nearly all men
    assert draw(Condition.make(stature=152))[0].mean() > 0.8  # short: mostly women
    young, old = (np.median(draw(Condition.make(sex="male", stature=h))[1]) for h in (150, 180))
    assert young < 18 < old  # a 150 cm man is most likely a boy
    assert np.all(draw(Condition.make(age=50, stature=170))[1] == 50)  # a given age is kept
