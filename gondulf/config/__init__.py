"""Settings: every `GONDULF_*` variable, declared once, read once, validated completely."""

from gondulf.config.loading import load_settings, read_environment, setting_sources
from gondulf.config.settings import (
    SETTING_SPECS,
    Concern,
    Limits,
    Settings,
    SettingSpec,
    SmtpSettings,
)
from gondulf.config.values import Nameserver, Network

__all__ = [
    "SETTING_SPECS",
    "Concern",
    "Limits",
    "Nameserver",
    "Network",
    "SettingSpec",
    "Settings",
    "SmtpSettings",
    "load_settings",
    "read_environment",
    "setting_sources",
]
