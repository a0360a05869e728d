"""What every way into the store shares, without importing SQLAlchemy (the read-only views use it too)."""

from __future__ import annotations

#: How long a PostgreSQL connection attempt may take, s.
CONNECT_TIMEOUT_S = 10
#: The hint of an unreachable database.
UNREACHABLE_HINT = ("数据库无法连接：请检查服务是否运行、地址与权限 / the database is down or unreachable: check the "
                    "server, address and permissions")
