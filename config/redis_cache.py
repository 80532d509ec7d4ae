"""Django's Redis cache backend, with one redis client per connection pool instead of one per call,
and reads sent down a connection of their own (kernel.redis_direct).

Django's RedisCacheClient builds a new `redis.Redis` for every cache operation; its constructor
alone (response-callback tables) cost more CPU than the round trip on the `/r/<CODE>` hot path.
A `redis.Redis` is safe to share between threads (each command borrows a pooled connection) and
each thread already has its own cache object, so reusing it changes nothing else. `get` and
`get_many`, the reads on every API request, skip redis-py's per-command machinery as well.
"""

from django.core.cache.backends import redis as django_redis

from kernel.redis_direct import DirectCommands


class RedisCacheClient(django_redis.RedisCacheClient):
    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self._clients = {}
        self._direct = {}

    def get_client(self, key=None, *, write=False):
        pool = self._get_connection_pool(write)
        client = self._clients.get(id(pool))
        if client is None:
            client = self._clients[id(pool)] = self._client(connection_pool=pool)
        return client

    def _direct_commands(self) -> DirectCommands:
        client = self.get_client()
        direct = self._direct.get(id(client))
        if direct is None:
            direct = self._direct[id(client)] = DirectCommands(client)
        return direct

    def get(self, key, default):
        value = self._direct_commands().execute("GET", key)
        return default if value is None else self._serializer.loads(value)

    def get_many(self, keys):
        keys = list(keys)
        if not keys:
            return {}
        values = self._direct_commands().execute("MGET", *keys)
        return {
            k: self._serializer.loads(v) for k, v in zip(keys, values, strict=True) if v is not None
        }


class RedisCache(django_redis.RedisCache):
    def __init__(self, server, params):
        super().__init__(server, params)
        self._class = RedisCacheClient

    def validate_key(self, key):
        # BaseCache warns about keys memcached would refuse, with a lazily compiled regex whose
        # every use goes through LazyObject's attribute lookup (on each key of every request's
        # lookup). Redis takes any key, so there is nothing to warn about.
        pass
