"""Faithful simulators of Amazon SP-API and Oracle Fusion, served as real HTTP apps on loopback.

The connector never imports this package; tests, benchmarks and ``ml-connector demo`` start the
simulators as separate servers and talk to them over sockets.
"""
