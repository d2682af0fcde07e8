"""The C YAML loader builds exactly what the pure-Python loader builds from every YAML file the project
ships (knowledge base, eval scenarios, examples), and a broken document fails with the Python loader's
own error."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from robustlens.yamlload import load_yaml

ROOT = Path(__file__).resolve().parents[1]
SHIPPED = sorted([*ROOT.glob("robustlens/**/*.yaml"), *ROOT.glob("evals/**/*.yaml")])


def test_the_c_loader_is_used_where_pyyaml_has_it() -> None:
    assert yaml.__with_libyaml__, "this environment's PyYAML should have libyaml (the speed-up)"


def test_every_shipped_file_loads_to_the_same_objects() -> None:
    assert len(SHIPPED) > 300 and any(f.name == "knowledge.yaml" for f in SHIPPED)
    for f in SHIPPED:
        text = f.read_text(encoding="utf-8")
        assert load_yaml(text) == yaml.safe_load(text), f


@pytest.mark.parametrize("text", ["a: [1, 2\nb: 3\n", "key: value\n  bad indent: 1\n", "- a\nb: c\n"])
def test_a_broken_document_raises_the_python_loaders_error(text: str) -> None:
    with pytest.raises(yaml.YAMLError) as expected:
        yaml.safe_load(text)
    with pytest.raises(yaml.YAMLError) as got:
        load_yaml(text)
    assert str(got.value) == str(expected.value)


def test_values_resolve_as_yaml_1_1_safe_load_does() -> None:
    text = "on: yes\nn: 010\nf: 1e3\nd: 2024-01-02\nnull_: ~\ns: '1.0'\n"
    assert load_yaml(text) == yaml.safe_load(text)
