"""Config loading: defaults, validation naming the key, env: secrets, paths."""

from __future__ import annotations

from pathlib import Path

import pytest

from bot import config as config_module
from bot.config import ConfigError
from tests.conftest import ROOT


def test_the_shipped_example_loads_and_points_at_the_shipped_knowledge() -> None:
    config = config_module.load(ROOT / "config.example.toml")
    assert config.knowledge.directory == ROOT / "knowledge"
    assert config.storage.path == ROOT / "data" / "candor.sqlite3"
    assert config.bot.name == "Candor"


@pytest.mark.parametrize(
    ("toml", "message"),
    [
        (
            "[outbox]\nmax_attempts = 0\n",
            "outbox.max_attempts: Input should be greater than or equal to 1",
        ),
        ("[outbox]\nmax_atempts = 3\n", "outbox.max_atempts: unknown key"),
        (
            "[storage]\nleader_retry_seconds = 0\n",
            "storage.leader_retry_seconds: Input should be greater than or equal to 0.1",
        ),
        ("[nonsense]\n", "nonsense: unknown key"),
        (
            "[knowledge]\nanswer_score = 'high'\n",
            "knowledge.answer_score: Input should be a valid number",
        ),
        ("[bot]\ntimezone = 'Mars/Olympus'\n", "bot.timezone: unknown time zone"),
        ("[telegram]\nenabled = true\ntoken = 'x'\n", "telegram.token: not a bot token"),
        (
            "[telegram]\nenabled = true\ntoken = '1:a'\nmode = 'webhook'\n",
            "telegram.webhook_url: needed in webhook mode",
        ),
        (
            "[desk]\nchannels = ['telegram']\n",
            'desk.channels: "telegram" needs telegram.staff_group_id',
        ),
        (
            "[desk]\nagents = [{name = 'A'}, {name = 'a'}]\n",
            "desk.agents: two agents have the same name",
        ),
        ("[hours]\nmon = '9-5'\n", "hours.mon: '9-5' is not a range like 09:00-17:00"),
        ("[logging]\nlevel = 'LOUD'\n", "logging.level"),
        ("this is = = not toml", "not valid TOML"),
    ],
)
def test_a_bad_value_is_refused_naming_the_key(toml: str, message: str) -> None:
    with pytest.raises(ConfigError, match=message.replace("(", r"\(")):
        config_module.parse(toml)


def test_env_values_are_read_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CANDOR_TEST_COMPANY", "Acme")
    config = config_module.parse('[bot]\ncompany = "env:CANDOR_TEST_COMPANY"\n')
    assert config.bot.company == "Acme"
    monkeypatch.delenv("CANDOR_TEST_COMPANY")
    with pytest.raises(
        ConfigError, match=r"bot\.company: the environment variable CANDOR_TEST_COMPANY is not set"
    ):
        config_module.parse('[bot]\ncompany = "env:CANDOR_TEST_COMPANY"\n')


def test_relative_paths_are_relative_to_the_config_file(tmp_path: Path) -> None:
    path = tmp_path / "sub" / "my.toml"
    path.parent.mkdir()
    path.write_text('[storage]\npath = "db/x.sqlite3"\n')
    assert config_module.load(path).storage.path == path.parent.resolve() / "db" / "x.sqlite3"


def test_config_toml_wins_over_the_example(tmp_path: Path) -> None:
    (tmp_path / "config.example.toml").write_text("")
    assert config_module.default_path(tmp_path) == tmp_path / "config.example.toml"
    (tmp_path / "config.toml").write_text("")
    assert config_module.default_path(tmp_path) == tmp_path / "config.toml"


def test_a_missing_file_is_a_clear_error(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="cannot read the config file"):
        config_module.load(tmp_path / "nope.toml")


def test_a_switched_off_section_may_name_unset_variables(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("CANDOR_TEST_TOKEN", raising=False)
    off = config_module.parse('[telegram]\nenabled = false\ntoken = "env:CANDOR_TEST_TOKEN"\n')
    assert off.telegram.enabled is False
    with pytest.raises(ConfigError, match=r"telegram\.token: the environment variable"):
        config_module.parse('[telegram]\nenabled = true\ntoken = "env:CANDOR_TEST_TOKEN"\n')


def test_config_example_names_and_comments_every_key() -> None:
    import re

    from tests.conftest import ROOT

    text = (ROOT / "config.example.toml").read_text(encoding="utf-8")
    sections = dict(re.findall(r"(?ms)^\[(\w+)\]\n(.*?)(?=^\[\w+\]|\Z)", text))
    missing = []
    checked = []
    for name, field in config_module.model().model_fields.items():
        fields = getattr(field.annotation, "model_fields", None)
        if fields is None:
            continue
        checked.append(name)
        body = sections.get(name, "")
        for key in fields:
            if not re.search(rf"(?m)^#? ?{key} =", body):
                missing.append(f"{name}.{key}")
            elif not re.search(rf"(?m)^#.*\n(?:#.*\n|\w+ = .*\n)*?#? ?{key} =", body):
                missing.append(f"{name}.{key} (no comment)")
    # the platforms' sections too, where the example has them
    assert checked == [
        "bot", "storage", "knowledge", "cases", "telegram", "slack", "desk", "hours", "outbox",
        "logging", "web",
    ]  # fmt: skip
    assert missing == []
