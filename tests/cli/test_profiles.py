"""Profiles: the config file (0600, atomic), the environment on top, tokens never shown."""

from __future__ import annotations

import stat
from pathlib import Path

import pytest

from tocsin.cli.profiles import (
    PAGERDUTY_EVENTS,
    ConfigFile,
    ProfileError,
    config_path,
    load,
    remove,
    resolve,
    save,
    store,
)


def test_a_saved_profile_reads_back_and_only_its_owner_can_read_the_file(tmp_path: Path) -> None:
    path = tmp_path / "nested" / "cli.toml"
    config = store(ConfigFile(), "prod", "https://tocsin.example.com/", 'tok"en\\x', "me@example.com")
    save(path, config)
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert stat.S_IMODE(path.parent.stat().st_mode) == 0o700
    again = load(path)
    assert again.default == "prod"
    profile = resolve(again, None, {})
    assert (profile.name, profile.url, profile.token, profile.from_email) == (
        "prod", "https://tocsin.example.com", 'tok"en\\x', "me@example.com")
    assert 'tok"en' not in repr(profile)
    assert [p.name for p in tmp_path.joinpath("nested").iterdir()] == ["cli.toml"]  # no temporary left


def test_the_environment_overrides_the_profile(tmp_path: Path) -> None:
    config = store(ConfigFile(), "prod", "https://a.example.com", "filetoken", "a@example.com")
    env = {"TOCSIN_API_URL": "https://b.example.com/", "TOCSIN_API_TOKEN": "envtoken"}
    profile = resolve(config, None, env)
    assert (profile.url, profile.token, profile.from_email) == ("https://b.example.com", "envtoken", "a@example.com")
    assert profile.from_env == {"url", "token"}
    # With no file at all, the environment alone is a profile.
    bare = resolve(ConfigFile(), None, {"TOCSIN_API_URL": "https://c.example.com", "TOCSIN_API_TOKEN": "t",
                                        "TOCSIN_API_FROM": "c@example.com"})
    assert (bare.name, bare.url, bare.from_email) == ("default", "https://c.example.com", "c@example.com")


def test_profiles_are_chosen_by_option_then_environment_then_the_files_default() -> None:
    config = store(store(ConfigFile(), "a", "https://a", "ta", None), "b", "https://b", "tb", None)
    assert config.default == "a"
    assert resolve(config, None, {}).url == "https://a"
    assert resolve(config, None, {"TOCSIN_PROFILE": "b"}).url == "https://b"
    assert resolve(config, "b", {"TOCSIN_PROFILE": "a"}).url == "https://b"
    with pytest.raises(ProfileError, match="no profile named 'c'"):
        resolve(config, "c", {})
    assert store(config, "c", "https://c", "tc", None, make_default=True).default == "c"


def test_forgetting_the_default_picks_another() -> None:
    config = store(store(ConfigFile(), "a", "https://a", "ta", None), "b", "https://b", "tb", None)
    left = remove(config, "a")
    assert left.default == "b" and set(left.profiles) == {"b"}
    assert remove(left, "b").default is None


def test_events_go_to_pagerdutys_events_host_when_the_api_is_pagerdutys() -> None:
    pd = resolve(store(ConfigFile(), "pd", "https://api.pagerduty.com", "t", None), None, {})
    assert pd.events_base == PAGERDUTY_EVENTS
    own = resolve(store(ConfigFile(), "own", "https://tocsin.example.com", "t", None), None, {})
    assert own.events_base == "https://tocsin.example.com"
    split = resolve(store(ConfigFile(), "x", "https://api.example.com", "t", None, "https://ev.example.com"), None, {})
    assert split.events_base == "https://ev.example.com"


def test_a_broken_file_is_an_error_not_a_traceback(tmp_path: Path) -> None:
    path = tmp_path / "cli.toml"
    path.write_text("default = [unclosed")
    with pytest.raises(ProfileError, match="cannot read"):
        load(path)


def test_where_the_file_lives(tmp_path: Path) -> None:
    assert config_path({"TOCSIN_CLI_CONFIG": str(tmp_path / "x.toml")}) == tmp_path / "x.toml"
    assert config_path({}).name == "cli.toml"
