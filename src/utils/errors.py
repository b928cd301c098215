"""One error type for every mistake a user can make, so entry points can print it as one line."""


class GanlabError(Exception):
    """A user-facing error: its message is one line naming the bad value and what is allowed."""


class ConfigError(GanlabError):
    """A configuration value is out of range or unknown."""


class DataError(GanlabError):
    """A data set is missing, empty or unreadable."""
