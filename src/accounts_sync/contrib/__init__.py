"""Framework integrations, each behind its pip extra and imported only when used.

``accounts_sync.contrib.http`` holds the framework-neutral HTTP contract that the
Flask and Django integrations share.
"""
