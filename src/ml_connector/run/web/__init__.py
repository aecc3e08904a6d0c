"""The dashboard: a read-only FastAPI app over the store (HTML for people, JSON for scripts)."""

from ml_connector.run.web.app import create_app, wants_json

__all__ = ["create_app", "wants_json"]
