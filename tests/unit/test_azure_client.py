from __future__ import annotations

import pytest
from azure.identity import DefaultAzureCredential, ManagedIdentityCredential

from shared.foundry.azure_client import build_credential
from shared.settings import Settings


def test_the_credential_is_the_user_assigned_identity_when_its_client_id_is_set() -> None:
    credential = build_credential(Settings(azure_client_id="11111111-2222-3333-4444-555555555555"))
    assert isinstance(credential, ManagedIdentityCredential)


def test_without_a_client_id_the_default_credential_chain_is_used(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("AZURE_CLIENT_ID", raising=False)
    assert isinstance(build_credential(Settings()), DefaultAzureCredential)
