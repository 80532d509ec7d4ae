"""One Redis connection per thread for the hot paths that make one round trip per request.

redis-py wraps every command in a pool checkout and release, a retry loop and observability
hooks, which cost about as much CPU as the round trip itself (bench/README.md has the figures).
The redirect's click push and the cache's reads send their command straight down a connection of
their own, opened with the client's settings (address, database, password, timeouts) and kept
per thread and per process. In the kernel because an app (referrals.links.buffer) and the
project's cache backend (config.redis_cache) both use it, and apps don't import config.
"""

import os
import threading

import redis
from redis.exceptions import ConnectionError, ResponseError, TimeoutError


class DirectCommands:
    """Raw commands on a per-thread connection built like `client`'s pooled ones."""

    def __init__(self, client: redis.Redis):
        self._pool = client.connection_pool
        self._local = threading.local()

    def _connection(self):
        local = self._local
        connection = getattr(local, "connection", None)
        if connection is None or local.pid != os.getpid():
            # A forked child must not share its parent's socket: it opens its own.
            connection = self._pool.connection_class(**self._pool.connection_kwargs)
            local.connection, local.pid = connection, os.getpid()
        return connection

    def execute(self, *args):
        """The raw reply to one command: no response callbacks, so only for commands whose reply
        needs none (GET, MGET, EVALSHA). A dropped connection is reopened and the command sent
        once more, as redis-py's default retry would."""
        connection = self._connection()
        try:
            connection.send_command(*args)
            return connection.read_response()
        except ResponseError:
            raise  # the server's answer, read in full: the connection is still in step
        except (ConnectionError, TimeoutError):
            connection.disconnect()
            connection.send_command(*args)
            return connection.read_response()
        except BaseException:
            # Anything else may leave an answer half read: start the next command afresh.
            connection.disconnect()
            raise
