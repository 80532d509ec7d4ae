"""The throwaway PostgreSQL cluster lives in ops/postgres.py (also behind `make services`);
the test suite imports it from here."""

from ops.postgres import Cluster, ClusterError, bindir, free_port

__all__ = ["Cluster", "ClusterError", "bindir", "free_port"]
