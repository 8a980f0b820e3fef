"""No key, listKeys() or connection string with a secret anywhere in infra/ (nor in azure.yaml)."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from tests.unit.infra.bicep import INFRA_DIR, REPO_ROOT

FORBIDDEN = {
    "listKeys()": re.compile(r"\blist(?:Keys|ConnectionStrings|Secrets|AccountSas|ServiceSas)\s*\(", re.IGNORECASE),
    "a storage account key": re.compile(r"AccountKey\s*=", re.IGNORECASE),
    "a shared access key": re.compile(r"SharedAccessKey(?:Name)?\s*=", re.IGNORECASE),
    "a SAS token": re.compile(r"[?&]sig=", re.IGNORECASE),
    "an Application Insights key in a literal": re.compile(r"InstrumentationKey\s*=", re.IGNORECASE),
    "a Key Vault secret reference": re.compile(r"@Microsoft\.KeyVault\(|getSecret\s*\(", re.IGNORECASE),
    "a key-based auth type": re.compile(r"\bStorageAccountConnectionString\b"),
    "a primary/secondary key property": re.compile(r"\.(?:primary|secondary)(?:Key|ConnectionString)\b", re.IGNORECASE),
}


def _scanned_files() -> list[Path]:
    files = [path for path in INFRA_DIR.rglob("*") if path.is_file()]
    return sorted([*files, REPO_ROOT / "azure.yaml"])


def test_the_scan_covers_bicep_hooks_workbook_and_azure_yaml() -> None:
    suffixes = {path.suffix for path in _scanned_files()}
    assert {".bicep", ".sh", ".ps1", ".json", ".yaml"} <= suffixes


@pytest.mark.parametrize("path", _scanned_files(), ids=lambda p: p.relative_to(REPO_ROOT).as_posix())
def test_file_holds_no_secret_and_fetches_none_at_deployment(path: Path) -> None:
    text = path.read_text(encoding="utf-8")
    for what, pattern in FORBIDDEN.items():
        match = pattern.search(text)
        assert match is None, f"{path.relative_to(REPO_ROOT)} contains {what}: {match.group(0)!r}"


def test_the_scan_catches_what_it_forbids() -> None:
    samples = [
        "value: storage.listKeys().keys[0].value",
        "DefaultEndpointsProtocol=https;AccountName=x;AccountKey=abc==",
        "Endpoint=sb://x.servicebus.windows.net/;SharedAccessKeyName=root;SharedAccessKey=abc",
        "https://x.blob.core.windows.net/c/b?sv=2024&sig=abc",
        "InstrumentationKey=00000000-0000-0000-0000-000000000000",
        "@Microsoft.KeyVault(SecretUri=https://kv/secrets/x)",
        "type: 'StorageAccountConnectionString'",
        "value: account.properties.primaryKey",
    ]
    for sample in samples:
        assert any(pattern.search(sample) for pattern in FORBIDDEN.values()), sample
