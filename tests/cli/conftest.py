from tests.collectors._servers import my_admin, pg_admin

__all__ = ["my_admin", "pg_admin"]
