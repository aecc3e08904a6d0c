"""Connections: validated, non-secret configuration, one row per seller."""

from __future__ import annotations

import pytest
from pydantic import ValidationError
from sqlalchemy import update
from sqlalchemy.orm import Session

from ml_connector.store import (
    ConnectionConfig,
    NotFoundInStoreError,
    StoreError,
    add_connection,
    connection_config,
    get_connection,
    list_connections,
    update_connection,
)
from ml_connector.store.tables import ConnectionRow


def test_a_connection_round_trips(session: Session, config: ConnectionConfig) -> None:
    row = add_connection(session, "acme-us", config)
    session.commit()
    session.expire_all()
    assert connection_config(get_connection(session, "acme-us")) == config
    assert get_connection(session, row.id).name == "acme-us"


def test_names_are_unique_and_plain(session: Session, config: ConnectionConfig) -> None:
    add_connection(session, "acme-us", config)
    with pytest.raises(StoreError, match="already exists"):
        add_connection(session, "acme-us", config)
    with pytest.raises(StoreError, match="must start"):
        add_connection(session, "Acme US!", config)
    with pytest.raises(NotFoundInStoreError):
        get_connection(session, "nobody")


def test_disabled_connections_drop_out_of_the_schedule(
    session: Session, config: ConnectionConfig
) -> None:
    add_connection(session, "b-seller", config)
    paused = add_connection(session, "a-seller", config)
    update_connection(session, paused, enabled=False)
    assert [r.name for r in list_connections(session)] == ["a-seller", "b-seller"]
    assert [r.name for r in list_connections(session, enabled_only=True)] == ["b-seller"]


def test_a_hand_edited_bad_config_fails_loudly(session: Session, config: ConnectionConfig) -> None:
    row = add_connection(session, "acme-us", config)
    broken = {**row.config, "oracle": {**row.config["oracle"], "pod": "evil.example.com/"}}
    session.execute(update(ConnectionRow).values(config=broken))
    session.expire_all()
    with pytest.raises(ValidationError, match="DNS label"):
        connection_config(get_connection(session, "acme-us"))
