"""Helpers shared by every app's tests: real server processes (:mod:`.servers`), the common
fixtures (:mod:`.fixtures`, loaded by the root ``conftest.py``) and factories (:mod:`.factories`).
Test code only: nothing outside tests imports this package."""
