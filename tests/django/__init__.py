"""Tests of accounts_sync.contrib.django (Django settings are configured in conftest.py)."""
