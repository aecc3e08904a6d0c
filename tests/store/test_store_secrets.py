"""Credentials at rest: never readable in the database file, rotatable, clear when keys differ."""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy import select, update
from sqlalchemy.orm import Session

from ml_connector.store import (
    LWA_CLIENT_SECRET,
    ConnectionConfig,
    Keyring,
    MasterKey,
    NotFoundInStoreError,
    Secret,
    WrongMasterKeyError,
    add_connection,
    delete_secret,
    generate_master_key,
    get_secret,
    make_engine,
    make_sessionmaker,
    migrate,
    put_secret,
    refresh_token_name,
    rotate_keys,
    secret_names,
    sqlite_url,
)
from ml_connector.store.tables import StoredSecret

REFRESH = "Atzr|IwEBIA-very-secret-refresh-token-value"
CLIENT_SECRET = "amzn1.oa2-cs.v1.0123456789abcdef-client-secret"


def _key() -> MasterKey:
    return MasterKey.from_text(generate_master_key())


def test_a_secret_round_trips(session: Session, connection_id: int) -> None:
    keyring = Keyring(_key())
    put_secret(session, keyring, connection_id, refresh_token_name("NA"), Secret(REFRESH))
    put_secret(session, keyring, connection_id, LWA_CLIENT_SECRET, CLIENT_SECRET)
    session.commit()
    assert get_secret(session, keyring, connection_id, "lwa_refresh_token:na").reveal() == REFRESH
    assert secret_names(session, connection_id) == [LWA_CLIENT_SECRET, "lwa_refresh_token:na"]


def test_replacing_a_secret_keeps_one_row(session: Session, connection_id: int) -> None:
    keyring = Keyring(_key())
    put_secret(session, keyring, connection_id, LWA_CLIENT_SECRET, "first")
    put_secret(session, keyring, connection_id, LWA_CLIENT_SECRET, "second")
    assert get_secret(session, keyring, connection_id, LWA_CLIENT_SECRET).reveal() == "second"
    assert len(session.scalars(select(StoredSecret)).all()) == 1


def test_missing_and_deleted_secrets(session: Session, connection_id: int) -> None:
    keyring = Keyring(_key())
    put_secret(session, keyring, connection_id, LWA_CLIENT_SECRET, CLIENT_SECRET)
    assert delete_secret(session, connection_id, LWA_CLIENT_SECRET)
    assert not delete_secret(session, connection_id, LWA_CLIENT_SECRET)
    with pytest.raises(NotFoundInStoreError, match="lwa_client_secret"):
        get_secret(session, keyring, connection_id, LWA_CLIENT_SECRET)


def test_the_database_file_holds_no_plaintext(tmp_path: Path, config: ConnectionConfig) -> None:
    engine = make_engine(sqlite_url(tmp_path / "plain.db"))
    migrate(engine)
    keyring = Keyring(_key())
    with make_sessionmaker(engine)() as session:
        connection_id = add_connection(session, "seller", config).id
        put_secret(session, keyring, connection_id, refresh_token_name("EU"), REFRESH)
        put_secret(session, keyring, connection_id, LWA_CLIENT_SECRET, CLIENT_SECRET)
        session.commit()
    raw = b"".join(p.read_bytes() for p in tmp_path.glob("plain.db*"))
    engine.dispose()
    assert b"lwa_client_secret" in raw  # we are reading the right bytes
    for value in (REFRESH, CLIENT_SECRET, "very-secret", "0123456789abcdef"):
        assert value.encode() not in raw


def test_wrong_key_fails_clearly_without_the_secret(session: Session, connection_id: int) -> None:
    right, wrong = _key(), _key()
    put_secret(session, Keyring(right), connection_id, LWA_CLIENT_SECRET, CLIENT_SECRET)
    with pytest.raises(WrongMasterKeyError) as caught:
        get_secret(session, Keyring(wrong), connection_id, LWA_CLIENT_SECRET)
    message = str(caught.value)
    assert right.key_id in message
    assert wrong.key_id in message
    assert CLIENT_SECRET not in message
    assert CLIENT_SECRET not in repr(caught.value)


def test_a_row_moved_to_another_name_fails_authentication(
    session: Session, connection_id: int
) -> None:
    keyring = Keyring(_key())
    put_secret(session, keyring, connection_id, LWA_CLIENT_SECRET, CLIENT_SECRET)
    session.execute(update(StoredSecret).values(name="oracle_client_secret"))
    with pytest.raises(WrongMasterKeyError, match="failed authentication"):
        get_secret(session, keyring, connection_id, "oracle_client_secret")


def test_rotation_reseals_everything_under_the_new_key(
    session: Session, connection_id: int
) -> None:
    old, new = _key(), _key()
    put_secret(session, Keyring(old), connection_id, LWA_CLIENT_SECRET, CLIENT_SECRET)
    put_secret(session, Keyring(old), connection_id, refresh_token_name("NA"), REFRESH)
    before = session.scalars(select(StoredSecret.ciphertext)).all()

    assert rotate_keys(session, old, new) == 2
    session.commit()

    assert set(session.scalars(select(StoredSecret.key_id))) == {new.key_id}
    assert not set(before) & set(session.scalars(select(StoredSecret.ciphertext)))
    assert get_secret(session, Keyring(new), connection_id, LWA_CLIENT_SECRET).reveal() == (
        CLIENT_SECRET
    )
    with pytest.raises(WrongMasterKeyError):
        get_secret(session, Keyring(old), connection_id, LWA_CLIENT_SECRET)
    assert rotate_keys(session, old, new) == 0  # a re-run after a crash is harmless


def test_rotation_with_the_wrong_old_key_changes_nothing(
    session: Session, connection_id: int
) -> None:
    real, impostor, new = _key(), _key(), _key()
    put_secret(session, Keyring(real), connection_id, LWA_CLIENT_SECRET, CLIENT_SECRET)
    session.commit()
    with pytest.raises(WrongMasterKeyError):
        rotate_keys(session, impostor, new)
    session.rollback()
    assert get_secret(session, Keyring(real), connection_id, LWA_CLIENT_SECRET).reveal() == (
        CLIENT_SECRET
    )


def test_an_older_key_in_the_keyring_still_opens(session: Session, connection_id: int) -> None:
    old, new = _key(), _key()
    put_secret(session, Keyring(old), connection_id, LWA_CLIENT_SECRET, CLIENT_SECRET)
    assert get_secret(session, Keyring(new, old), connection_id, LWA_CLIENT_SECRET).reveal() == (
        CLIENT_SECRET
    )
