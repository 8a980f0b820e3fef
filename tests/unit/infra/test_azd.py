"""azd wiring: azure.yaml names the Bicep and the service, the parameters file feeds main.bicep, and the
postdeploy hook (run here with stand-in `az` and `curl` executables) subscribes the app to BlobCreated
with the blobs extension key passed only in a private parameters file."""

from __future__ import annotations

import json
import os
import re
import subprocess
from pathlib import Path
from typing import Any

import pytest
import yaml

from tests.unit.infra.bicep import INFRA_DIR, MAIN_BICEP, REPO_ROOT, function_call, one, parameters, parse

HOOK = INFRA_DIR / "hooks" / "postdeploy.sh"
SUBSCRIPTION_BICEP = INFRA_DIR / "modules" / "blob-created-subscription.bicep"
KEY = "k3y-THAT-must-never-show-0123456789abcdef"

FAKE_AZ = r"""#!/bin/sh
printf '%s\n' "$*" >> "$FAKE_DIR/az.log"
if [ "$1 $2" = "account show" ]; then exit "${FAKE_SIGNED_OUT:-0}"; fi
case "$1 $2 $3" in
  "functionapp keys list")
    n=$(cat "$FAKE_DIR/key-calls" 2>/dev/null || echo 0); n=$((n + 1)); echo "$n" > "$FAKE_DIR/key-calls"
    if [ "$n" -ge "$FAKE_KEY_AFTER" ]; then echo "$FAKE_KEY"; fi ;;
  "deployment group create")
    previous=""
    for arg in "$@"; do
      if [ "$previous" = "--template-file" ] && [ ! -f "$arg" ]; then echo "no template $arg in $(pwd)" >&2; exit 3; fi
      previous="$arg"
    done
    for arg in "$@"; do
      case "$arg" in @*) cp "${arg#@}" "$FAKE_DIR/params.json"; echo "${arg#@}" > "$FAKE_DIR/params-path";; esac
    done ;;
esac
"""
FAKE_CURL = """#!/bin/sh
printf '%s\\n' "$*" >> "$FAKE_DIR/curl.log"
"""


def _azure_yaml() -> dict[str, Any]:
    loaded: dict[str, Any] = yaml.safe_load((REPO_ROOT / "azure.yaml").read_text())
    return loaded


def test_azure_yaml_provisions_main_bicep_and_deploys_the_app_as_a_python_function() -> None:
    config = _azure_yaml()
    assert config["infra"] == {"provider": "bicep", "path": "infra", "module": "main"}
    [(service, spec)] = config["services"].items()
    assert spec == {"project": ".", "language": "python", "host": "function"}
    call = function_call(one("Microsoft.Web/sites").config["tags"])
    assert call is not None
    assert call[0] == "union"
    assert {"azd-service-name": service} in call[1].values(), "azd finds the app by its azd-service-name tag"


def test_the_postdeploy_hook_runs_on_both_shells_and_exists() -> None:
    hooks = _azure_yaml()["hooks"]["postdeploy"]
    assert REPO_ROOT / hooks["posix"]["run"] == HOOK
    assert os.access(HOOK, os.X_OK)
    assert (REPO_ROOT / hooks["windows"]["run"]).is_file()
    assert hooks["windows"]["shell"] == "pwsh"
    subprocess.run(["sh", "-n", str(HOOK)], check=True)


def test_the_parameters_file_feeds_every_required_parameter_of_main() -> None:
    given = json.loads((INFRA_DIR / "main.parameters.json").read_text())["parameters"]
    declared = parameters(MAIN_BICEP)
    assert set(given) <= set(declared)
    required = {name for name, spec in declared.items() if spec["default"] is None}
    assert required <= set(given)
    assert given["foundryLocation"]["value"] == "${AZURE_AI_LOCATION=eastus2}"


def test_every_variable_the_hook_needs_is_an_output_of_main() -> None:
    required = set(re.search(r"for name in (.*?); do", HOOK.read_text(), re.DOTALL).group(1).replace("\\", " ").split())  # type: ignore[union-attr]
    assert "AZURE_FUNCTION_APP_NAME" in required
    assert required <= set(parse(MAIN_BICEP)["outputs"])


def _outputs_env() -> dict[str, str]:
    return {
        "AZURE_RESOURCE_GROUP": "rg-test",
        "AZURE_FUNCTION_APP_NAME": "func-abc",
        "FUNCTION_APP_URL": "https://func-abc.azurewebsites.net",
        "BLOB_TRIGGER_FUNCTION_NAME": "start_run_from_upload",
        "EVENTGRID_SYSTEM_TOPIC_NAME": "evgt-abc",
        "STORAGE_ACCOUNT_NAME": "stabc",
    }


