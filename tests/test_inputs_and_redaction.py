"""The bounded loaders (novaload/inputs.py) read what yaml.safe_load and json.loads read,
refuse what passes a bound, and the redactor masks named secrets without garbling text."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import yaml

from novaload.errors import ConfigError, ExitCode, InputError
from novaload.inputs import CONFIG, Bounds, json_depth_over, load_json, load_yaml
from novaload.redact import MASK, Redactor, is_secret_variable, mask_named
from novaload.run.outcome import exit_code_for, k6_crashed, meaning, verdict_for

ROOT = Path(__file__).resolve().parent.parent
YAML_FILES = sorted(
    [
        *ROOT.glob("configs/**/*.yaml"),
        *ROOT.glob("tests/importers/data/openapi/*.yaml"),
        *ROOT.glob("monitoring/**/*.yml"),
    ]
)


@pytest.mark.parametrize("path", YAML_FILES, ids=lambda p: str(p.relative_to(ROOT)))
def test_load_yaml_reads_what_safe_load_reads(path: Path) -> None:
    text = path.read_text(encoding="utf-8")
    big = Bounds(max_bytes=64 << 20, max_depth=128, max_nodes=5_000_000)
    assert load_yaml(text, str(path), big) == yaml.safe_load(text)


@pytest.mark.parametrize(
    "text",
    [
        "base: &b {a: 1, b: [1, 2]}\nderived:\n  <<: *b\n  c: 3\n",
        "- &x [1, 2]\n- *x\n- *x\n",
        "a: !!str 12\nb: 2024-01-01\nc: 0x1f\nd: ~\ne: yes\n",
        "k: |\n  multi\n  line\n",
        "{a: {b: {c: [1, {d: e}]}}}",
        "",
        "# only a comment\n",
        "x: &a 1\ny: *a\nz: *a\n",
    ],
)
def test_load_yaml_agrees_with_safe_load_on_yaml_features(text: str) -> None:
    assert load_yaml(text, "t.yaml", CONFIG) == yaml.safe_load(text)


def test_load_yaml_refuses_an_alias_bomb_by_counting_not_building() -> None:
    lines = ["a0: &a0 [x, x, x, x, x, x, x, x, x, x]"]
    lines += [f"a{i}: &a{i} [{', '.join([f'*a{i - 1}'] * 10)}]" for i in range(1, 12)]  # 10^12 nodes
    with pytest.raises(InputError, match=r"t\.yaml: line \d+: YAML expands to more than 100,000 nodes"):
        load_yaml("\n".join(lines), "t.yaml", CONFIG)


def test_load_yaml_refuses_deep_nesting_and_several_documents() -> None:
    deep = "".join(" " * i + f"k{i}:\n" for i in range(100)) + " " * 100 + "v\n"
    with pytest.raises(ConfigError, match="nested deeper than 64 levels"):
        load_yaml(deep, "t.yaml", CONFIG, error=ConfigError)
    with pytest.raises(InputError, match="expected a single YAML document"):
        load_yaml("a: 1\n---\nb: 2\n", "t.yaml", CONFIG)
    with pytest.raises(InputError, match="duplicate anchor"):
        load_yaml("x: &a 1\ny: &a 2\n", "t.yaml", CONFIG)
    with pytest.raises(InputError, match="undefined alias"):
        load_yaml("a: *nope\n", "t.yaml", CONFIG)


def test_json_depth_is_measured_outside_strings_without_recursion() -> None:
    assert json_depth_over('{"a": "[[[[[[[[[[[[[[[[[[[[[[[[[[["}', 3) is None
    assert json_depth_over('{"a": "\\"[[[[[", "b": [[1]]}', 3) is None
    assert json_depth_over("[" * 5 + "]" * 5, 4) == 5
    assert json_depth_over("[" * 1_000_000 + "]" * 1_000_000, 64) == 65
    with pytest.raises(InputError, match="nested deeper than 8 levels"):
        load_json("[" * 9 + "]" * 9, "t.json", Bounds(1 << 20, 8, 0))
    assert load_json('{"a": [1, {"b": null}]}', "t.json", CONFIG) == {"a": [1, {"b": None}]}
    with pytest.raises(InputError, match="invalid JSON at line 2 column 1"):
        load_json('{"a":\n}', "t.json", CONFIG)


def test_config_error_quotes_at_most_a_few_dozen_characters() -> None:
    shared = ["x" * 1000] * 10
    value = {"k": [shared] * 10}
    err = ConfigError("bad", file="f.yaml", key="a.b", value=value)
    assert len(str(err)) < 200, str(err)
    assert len(str(ConfigError("m" * 10_000))) <= 500
    assert "\n" not in str(InputError("two\nlines"))


@pytest.mark.parametrize(
    ("text", "masked"),
    [
        ("GET /a?user=bob&token=abc123&x=1", "GET /a?user=bob&token=***&x=1"),
        ("/a?access_token=abc&refresh_token=def", "/a?access_token=***&refresh_token=***"),
        ("jwt=eyJ.a.b pwd=hunter2 passwd=x1", "jwt=*** pwd=*** passwd=***"),
        ('{"user": "bob", "password": "hunter2"}', '{"user": "bob", "password": "***"}'),
        ('msg="{\\"client_secret\\":\\"abc\\"}"', 'msg="{\\"client_secret\\":\\"***\\"}"'),
        ("&quot;api_key&quot;: &quot;k&quot;", "&quot;api_key&quot;: &quot;***&quot;"),
        ("Authorization: Bearer abc.def", "Authorization: ***"),
        ('msg="Cookie: session=abc; theme=dark"', 'msg="Cookie: ***"'),
        ("https://bob:s3cret@host:8080/x", "https://bob:***@host:8080/x"),
        ("X-Amz-Signature=abcdef", "X-Amz-Signature=***"),
        ("JSESSIONID=abc", "JSESSIONID=***"),
    ],
)
def test_named_secrets_are_masked(text: str, masked: str) -> None:
    assert mask_named(text) == masked


@pytest.mark.parametrize(
    "text",
    [
        "author=bob&ws_sessions=3&design=x",
        "Authorization: Bearer ${API_TOKEN}",
        "path: /login?token=${QUERY_TOKEN}",
        "  X-Api-Key: ${PETSTORE_API_KEY}",
        '"ws_session_duration": {"avg": 1}',
        "http_req_duration{name:search}: p(95)<500",
        "token=***",
    ],
)
def test_text_that_is_no_secret_or_a_reference_stays(text: str) -> None:
    assert mask_named(text) == text


def test_secret_variables_are_found_by_name() -> None:
    assert all(map(is_secret_variable, ["GITHUB_TOKEN", "DB_PASSWORD", "PGPASSWORD", "AWS_SECRET_ACCESS_KEY",
                                        "API_KEY", "STRIPE_APIKEY", "SESSION_SECRET", "MY_JWT"]))  # fmt: skip
    assert not any(map(is_secret_variable, ["PWD", "OLDPWD", "PATH", "HOME", "TOKENIZER_DIR", "K6_VUS"]))


def test_a_redactor_masks_each_form_then_names() -> None:
    r = Redactor(["s3cr3t value"], only=True)
    assert (
        r('x "s3cr3t value" s3cr3t%20value s3cr3t+value token=abc')
        == f'x "{MASK}" {MASK} {MASK} token={MASK}'
    )


def test_k6_crashes_have_their_own_codes_and_words() -> None:
    assert exit_code_for(2, None) == ExitCode.K6_CRASHED == 8
    assert k6_crashed(137) and k6_crashed(139) and k6_crashed(2)
    assert not k6_crashed(255) and not k6_crashed(99) and not k6_crashed(105)
    assert "SIGKILL" in verdict_for(137, None) and "out-of-memory" in verdict_for(137, None)
    assert "panic" in verdict_for(8, None)
    assert "usage" not in meaning(8) and "255" not in meaning(255)
    assert ExitCode.THRESHOLDS_INCOMPLETE == 7 and verdict_for(7, None) == "thresholds incomplete"


def test_incomplete_thresholds_exit_7_only_when_k6_did_not_judge() -> None:
    class Results:
        load_generator = None
        thresholds_failed = False
        thresholds_incomplete = ["http_req_duration{name:search}"]
        incomplete: list[str] = []  # every results file arrived whole (RunResults.incomplete)

    assert exit_code_for(0, Results(), k6_judged=False) == 7  # type: ignore[arg-type]
    assert exit_code_for(0, Results()) == 0  # type: ignore[arg-type]  # a run: k6 said 0
    Results.thresholds_failed = True
    assert exit_code_for(0, Results(), k6_judged=False) == 99  # type: ignore[arg-type]


def test_the_bounds_documented_are_the_bounds_in_force() -> None:
    docs = (ROOT / "docs" / "configuration.md").read_text()
    assert "4 MiB" in docs and f"{CONFIG.max_nodes:,}" in docs and f"{CONFIG.max_depth} levels" in docs
    assert json.dumps(CONFIG.max_bytes) == str(4 * 1024 * 1024)
