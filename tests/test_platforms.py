"""Platforms declare themselves; the core takes what they declare: config sections,
desks, agents' ids, how commands are typed, secrets, and the channels `candor run`
starts. A made-up platform shows that nothing in the core names the real ones."""

from __future__ import annotations

import subprocess
import sys
import textwrap
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import pytest

from adapters.console.chat import ConsoleSender
from adapters.console.platform import PLATFORM as CONSOLE
from adapters.console.platform import TERMINAL_DESK
from adapters.slack.platform import PLATFORM as SLACK
from adapters.slack.settings import SlackSettings
from adapters.telegram.platform import PLATFORM as TELEGRAM
from adapters.telegram.settings import TelegramSettings
from bot import cli, redact
from bot import config as config_module
from bot.app import Candor
from bot.config import Config, ConfigError, Section
from bot.desk import Desk
from bot.model import Address, Cause, Identity, Outbound
from bot.platforms import AgentKey, CommandStyle, DeskSpec, Platform, PlatformError, discover
from tests.conftest import ROOT, candor_command, write_config


class LoftSettings(Section):
    enabled: bool = False
    loft: str = ""  # where agents work
    key: str = ""  # a secret


def loft(settings: LoftSettings) -> Address | None:
    return Address("pigeon", settings.loft) if settings.loft else None


@dataclass
class Flight:
    """The running channel the made-up platform gives `candor run`."""

    app: Candor
    settings: LoftSettings

    async def start(self) -> None: ...
    async def stop(self) -> None: ...


PIGEON = Platform(
    name="pigeon",
    settings=LoftSettings,
    commands=lambda settings: CommandStyle("%"),
    desk=DeskSpec(loft, needs="loft (the loft's name)"),
    agent=AgentKey(type=int, user_id=lambda ring: f"ring-{ring}"),
    secrets=("key",),
    enabled=lambda settings: settings.enabled,
    channel=Flight,
)

WITH_PIGEONS = """
[pigeon]
enabled = true
loft = "roof"
key = "coo-coo-secret-42"

[desk]
channels = ["console", "pigeon"]
agents = [{ name = "Maria", console = "maria", pigeon = 7 }, { name = "Sam", console = "sam" }]
"""


def pigeons(text: str = WITH_PIGEONS) -> Config:
    return config_module.parse(textwrap.dedent(text), platforms=[PIGEON, CONSOLE])


def test_the_installed_platforms_are_the_adapters_each_with_its_own_settings() -> None:
    assert [p.name for p in discover()] == ["console", "telegram", "slack"]
    assert discover() == (CONSOLE, TELEGRAM, SLACK)
    assert TELEGRAM.settings is TelegramSettings
    assert SLACK.settings is SlackSettings
    assert TelegramSettings.__module__ == "adapters.telegram.settings"
    assert SlackSettings.__module__ == "adapters.slack.settings"
    assert not CONSOLE.has_section  # nothing to set: `[console]` stays an unknown key


def test_reading_any_config_loads_no_platform_library() -> None:
    """`candor chat`, `kb` and `report` work without the Telegram and Slack extras:
    the declarations are read, the libraries are not."""
    script = textwrap.dedent(
        """
        import sys
        from pathlib import Path
        from bot import config
        config.load(Path(sys.argv[1]))
        config.parse("[telegram]\\nenabled = true\\ntoken = '1:abcdef'\\n"
                     "[slack]\\nenabled = true\\nbot_token = 'xoxb-123456'\\n"
                     "signing_secret = 'signing-s'\\n")
        import bot.app
        loaded = sorted({name.split(".")[0] for name in sys.modules}
                        & {"telegram", "slack_bolt", "slack_sdk", "aiohttp", "httpx"})
        print(loaded)
        """
    )
    done = subprocess.run(
        [sys.executable, "-c", script, str(ROOT / "config.example.toml")],
        capture_output=True,
        text=True,
        check=True,
        timeout=60,
    )
    assert done.stdout.strip() == "[]"


def test_a_platform_brings_its_section_its_desk_and_its_agents_ids() -> None:
    config = pigeons()
    assert config.platform("pigeon") == LoftSettings(
        enabled=True, loft="roof", key="coo-coo-secret-42"
    )
    assert config.settings_for(PIGEON).loft == "roof"
    assert config.desk_addresses() == [TERMINAL_DESK, Address("pigeon", "roof")]
    maria, sam = config.desk.agents
    assert maria.user_id_on("pigeon") == "ring-7"  # as the platform's adapter would say it
    assert maria.user_id_on(TERMINAL_DESK.channel) == "maria"
    assert sam.user_id_on("pigeon") is None
    assert maria.names() == {"maria"}  # a pigeon ring is not a name people type
    assert config.commands_on("pigeon").render("status") == "%status"


def test_the_platforms_given_are_the_only_sections_and_desks() -> None:
    with pytest.raises(ConfigError, match="telegram: unknown key"):
        pigeons("[telegram]\nenabled = false\n")
    with pytest.raises(ConfigError, match=r"desk\.agents\.1\.slack: unknown key"):
        pigeons("[desk]\nagents = [{ name = 'A', slack = 'U1' }]\n")
    with pytest.raises(
        ConfigError, match=r"desk\.channels\.1: Input should be 'console' or 'pigeon'"
    ):
        pigeons("[desk]\nchannels = ['telegram']\n")
    # a desk the platform calls default is on when the config says nothing
    assert pigeons("").desk.channels == ["console"]
    assert config_module.parse("", platforms=[PIGEON]).desk.channels == []