def _run_hook(
    tmp_path: Path, *, key_after: int, attempts: int, env: dict[str, str], tools: tuple[str, ...] = ("az", "curl")
) -> subprocess.CompletedProcess[str]:
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    for name, script in (("az", FAKE_AZ), ("curl", FAKE_CURL)):
        if name not in tools:
            continue
        (bin_dir / name).write_text(script)
        (bin_dir / name).chmod(0o755)
    return subprocess.run(
        ["sh", str(HOOK)],
        cwd=tmp_path,
        env={
            "PATH": f"{bin_dir}:/usr/bin:/bin",
            "FAKE_DIR": str(tmp_path),
            "FAKE_KEY": KEY,
            "FAKE_KEY_AFTER": str(key_after),
            "BLOBS_KEY_ATTEMPTS": str(attempts),
            "BLOBS_KEY_WAIT_SECONDS": "0",
            **env,
        },
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


def test_the_hook_waits_for_the_key_then_deploys_the_subscription_with_it_in_a_private_file(tmp_path: Path) -> None:
    done = _run_hook(tmp_path, key_after=3, attempts=5, env=_outputs_env())
    assert done.returncode == 0, done.stderr
    calls = (tmp_path / "az.log").read_text().splitlines()
    assert sum(call.startswith("functionapp keys list") for call in calls) == 3
    [deploy] = [call for call in calls if call.startswith("deployment group create")]
    assert f"--template-file {SUBSCRIPTION_BICEP.relative_to(REPO_ROOT)}" in deploy
    assert "--resource-group rg-test" in deploy
    passed = dict(re.findall(r"(\w+)=(\S+)", deploy))
    declared = parameters(SUBSCRIPTION_BICEP)
    required = {name for name, spec in declared.items() if spec["default"] is None}
    assert required == {*passed, "blobsExtensionKey"}
    assert passed["blobTriggerFunctionName"] == "start_run_from_upload"
    assert passed["systemTopicName"] == "evgt-abc"
    params = json.loads((tmp_path / "params.json").read_text())
    assert params["parameters"] == {"blobsExtensionKey": {"value": KEY}}
    assert not Path((tmp_path / "params-path").read_text().strip()).exists(), "the key file must be deleted"
    assert (tmp_path / "curl.log").read_text().count("https://func-abc.azurewebsites.net/api/health") == 3
    assert KEY not in "\n".join(calls) + done.stdout + done.stderr


def test_the_hook_gives_up_with_what_to_check_when_the_key_never_appears(tmp_path: Path) -> None:
    done = _run_hook(tmp_path, key_after=99, attempts=2, env=_outputs_env())
    assert done.returncode != 0
    assert "start_run_from_upload" in done.stderr
    assert "azd hooks run postdeploy" in done.stderr
    assert "deployment group create" not in (tmp_path / "az.log").read_text()


@pytest.mark.parametrize("missing", sorted(_outputs_env()))
def test_the_hook_names_a_missing_azd_output(tmp_path: Path, missing: str) -> None:
    env = _outputs_env()
    del env[missing]
    done = _run_hook(tmp_path, key_after=1, attempts=1, env=env)
    assert done.returncode == 1
    assert f"{missing} is not set" in done.stderr
    assert not (tmp_path / "az.log").exists()


def test_the_hook_says_the_azure_cli_is_needed_when_it_is_missing(tmp_path: Path) -> None:
    done = _run_hook(tmp_path, key_after=1, attempts=1, env=_outputs_env(), tools=("curl",))
    assert done.returncode == 1
    assert "Azure CLI (az) is needed" in done.stderr


def test_the_hook_says_to_sign_in_when_the_azure_cli_is_signed_out(tmp_path: Path) -> None:
    done = _run_hook(tmp_path, key_after=1, attempts=1, env={**_outputs_env(), "FAKE_SIGNED_OUT": "1"})
    assert done.returncode == 1
    assert "az login" in done.stderr
    assert "keys list" not in (tmp_path / "az.log").read_text()


def test_the_windows_hook_needs_the_same_outputs_and_deploys_the_same_template_with_the_same_parameters() -> None:
    powershell = (INFRA_DIR / "hooks" / "postdeploy.ps1").read_text()
    posix = HOOK.read_text()
    needed = re.search(r"foreach \(\$name in (.*?)\)", powershell, re.DOTALL).group(1)  # type: ignore[union-attr]
    assert set(re.findall(r"'(\w+)'", needed)) == set(
        re.search(r"for name in (.*?); do", posix, re.DOTALL).group(1).replace("\\", " ").split()  # type: ignore[union-attr]
    )
    template = SUBSCRIPTION_BICEP.relative_to(REPO_ROOT).as_posix()
    assert f"--template-file {template}" in powershell
    assert set(re.findall(r"(\w+)=\$env:", powershell)) == set(re.findall(r"(\w+)=\"\$[A-Z]", posix))
    assert "blobsExtensionKey" in powershell
    assert "Remove-Item -Path $params" in powershell, "the key file is deleted"
