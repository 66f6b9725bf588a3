"""The suite's shared fixtures live in ``seendr.testing``; this file only loads them."""

pytest_plugins = ["seendr.testing.fixtures", "seendr.testing.match_history"]
