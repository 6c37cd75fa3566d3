"""Property-based tests of the study YAML: any document is either a valid study or one InputError line."""

import yaml
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from superionic.errors import InputError
from superionic.workflow.config import StudyConfig, load_config

KEYS = [
    "name",
    "material",
    "temperatures",
    "supercell",
    "potential",
    "md",
    "protocols",
    "analyses",
    "ranks",
    "host_reference",
    "tether_stiffness",
    "mobile_species",
    "output",
    "engine",
    "steps",
    "dt",
]
scalars = st.one_of(
    st.none(), st.booleans(), st.integers(-(10**6), 10**6), st.floats(allow_nan=True), st.text(max_size=12)
)
values = st.recursive(
    scalars,
    lambda c: st.one_of(st.lists(c, max_size=4), st.dictionaries(st.sampled_from(KEYS + ["x"]), c, max_size=4)),
    max_leaves=12,
)
documents = st.one_of(
    st.dictionaries(st.one_of(st.sampled_from(KEYS), st.text(max_size=8), st.integers()), values, max_size=8),
    values,
)


def _check(path):
    try:
        cfg = load_config(path)
    except InputError as err:
        msg = str(err)
        assert msg and "\n" not in msg.strip() and "Traceback" not in msg
        return
    assert isinstance(cfg, StudyConfig) and cfg.material and cfg.temperatures


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(doc=documents)
@example(doc={"\n": None})  # found by hypothesis in CI: a key with a newline made a two-line error
def test_any_yaml_document_is_a_study_or_one_clear_error(tmp_path, doc):
    p = tmp_path / "study.yaml"
    p.write_text(yaml.safe_dump(doc, allow_unicode=True))
    _check(p)


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(raw=st.binary(max_size=200))
def test_any_bytes_are_a_study_or_one_clear_error(tmp_path, raw):
    p = tmp_path / "study.yaml"
    p.write_bytes(raw)
    _check(p)


@settings(max_examples=80, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(temps=st.lists(st.floats(allow_nan=True, allow_infinity=True), min_size=1, max_size=4))
def test_temperatures_are_positive_finite_kelvin(tmp_path, temps):
    p = tmp_path / "study.yaml"
    p.write_text(yaml.safe_dump({"material": "Li6PS5Cl", "temperatures": temps}))
    try:
        cfg = load_config(p)
    except InputError:
        assert not all(t == t and 0 < t < float("inf") for t in temps)
        return
    assert all(0 < t < float("inf") for t in cfg.temperatures)
