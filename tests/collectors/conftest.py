from tests.collectors._servers import my9, my_admin, pg9, pg_admin

__all__ = ["my9", "my_admin", "pg9", "pg_admin"]
