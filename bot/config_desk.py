"""The configuration's base section, and the sections about the desk: its agents
(`[desk]`) and its business hours (`[hours]`). Kept apart from `bot.config`, which
re-exports them, so that neither module outgrows its size."""

from __future__ import annotations

from datetime import date
from typing import Any, ClassVar
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import BaseModel, ConfigDict, Field, field_validator

from bot.hours import DAYS, BusinessHours, parse_closed, parse_ranges
from bot.platforms import Platform


def check_zone(value: str) -> str:
    try:
        ZoneInfo(value)
    except (ZoneInfoNotFoundError, ValueError) as error:
        raise ValueError(
            f"unknown time zone {value!r} (use a name like 'Europe/Berlin')"
        ) from error
    return value


class Section(BaseModel):
    """A config section: unknown keys are refused, values never change. Platforms'
    settings (in their adapter packages) are sections too."""

    model_config = ConfigDict(extra="forbid", frozen=True)


class AgentSettings(Section):
    """A person who may act on the desk, and who they are on each platform: under each
    platform's name, if they work there (`console = "maria"`, `telegram = 123456789`).
    The keys come from the platforms (`model_for` adds them)."""

    name: str = Field(min_length=1, max_length=40)  # what customers see: "Maria from support"
    platforms: ClassVar[tuple[Platform[Any], ...]] = ()  # those with agent ids, by model_for

    def user_id_on(self, channel: str) -> str | None:
        """Who this agent is on `channel`: the `Identity.user_id` they act with there
        (None: they do not work there)."""
        for platform in self.platforms:
            if platform.agent is not None and platform.agent_channel == channel:
                value = getattr(self, platform.name)
                return None if value is None else platform.agent.user_id(value)
        return None

    def names(self) -> set[str]:
        """What people may call this agent (`/transfer maria`), case-folded: the name,
        and ids people type (the terminal desk's `console` name)."""
        found = {self.name.casefold()}
        for platform in self.platforms:
            if platform.agent is not None and platform.agent.is_name:
                value = getattr(self, platform.name)
                if value is not None:
                    found.add(str(value).casefold())
        return found


class DeskSettings(Section):
    # `model_for` narrows both to the platforms: the names with a desk, their entries.
    channels: list[str] = []  # pydantic copies mutable defaults
    agents: list[AgentSettings] = Field(default_factory=list)
    waiting_alert_minutes: float = Field(15, gt=0)
    # Questions in a row the bot could not answer before it offers a person itself.
    unknown_limit: int = Field(2, ge=1)
    # Minutes after a rating in which the customer's next message is its comment.
    rating_comment_minutes: float = Field(30, ge=0)
    # An agent is on duty while the desk is open and they acted on it this recently.
    on_duty_hours: float = Field(4, gt=0)

    @field_validator("agents")
    @classmethod
    def _unique_agents(cls, agents: list[AgentSettings]) -> list[AgentSettings]:
        names = [agent.name.casefold() for agent in agents]
        if len(names) != len(set(names)):
            raise ValueError("two agents have the same name")
        return agents


class HoursSettings(Section):
    """When people are at the desk: per weekday "09:00-17:00" (several ranges
    separated by commas), "" for closed; `closed`: days the desk is closed whatever
    the weekday ("2026-12-25", or "2026-12-24..2026-12-26" for a range)."""

    timezone: str = "UTC"
    mon: str = "09:00-17:00"
    tue: str = "09:00-17:00"
    wed: str = "09:00-17:00"
    thu: str = "09:00-17:00"
    fri: str = "09:00-17:00"
    sat: str = ""
    sun: str = ""
    closed: list[str] = []  # pydantic copies mutable defaults

    _zone = field_validator("timezone")(lambda cls, v: check_zone(v))

    @field_validator("mon", "tue", "wed", "thu", "fri", "sat", "sun")
    @classmethod
    def _ranges(cls, value: str) -> str:
        parse_ranges(value)
        return value

    @field_validator("closed", mode="before")
    @classmethod
    def _toml_dates(cls, value: object) -> object:
        # TOML's own dates (closed = [2026-12-25], unquoted) read as the same days
        if isinstance(value, list):
            return [item.isoformat() if isinstance(item, date) else item for item in value]
        return value

    @field_validator("closed")
    @classmethod
    def _days(cls, value: list[str]) -> list[str]:
        parse_closed(value)
        return value

    def business_hours(self) -> BusinessHours:
        week = {day: parse_ranges(getattr(self, day)) for day in DAYS}
        return BusinessHours(self.timezone, week, parse_closed(self.closed))