def test_a_platform_says_what_its_desk_needs_and_checks_its_agents_ids() -> None:
    with pytest.raises(
        ConfigError,
        match=r'desk\.channels: "pigeon" needs pigeon\.loft \(the loft\'s name\)',
    ):
        pigeons("[desk]\nchannels = ['pigeon']\n")
    with pytest.raises(
        ConfigError, match=r"desk\.agents\.1\.pigeon: Input should be a valid integer"
    ):
        pigeons("[desk]\nagents = [{ name = 'A', pigeon = 'seven' }]\n")


def test_a_platform_s_secrets_never_reach_a_log_line() -> None:
    pigeons()
    assert redact.redact("key=coo-coo-secret-42 sent") == f"key={redact.MARK} sent"


def test_the_desk_knows_agents_by_the_identity_each_platform_gives_them() -> None:
    config = pigeons()
    desk = Desk(
        addresses=config.desk_addresses(),
        desk_channels=config.desk_channels(),
        agents=config.desk.agents,
        hours=config.hours.business_hours(),
    )
    maria = config.desk.agents[0]
    assert desk.agent_for(Identity("pigeon", "", "ring-7")) == maria
    assert desk.agent_for(Identity("pigeon", "", "7")) is None  # the config value, not the id
    assert desk.agent_for(Identity(TERMINAL_DESK.channel, "local", "maria")) == maria
    # a customer in the terminal chat who calls themselves maria is not the agent
    assert desk.agent_for(Identity(CONSOLE.name, "local", "maria")) is None
    assert desk.agent_named("@Maria") == maria
    assert desk.agent_named("sam") == config.desk.agents[1]
    assert desk.agent_named("ring-7") is None


def test_platforms_that_would_share_a_name_or_a_channel_are_refused() -> None:
    with pytest.raises(PlatformError, match="both use the channel 'pigeon'"):
        config_module.model([PIGEON, replace(PIGEON, order=1)])
    # the terminal desk has the channel "desk" to itself
    with pytest.raises(PlatformError, match="both use the channel 'desk'"):
        config_module.model([CONSOLE, replace(PIGEON, name="desk")])
    with pytest.raises(PlatformError, match="would replace the core's section"):
        config_module.model([replace(PIGEON, name="outbox")])


def test_candor_run_builds_every_enabled_platform_s_channel() -> None:
    config = pigeons()
    app = Candor(config)
    [flight] = cli._channels(config, app)
    assert isinstance(flight, Flight)
    assert flight.app is app
    assert flight.settings == config.settings_for(PIGEON)
    off = pigeons(WITH_PIGEONS.replace("enabled = true", "enabled = false"))
    assert cli._channels(off, Candor(off)) == []


def test_candor_run_with_no_channel_enabled_says_which_to_enable(
    tmp_path: Path, knowledge_dir: Path
) -> None:
    done = subprocess.run(
        [*candor_command(), "run", "--config", str(write_config(tmp_path, knowledge_dir))],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 2
    assert done.stderr.strip() == (
        "candor: nothing to run: no network channel is enabled in the config (enable"
        " [telegram] or [slack], or [web] enabled = true for the web pages). Without one:"
        " `candor chat` (the terminal chat), `candor desk` (the agents' desk in a"
        " terminal), `candor web` (the status page and the dashboard)."
    )


@pytest.mark.parametrize(
    ("extra", "channel", "typed"),
    [
        ("", "console", "/status"),
        ("", "telegram", "/status"),
        ("", "slack", "!status"),
        ('[slack]\nslash_command = "/candor"\n', "slack", "/candor status"),
        ("", "test", "/status"),  # a channel no platform declares: the usual slash
    ],
)
def test_each_platform_says_how_its_customers_type_a_command(
    extra: str, channel: str, typed: str
) -> None:
    config = config_module.parse(extra)
    assert config.commands_on(channel).render("status") == typed
    assert config.commands_on(channel).render("feedback", "TEXT") == typed.replace(
        "status", "feedback TEXT"
    )


@pytest.mark.parametrize("name", ["terminal", "desk", "maria", "#1", "desk terminal"])
def test_no_customer_in_the_terminal_chat_can_be_the_terminal_desk(
    config: Config, name: str
) -> None:
    """Whatever name someone chats under, their address and identity are not the
    desk's: the terminal desk has a channel of its own."""
    desk = Candor(config).desk
    inbound = ConsoleSender(sys.stdout, "Candor").inbound("hello", name)
    assert not desk.is_desk(inbound.address)
    assert desk.agent_for(inbound.identity) is None
    assert desk.is_desk(TERMINAL_DESK)


def test_the_terminal_desk_is_a_desk_even_where_cards_go_elsewhere(
    tmp_path: Path, knowledge_dir: Path
) -> None:
    """As before: `candor desk` agents can act, and only desk messages go there, when
    `[desk] channels` sends the cards to Slack only."""
    path = write_config(
        tmp_path,
        knowledge_dir,
        '[slack]\ntriage_channel = "C1"\n',
        desk='channels = ["slack"]\nagents = [{ name = "Maria", console = "maria" }]\n',
    )
    app = Candor(config_module.load(path))
    assert app.desk.addresses == (Address("slack", "C1"),)
    assert app.desk.is_desk(Address(TERMINAL_DESK.channel, TERMINAL_DESK.chat_id, "3"))
    assert app.outbox.unsolicited(Outbound(TERMINAL_DESK, "hi", Cause.REPLY)) == (
        "reply sent to a desk"
    )


def test_the_stored_channel_names_stay_as_they_are() -> None:
    """Existing databases hold these in identities, the outbox and desk threads."""
    names: dict[str, Any] = {p.name: p for p in discover()}
    assert set(names) == {"console", "telegram", "slack"}
    assert Address("desk", "terminal") == TERMINAL_DESK
    assert CONSOLE.agent_channel == "desk"
    assert TELEGRAM.agent_channel == "telegram"
    assert SLACK.agent_channel == "slack"
