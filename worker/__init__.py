"""pregonero: schedules, publishes and corrects public administrations' social media posts."""

__version__ = "0.1.0"
